"""``AmaranthTransport``: the :class:`~edgedrnn.host.transport.Transport` of the Amaranth
simulator, with bus models around :class:`edgedrnn.hw.top.EdgeDRNN`.

The simulator runs one background testbench that models, in one cycle loop (drive, then
observe the settled handshakes, then tick, so their order within a cycle does not matter):

* an AXI4-Lite master that performs the register access the host is waiting for;
* an AXI4 read slave serving the weight memory: a burst's first beat comes ``mem_latency``
  cycles after its AR handshake; ARREADY and RVALID drop at random; every burst is checked
  (INCR, full bus width, aligned, at most 256 beats, within one 4 KiB page, inside loaded
  memory);
* an ``x_in`` source offering the queued beats with random gaps and, after
  :meth:`AmaranthTransport.set_pacing`, the first beat of step t no earlier than a frame after
  step t-1's; it records every step's timing (:meth:`AmaranthTransport.step_timing`), as the
  Verilator testbench does;
* an ``h_out`` sink that is ready (with random back-pressure) only while the host waits for
  beats.

Each transport call advances the simulation (:meth:`amaranth.sim.Simulator.advance`) until
the call's transaction completes, as :class:`~edgedrnn.host.verilator.VerilatorTransport`
advances its model; the streams and the memory keep being served meanwhile.
"""

from __future__ import annotations

import contextlib
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import HardwareConfig
from ..sim.timing import StepTiming
from ..sim.verilated import SimError
from ..support.extras import require

#: Simulated clock period in seconds (only the time axis of waveform dumps depends on it).
CLOCK_PERIOD = 1e-8


@dataclass(frozen=True)
class Stalls:
    """Timing of the bus models: stall probabilities per cycle (0 = never) and latency.

    Parameters
    ----------
    x_gap:
        Probability that ``x_in.valid`` is low in a cycle while beats are queued.
    h_backpressure:
        Probability that ``h_out.ready`` is low in a cycle while the host waits for beats.
    ar_stall:
        Probability that ``mem.arready`` is low in a cycle.
    r_gap:
        Probability that ``mem.rvalid`` is low in a cycle while a burst is being served.
    mem_latency:
        Cycles from an accepted AR to the first cycle its data may be offered.
    seed:
        Seed of the random stalls.
    """

    x_gap: float = 0.0
    h_backpressure: float = 0.0
    ar_stall: float = 0.0
    r_gap: float = 0.0
    mem_latency: int = 2
    seed: int = 0


class _RegisterAccess:
    """One AXI4-Lite access in flight: ``phase`` 0 = address (and data), 1 = response."""

    def __init__(self, write: bool, addr: int, value: int = 0) -> None:
        self.write = write
        self.addr = addr
        self.value = value
        self.phase = 0
        self.resp = 0
        self.done = False


