"""``EdgeDRNNDriver``: the register-level host driver of the EdgeDRNN accelerator.

Host sequence for one run (the contract of ``edgedrnn.hw.regmap``): SOFT_RESET; write
NUM_LAYERS, WEIGHT_BASE and the per-layer registers; CTRL = RESET_STATE | START; then per
step t: push ⌈I/P⌉ x_in beats (a row group of P = NUM_PE elements each, zero-padded), write
the Θ registers of step t+1 that change (and, in :meth:`EdgeDRNNDriver.run`, queue step
t+1's input), pop ⌈H_last/P⌉ h_out beats, read STEP_CYCLES, LATENCY and LAYERl_NZ_X/NZ_H;
at the end read STATUS.OVERFLOW.

Θ of a step is written before the last output of the step before is read: the accelerator
starts a step's hidden part as soon as the previous step has ended and latches the step's Θ
then (docs/datapath.md §7). In :meth:`EdgeDRNNDriver.run` the next step's input is queued
before a step's output is read, so back to back the accelerator never waits for the host.
Θ of the first step after RESET_STATE is latched at the reset; the driver writes it and
resets again when it differs (the state is still zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datapath.inputs import quantize_input
from ..hw import regmap
from ..program import Program
from ..result import Result
from .transport import Transport


class DriverError(RuntimeError):
    """The device is not an EdgeDRNN, does not fit the program, or misbehaved."""


@dataclass(frozen=True)
class DeviceInfo:
    """Identification and hardware parameters read from ID, VERSION and CONFIG."""

    version: tuple[int, int]
    num_pe: int
    bus_bits: int
    max_layers: int
    max_hidden_size: int
    max_input_size: int
    #: CONFIG.SPARSE: the build decodes sparse weight images (and only those).
    sparse_weights: bool = False


@dataclass
class RunOutput:
    """What :meth:`EdgeDRNNDriver.run` collected over a sequence."""

    outputs_q: np.ndarray  # int16 (T, H_last)
    nonzero: np.ndarray  # int64 (T, L, 2)
    cycles: np.ndarray  # int64 (T,): STEP_CYCLES, from the previous step's end
    overflow: bool
    latency: np.ndarray | None = None  # int64 (T,): LATENCY, from the step's first x_in

    def to_result(self, backend: str) -> Result:
        """The run as a :class:`~edgedrnn.result.Result` of ``backend``."""
        return Result(
            outputs_q=self.outputs_q,
            nonzero=self.nonzero,
            overflow=self.overflow,
            cycles=self.cycles,
            backend=backend,
            latency=self.latency,
        )


def pack_beats(vector: np.ndarray, num_pe: int) -> np.ndarray:
    """A vector (n,) as ``x_in``/``h_out`` beats: int16 (⌈n/P⌉, P), zero-padded
    (:data:`edgedrnn.hw.regmap.STREAM_FORMAT`)."""
    vector = np.asarray(vector)
    beats = np.zeros(regmap.stream_beats(vector.shape[0], num_pe) * num_pe, dtype=np.int16)
    beats[: vector.shape[0]] = vector
    return beats.reshape(-1, num_pe)


def _field(value: int, reg: str, name: str) -> int:
    for f in regmap.register(reg).fields:
        if f.name == name:
            return (value & f.mask) >> f.lsb
    raise KeyError(f"{reg} has no field {name}")


class EdgeDRNNDriver:
    """Drive one EdgeDRNN instance through a :class:`~edgedrnn.host.transport.Transport`.

    Args:
        transport: the connection to the device.
        check_id: read ID/VERSION on construction and fail if it is not an EdgeDRNN 1.x.
    """

    def __init__(self, transport: Transport, *, check_id: bool = True) -> None:
        self.transport = transport
        self.program: Program | None = None
        self._theta: list[tuple[int, int]] = []
        self._fresh = False  # no step since RESET_STATE: Θ of the next step not used yet
        self.info: DeviceInfo | None = None
        if check_id:
            self.info = self.identify()

    # ------------------------------------------------------------ registers
    def read(self, name: str, layer: int | None = None) -> int:
        """Read a register by name (``"STATUS"``, ``"NZ_X", layer=0``)."""
        return int(self.transport.read_reg(regmap.addr_of(name, layer))) & 0xFFFFFFFF

    def write(self, name: str, value: int, layer: int | None = None) -> None:
        """Write a register by name."""
        self.transport.write_reg(regmap.addr_of(name, layer), int(value) & 0xFFFFFFFF)

    # ----------------------------------------------------------- identity
    def identify(self) -> DeviceInfo:
        """Read ID, VERSION and CONFIG; raise :class:`DriverError` if this is no EdgeDRNN."""
        ident = self.read("ID")
        if ident != regmap.ID_VALUE:
            raise DriverError(
                f"ID register reads 0x{ident:08X}, expected 0x{regmap.ID_VALUE:08X} ('EDRN'): "
                "not an EdgeDRNN at this address"
            )
        version = self.read("VERSION")
        major, minor = version >> 16, version & 0xFFFF
        if major != regmap.VERSION_MAJOR:
            raise DriverError(
                f"device register map version {major}.{minor}; this driver speaks "
                f"{regmap.VERSION_MAJOR}.x"
            )
        cfg = self.read("CONFIG")
        return DeviceInfo(
            version=(major, minor),
            num_pe=_field(cfg, "CONFIG", "NUM_PE"),
            bus_bits=1 << _field(cfg, "CONFIG", "LOG2_BUS_BITS"),
            max_layers=_field(cfg, "CONFIG", "MAX_LAYERS"),
            max_hidden_size=1 << _field(cfg, "CONFIG", "LOG2_MAX_HIDDEN"),
            max_input_size=1 << _field(cfg, "CONFIG", "LOG2_MAX_INPUT"),
            sparse_weights=bool(_field(cfg, "CONFIG", "SPARSE")),
        )

    # -------------------------------------------------------------- control
    def soft_reset(self) -> None:
        """Reset everything in the accelerator, including status and counters."""
        self.write("CTRL", regmap.CTRL_SOFT_RESET)
        self._fresh = False

    def reset_state(self) -> None:
        """Zero every layer's state (start of a new sequence); only between steps."""
        self.write("CTRL", regmap.CTRL_RESET_STATE)
        self._fresh = True

    def start(self, reset_state: bool = True) -> None:
        """Let the accelerator consume steps from x_in (optionally resetting state first)."""
        self.write("CTRL", regmap.CTRL_START | (regmap.CTRL_RESET_STATE if reset_state else 0))
        self._fresh = self._fresh or reset_state

    def status(self) -> int:
        """The raw STATUS register."""
        return self.read("STATUS")

    def wait_idle(self, max_reads: int = 100_000) -> None:
        """Poll STATUS until BUSY is low: after a reset, before the first input, so that the
        reset's memory clear is not counted in the first step's latency."""
        for _ in range(max_reads):
            if not self.status() & regmap.STATUS_BUSY:
                return
        raise DriverError(f"STATUS.BUSY still set after {max_reads} reads")

    @property
    def overflow(self) -> bool:
        """STATUS.OVERFLOW: a saturation happened since the flag was last cleared."""
        return bool(self.status() & regmap.STATUS_OVERFLOW)

    def clear_status(self, bits: int = regmap.STATUS_OVERFLOW | regmap.STATUS_ERROR) -> None:
        """Clear sticky STATUS bits."""
        self.write("STATUS_CLEAR", bits)

    def check_error(self) -> None:
        """Raise :class:`DriverError` if STATUS.ERROR is set."""
        st = self.status()
        if st & regmap.STATUS_ERROR:
            raise DriverError(
                f"device reports STATUS.ERROR (STATUS=0x{st:08X}): bad configuration or a "
                "weight-memory error response"
            )

    # -------------------------------------------------------- configuration
    def _check_fits(self, program: Program) -> None:
        info = self.info
        if info is None:
            return
        if info.num_pe != program.hw.num_pe or info.bus_bits != program.hw.bus_bits:
            raise DriverError(
                f"program compiled for num_pe={program.hw.num_pe}, bus_bits="
                f"{program.hw.bus_bits}; the device has num_pe={info.num_pe}, bus_bits="
                f"{info.bus_bits}: recompile with edgedrnn.HardwareConfig(num_pe="
                f"{info.num_pe}, bus_bits={info.bus_bits})"
            )
        if info.sparse_weights != program.hw.sparse_weights:
            kind = "sparse" if info.sparse_weights else "dense"
            raise DriverError(
                f"the device decodes {kind} weight images only (CONFIG.SPARSE="
                f"{int(info.sparse_weights)}): compile with edgedrnn.HardwareConfig(..., "
                f"sparse_weights={info.sparse_weights})"
            )
        if program.num_layers > info.max_layers:
            raise DriverError(
                f"program has {program.num_layers} layers, the device sequences at most "
                f"{info.max_layers}"
            )
        if program.input_size > info.max_input_size:
            raise DriverError(
                f"program input size {program.input_size} exceeds the device's "
                f"max_input_size={info.max_input_size}"
            )
        widest = max(program.hidden_sizes)
        if widest > info.max_hidden_size:
            raise DriverError(
                f"program hidden size {widest} exceeds the device's "
                f"max_hidden_size={info.max_hidden_size}"
            )

    def configure(
        self,
        program: Program,
        *,
        weight_base: int = 0,
        load_weights: bool = True,
        start: bool = True,
    ) -> None:
        """Soft-reset, load the weight image at ``weight_base``, write every register of
        ``program`` and (``start``) reset the state and start consuming steps."""
        self._check_fits(program)
        if weight_base % (program.hw.bus_bits // 8):
            raise ValueError(f"weight_base 0x{weight_base:x} must be aligned to the bus width")
        self.soft_reset()
        if load_weights:
            self.transport.write_memory(weight_base, program.weight_image)
        self.write("WEIGHT_BASE", weight_base)
        for name, value in program.register_values().items():
            self.write(name, value)
        self.program = program
        self._theta = list(zip(program.theta_x_q, program.theta_h_q, strict=True))
        if start:
            self.start(reset_state=True)

    def set_thresholds(self, theta_x_q: Sequence[int], theta_h_q: Sequence[int]) -> bool:
        """Per-layer raw Q8.8 thresholds for the following steps (writes only changes).

        They apply from the step after the one whose last output is still to be read
        (docs/datapath.md §7); returns whether anything was written.
        """
        prog = self._require_program()
        if len(theta_x_q) != prog.num_layers or len(theta_h_q) != prog.num_layers:
            raise ValueError(f"give one threshold per layer ({prog.num_layers})")
        changed = False
        for layer, (tx, th) in enumerate(zip(theta_x_q, theta_h_q, strict=True)):
            tx, th = int(tx), int(th)
            if not (0 <= tx < 1 << 15 and 0 <= th < 1 << 15):
                raise ValueError(f"thresholds must be raw Q8.8 in 0..32767, got {tx}, {th}")
            old_x, old_h = self._theta[layer]
            if tx != old_x:
                self.write("THETA_X", tx, layer)
            if th != old_h:
                self.write("THETA_H", th, layer)
            changed |= tx != old_x or th != old_h
            self._theta[layer] = (tx, th)
        return changed

    def _require_program(self) -> Program:
        if self.program is None:
            raise DriverError("no program configured: call configure(program) first")
        return self.program

    # ---------------------------------------------------------------- steps
    def step(self, x: Any) -> np.ndarray:
        """Run one time step; returns the last layer's h as raw Q8.8 int16 (H_last,).

        ``x``: one input vector (I,), taken as :func:`edgedrnn.run` takes inputs (float real
        values, quantized; int16 raw Q8.8; :func:`~edgedrnn.datapath.inputs.quantize_input`).
        """
        prog = self._require_program()
        x = quantize_input(x, prog.input_size, step=True, stacklevel=2)
        if self._fresh:
            self.wait_idle()
        self.transport.write_stream(pack_beats(x, prog.hw.num_pe))
        return self.read_output()

    def read_output(self) -> np.ndarray:
        """Pop one step's h_out beats (the oldest step not read yet) as the last layer's h,
        raw Q8.8 int16 (H_last,); checks the ``last`` flags and the padding lanes. With
        :meth:`step` this is done for you; a host that queues inputs itself calls it."""
        prog = self._require_program()
        self._fresh = False
        p, h = prog.hw.num_pe, prog.output_size
        n = regmap.stream_beats(h, p)
        data, last = self.transport.read_stream(n)
        if not last[n - 1] or last[: n - 1].any():
            where = np.flatnonzero(last).tolist()
            raise DriverError(f"h_out 'last' flag on beats {where}, expected only on beat {n - 1}")
        flat = np.asarray(data, dtype=np.int16).reshape(-1)
        if flat[h:].any():
            raise DriverError(f"h_out lanes past the hidden size {h} are not zero: {flat[h:]}")
        return flat[:h]

    def step_cycles(self) -> int:
        """STEP_CYCLES: clock cycles of the last completed step."""
        return self.read("STEP_CYCLES")

    def latency(self) -> int:
        """LATENCY: cycles from the last completed step's first x_in to its last h_out."""
        return self.read("LATENCY")

    def step_count(self) -> int:
        """STEP_COUNT: steps completed since RESET_STATE / SOFT_RESET."""
        return self.read("STEP_COUNT")

    def nonzero(self) -> np.ndarray:
        """Deltas passed on in the last step: int64 (L, 2) from LAYERl_NZ_X / NZ_H."""
        prog = self._require_program()
        out = np.zeros((prog.num_layers, 2), dtype=np.int64)
        for layer in range(prog.num_layers):
            out[layer, 0] = self.read("NZ_X", layer)
            out[layer, 1] = self.read("NZ_H", layer)
        return out

    def run(
        self,
        x: Any,
        theta_x_q: np.ndarray | None = None,
        theta_h_q: np.ndarray | None = None,
        *,
        queue_ahead: bool = True,
    ) -> RunOutput:
        """Run a sequence (T, I) from the current state, with optional per-step per-layer
        raw Q8.8 thresholds (T, L); collects outputs, deltas passed on, cycles, latencies and
        the overflow flag. ``x`` is taken as :func:`edgedrnn.run` takes it (float real values
        or int16 raw Q8.8).

        Per step t: write Θ of step t+1 (where it changes) and queue x[t+1], then read step
        t's output and registers (docs/datapath.md §7): the next input waits in the queue, so
        the accelerator starts step t+1 in order, with two or more layers as soon as step t's
        last layer has issued its activation (early start: Θ of step t+1, written before
        x[t+1], is latched then), else the cycle step t ends (docs/rtl.md, *Controller*).
        This needs ``h_out`` taken only as the host reads it (the simulation transports):
        where something else takes it (a FIFO in a SoC), step t+1 may end, and its registers
        replace step t's, before the host reads them; ``queue_ahead=False``
        then queues x[t+1] after step t's registers are read, and writes Θ of step t+2 before
        it (step t+1 may end before the host looks again, latching the Θ written by then).
        Θ of the first step is written
        before x[0]; right after RESET_STATE a change of it resets the state again (it is
        latched at the reset); later it applies from the step after the last one whose output
        has been read. The step registers (NZ, STEP_CYCLES, LATENCY) are those of the last
        completed step.
        """
        prog = self._require_program()
        x = quantize_input(x, prog.input_size, stacklevel=2)
        steps = x.shape[0]
        out = np.zeros((steps, prog.output_size), dtype=np.int16)
        nz = np.zeros((steps, prog.num_layers, 2), dtype=np.int64)
        cycles = np.zeros(steps, dtype=np.int64)
        latency = np.zeros(steps, dtype=np.int64)
        per_step = theta_x_q is not None and theta_h_q is not None
        if per_step and steps:
            fresh = self._fresh
            if self.set_thresholds(theta_x_q[0], theta_h_q[0]) and fresh:
                self.start(reset_state=True)  # the reset latches Θ of the first step
        if self._fresh:
            self.wait_idle()
        p = prog.hw.num_pe

        def thresholds(k: int) -> None:
            # Θ of step k, latched at the end of step k - 1
            if per_step and k < steps:
                self.set_thresholds(theta_x_q[k], theta_h_q[k])

        if steps:
            if not queue_ahead:
                thresholds(1)
            self.transport.write_stream(pack_beats(x[0], p))
        for t in range(steps):
            if queue_ahead and t + 1 < steps:
                thresholds(t + 1)
                self.transport.write_stream(pack_beats(x[t + 1], p))
            out[t] = self.read_output()
            cycles[t] = self.step_cycles()
            latency[t] = self.latency()
            nz[t] = self.nonzero()
            if not queue_ahead and t + 1 < steps:
                thresholds(t + 2)
                self.transport.write_stream(pack_beats(x[t + 1], p))
        count = self.step_count()
        self.check_error()
        if count < steps:
            raise DriverError(f"STEP_COUNT reads {count} after {steps} steps")
        return RunOutput(
            outputs_q=out, nonzero=nz, cycles=cycles, overflow=self.overflow, latency=latency
        )