class AmaranthTransport:
    """Transport to :class:`edgedrnn.hw.top.EdgeDRNN` in the Amaranth simulator.

    Parameters
    ----------
    hw:
        The hardware configuration to elaborate.
    stalls:
        Timing of the bus models (default: no stalls, ``mem_latency`` 2).
    timeout:
        Cycles a single register access, stream read or :meth:`run` may take before
        :class:`~edgedrnn.sim.verilated.SimError`.
    vcd:
        Path of a waveform dump (written until :meth:`close`).

    Attributes
    ----------
    cycles:
        Clock cycles simulated so far.
    bursts:
        ``(byte address, beats)`` of every burst the design requested.
    memory:
        The weight memory (byte address 0 upwards).
    """

    def __init__(
        self,
        hw: HardwareConfig,
        *,
        stalls: Stalls | None = None,
        timeout: int = 200_000,
        vcd: str | None = None,
    ) -> None:
        sim = require("amaranth.sim", "the Amaranth-simulator transport")
        top = require("edgedrnn.hw.top", "the Amaranth-simulator transport")
        self.hw = hw
        self.stalls = stalls or Stalls()
        self.timeout = int(timeout)
        self.cycles = 0
        self.bursts: list[tuple[int, int]] = []
        self.memory = bytearray()
        self._loaded = bytearray()  # 1 where memory was written
        self._rnd = random.Random(self.stalls.seed)
        self._csr: _RegisterAccess | None = None
        self._x: deque[int] = deque()
        self._h_want = 0
        self._h: list[tuple[int, bool]] = []
        self._step_beats = 0
        self._frame_cycles = 0
        self._pushed = self._taken = 0  # x_in beats queued / accepted since set_pacing
        self._times: tuple[list[int], list[int], list[int]] = ([], [], [])  # push, offer, end
        self.dut = top.EdgeDRNN(hw)
        self._sim = sim.Simulator(self.dut)
        self._sim.add_clock(CLOCK_PERIOD)
        self._sim.add_testbench(self._bench, background=True)
        self._exit = contextlib.ExitStack()
        if vcd:
            self._exit.enter_context(self._sim.write_vcd(vcd))

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Finish the waveform dump, if any."""
        self._exit.close()

    def __enter__(self) -> AmaranthTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _until(self, done: Callable[[], bool], what: str) -> None:
        start = self.cycles
        while not done():
            if self.cycles - start > self.timeout:
                raise SimError(
                    f"{what}: no completion within {self.timeout} cycles (x_in beats still "
                    f"queued: {len(self._x)}; bursts requested: {len(self.bursts)})"
                )
            self._sim.advance()

    def run(self, cycles: int) -> None:
        """Advance the clock by ``cycles`` (streams and memory keep being served)."""
        target = self.cycles + int(cycles)
        self._until(lambda: self.cycles >= target, f"run({cycles})")

    # ------------------------------------------------------------ transport
    def read_reg(self, addr: int) -> int:
        op = _RegisterAccess(False, addr)
        self._register_access(op, f"AXI-Lite read of 0x{addr:03x}")
        return op.value

    def write_reg(self, addr: int, value: int) -> None:
        op = _RegisterAccess(True, addr, value & 0xFFFFFFFF)
        self._register_access(op, f"AXI-Lite write to 0x{addr:03x}")

    def _register_access(self, op: _RegisterAccess, what: str) -> None:
        self._csr = op
        self._until(lambda: op.done, what)
        if op.resp:
            raise SimError(f"{what} answered {'BRESP' if op.write else 'RRESP'}={op.resp}")

    def write_stream(self, beats: np.ndarray) -> None:
        """Queue ``x_in`` beats (int16 (n, NUM_PE)); they are offered while later calls
        advance the simulation."""
        arr = np.asarray(beats, dtype=np.int16)
        if arr.ndim != 2 or arr.shape[1] != self.hw.num_pe:
            raise ValueError(f"x_in beats must have shape (n, {self.hw.num_pe}), got {arr.shape}")
        for beat in arr:
            if self._step_beats and self._pushed % self._step_beats == 0:
                # between advance() calls the testbench has driven cycle ``cycles`` already
                self._times[0].append(self.cycles + 1)
            self._pushed += 1
            self._x.append([int(v) for v in beat])

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        self._h_want = n
        try:
            self._until(lambda: len(self._h) >= n, f"reading {n} h_out beats")
        finally:
            self._h_want = 0
        beats, self._h = self._h, []
        return (
            np.array([b[0] for b in beats], dtype=np.int16).reshape(n, self.hw.num_pe),
            np.array([b[1] for b in beats], dtype=bool),
        )

    def write_memory(self, addr: int, data: bytes) -> None:
        end = addr + len(data)
        if len(self.memory) < end:
            self.memory.extend(bytes(end - len(self.memory)))
            self._loaded.extend(bytes(end - len(self._loaded)))
        self.memory[addr:end] = data
        self._loaded[addr:end] = b"\1" * len(data)

    # ------------------------------------------------------------ pacing
    def set_pacing(self, step_beats: int, frame_cycles: int = 0) -> None:
        """Number the ``x_in`` beats queued from now on by steps of ``step_beats`` beats and
        record each step's timing (:meth:`step_timing`); with ``frame_cycles`` N > 0, the
        first beat of step t is offered no earlier than N cycles after step t-1's.

        Call between runs, with no ``x_in`` beat queued; clears the step records.
        """
        if step_beats < 0 or frame_cycles < 0:
            raise ValueError(
                f"step_beats and frame_cycles must be >= 0, got {step_beats}, {frame_cycles}"
            )
        if self._x:
            raise SimError("set_pacing with x_in beats still queued")
        self._step_beats, self._frame_cycles = int(step_beats), int(frame_cycles)
        self._pushed = self._taken = 0
        self._times = ([], [], [])

    def step_timing(self) -> StepTiming:
        """Per-step push, offer and end cycles recorded since :meth:`set_pacing`."""
        push, offer, end = (np.array(v, dtype=np.int64) for v in self._times)
        return StepTiming(push, offer, end, frame_cycles=self._frame_cycles)

    def _x_due(self) -> bool:
        """May the front ``x_in`` beat be offered now? Only a paced step's first beat waits."""
        k, n = self._step_beats, self._frame_cycles
        if not k or not n or self._taken % k:
            return True
        step, offers = self._taken // k, self._times[1]
        return step == 0 or self.cycles >= offers[step - 1] + n

    # ------------------------------------------------------- stream control
    @property
    def x_pending(self) -> int:
        """``x_in`` beats queued but not accepted yet."""
        return len(self._x)

    def cancel_stream(self) -> int:
        """Stop offering the queued ``x_in`` beats; returns how many were dropped."""
        n = len(self._x)
        self._x.clear()
        self._pushed -= n
        return n

    # ------------------------------------------------------------ bus models
    def _check_burst(self, addr: int, beats: int, size: int, burst: int) -> None:
        bb = self.hw.bus_bytes
        end = addr + beats * bb
        where = f"burst at 0x{addr:x} of {beats} beats"
        if size != bb.bit_length() - 1 or burst != 1:
            raise SimError(f"{where}: ARSIZE={size}, ARBURST={burst}; want full-width INCR")
        if addr % bb:
            raise SimError(f"{where}: not aligned to the {bb}-byte bus")
        if beats > 256:
            raise SimError(f"{where}: longer than 256 beats")
        if addr // 4096 != (end - 1) // 4096:
            raise SimError(f"{where}: crosses a 4 KiB boundary")
        if end > len(self._loaded) or self._loaded.find(0, addr, end) >= 0:
            raise SimError(f"{where}: reads memory that was never written")

    async def _bench(self, ctx) -> None:
        csr, mem, xin, hout = self.dut.csr, self.dut.mem, self.dut.x_in, self.dut.h_out
        st, rnd, bb = self.stalls, self._rnd, self.hw.bus_bytes
        pending: deque[tuple[int, int, int]] = deque()  # (due cycle, address, beats)
        cur: list[int] | None = None  # [address, beats left] of the burst being served
        x_valid = False  # held until accepted
        while True:
            # ---------------- drive
            op = self._csr
            w = op is not None and op.write
            r = op is not None and not op.write
            ctx.set(csr.awvalid, w and op.phase == 0)
            ctx.set(csr.wvalid, w and op.phase == 0)
            ctx.set(csr.awaddr, op.addr if w else 0)
            ctx.set(csr.wdata, op.value if w else 0)
            ctx.set(csr.wstrb, 0xF)
            ctx.set(csr.bready, 1)
            ctx.set(csr.arvalid, r and op.phase == 0)
            ctx.set(csr.araddr, op.addr if r else 0)
            ctx.set(csr.rready, 1)
            x_valid = x_valid and bool(self._x)  # cancel_stream may have emptied the queue
            if not x_valid and self._x and self._x_due() and rnd.random() >= st.x_gap:
                x_valid = True
                if self._step_beats and self._taken % self._step_beats == 0:
                    self._times[1].append(self.cycles)
            ctx.set(xin.valid, x_valid)
            if self._x:
                ctx.set(xin.payload, self._x[0])
            ctx.set(hout.ready, len(self._h) < self._h_want and rnd.random() >= st.h_backpressure)
            arready = rnd.random() >= st.ar_stall
            ctx.set(mem.arready, arready)
            if cur is None and pending and pending[0][0] <= self.cycles:
                _, a, n = pending.popleft()
                cur = [a, n]
            r_valid = cur is not None and rnd.random() >= st.r_gap
            ctx.set(mem.rvalid, r_valid)
            if cur is not None:
                ctx.set(mem.rdata, int.from_bytes(self.memory[cur[0] : cur[0] + bb], "little"))
                ctx.set(mem.rlast, cur[1] == 1)
            ctx.set(mem.rresp, 0)
            # ---------------- observe
            if w and op.phase == 0 and ctx.get(csr.awready) and ctx.get(csr.wready):
                op.phase = 1
            elif w and op.phase == 1 and ctx.get(csr.bvalid):
                op.resp, op.done, self._csr = ctx.get(csr.bresp), True, None
            elif r and op.phase == 0 and ctx.get(csr.arready):
                op.phase = 1
            elif r and op.phase == 1 and ctx.get(csr.rvalid):
                op.value, op.resp = ctx.get(csr.rdata), ctx.get(csr.rresp)
                op.done, self._csr = True, None
            if x_valid and ctx.get(xin.ready):
                self._x.popleft()
                self._taken += 1
                x_valid = False
            if ctx.get(hout.ready) and ctx.get(hout.valid):
                beat = ctx.get(hout.payload)
                lanes = [int(beat.data[k]) for k in range(self.hw.num_pe)]
                self._h.append((lanes, bool(beat.last)))
                if self._step_beats and bool(beat.last):
                    self._times[2].append(self.cycles)
            if arready and ctx.get(mem.arvalid):
                addr, n = ctx.get(mem.araddr), ctx.get(mem.arlen) + 1
                self._check_burst(addr, n, ctx.get(mem.arsize), ctx.get(mem.arburst))
                self.bursts.append((addr, n))
                pending.append((self.cycles + st.mem_latency, addr, n))
            if r_valid and ctx.get(mem.rready):
                cur[0] += bb
                cur[1] -= 1
                if cur[1] == 0:
                    cur = None
            await ctx.tick()
            self.cycles += 1
