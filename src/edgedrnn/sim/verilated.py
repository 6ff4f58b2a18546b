"""ctypes wrapper of the Verilator harness shared library (``harness.cpp``)."""

from __future__ import annotations

import contextlib
import ctypes
from pathlib import Path

import numpy as np

from .timing import StepTiming

_u64 = ctypes.c_uint64
_u32 = ctypes.c_uint32
_vp = ctypes.c_void_p
_dbl = ctypes.c_double

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "edrnn_create": (_vp, [_u64]),
    "edrnn_destroy": (None, [_vp]),
    "edrnn_bus_bits": (ctypes.c_int, []),
    "edrnn_lanes": (ctypes.c_int, []),
    "edrnn_reset": (None, [_vp, ctypes.c_int]),
    "edrnn_set_mem_timing": (None, [_vp, _u32, _dbl, _dbl, _u32]),
    "edrnn_set_stream_stall": (None, [_vp, _dbl, _dbl, _dbl]),
    "edrnn_mem_write": (None, [_vp, _u64, ctypes.c_char_p, _u64]),
    "edrnn_cycles": (_u64, [_vp]),
    "edrnn_run": (None, [_vp, _u64]),
    "edrnn_csr_write": (ctypes.c_int, [_vp, _u32, _u32, _u64]),
    "edrnn_csr_read": (ctypes.c_int, [_vp, _u32, ctypes.POINTER(_u32), _u64]),
    "edrnn_push_x": (None, [_vp, ctypes.c_void_p, _u32]),
    "edrnn_x_pending": (_u32, [_vp]),
    "edrnn_h_available": (_u32, [_vp]),
    "edrnn_pop_h": (_u32, [_vp, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _u32, _u64]),
    "edrnn_pop_x_times": (_u32, [_vp, ctypes.c_void_p, _u32]),
    "edrnn_set_pacing": (ctypes.c_int, [_vp, _u32, _u64]),
    "edrnn_step_times": (_u32, [_vp, ctypes.c_int, ctypes.c_void_p, _u32]),
    "edrnn_mem_stats": (None, [_vp, ctypes.POINTER(_u64)]),
    "edrnn_protocol_errors": (_u64, [_vp, ctypes.c_char_p, _u32]),
}

_LIBS: dict[str, ctypes.CDLL] = {}


class SimError(RuntimeError):
    """The simulated design did not respond in time or broke a bus protocol."""


def _load(path: Path) -> ctypes.CDLL:
    key = str(path)
    if key not in _LIBS:
        lib = ctypes.CDLL(key)
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        _LIBS[key] = lib
    return _LIBS[key]


class VerilatedModel:
    """One instance of the Verilated EdgeDRNN with its testbench (memory model, streams).

    Args:
        library: path of the shared library from :func:`edgedrnn.sim.build.build_model`.
        seed: seed of the random stalls.
        mem_latency: cycles from an accepted AR to the first R beat (>= 1).
        mem_stall: probability that ARREADY and RVALID are held low in a cycle (both channels).
        ar_stall, r_stall: per-channel overrides of ``mem_stall``.
        stream_stall: probability that x_in VALID / h_out READY are held low in a cycle
            (h_out is ready only while :meth:`pop_h` waits for beats, as for a host that
            reads the port).
        csr_stall: probability that the AXI-Lite master delays AWVALID, WVALID, ARVALID (each
            on its own) and holds BREADY, RREADY low in a cycle (default: ``stream_stall``).
        max_outstanding: bursts the memory model accepts before it stops taking ARs.
        timeout: cycles a single register access or step may take before :class:`SimError`.
    """

    def __init__(
        self,
        library: str | Path,
        *,
        seed: int = 0,
        mem_latency: int = 1,
        mem_stall: float = 0.0,
        ar_stall: float | None = None,
        r_stall: float | None = None,
        stream_stall: float = 0.0,
        csr_stall: float | None = None,
        max_outstanding: int = 64,
        timeout: int = 1_000_000,
    ) -> None:
        if csr_stall is None:
            csr_stall = stream_stall
        for name, p in (
            ("mem_stall", mem_stall),
            ("stream_stall", stream_stall),
            ("csr_stall", csr_stall),
        ):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {p}")
        if mem_latency < 1:
            raise ValueError(f"mem_latency must be >= 1 cycle, got {mem_latency}")
        self._lib = _load(Path(library))
        self._h = self._lib.edrnn_create(seed & 0xFFFFFFFFFFFFFFFF)
        self.timeout = int(timeout)
        self._frame_cycles = 0
        #: Cycle numbers at which popped h_out beats were accepted (appended by pop_h).
        self.h_times: list[int] = []
        self.bus_bits = int(self._lib.edrnn_bus_bits())
        #: Elements per x_in / h_out beat (NUM_PE).
        self.lanes = int(self._lib.edrnn_lanes())
        self._lib.edrnn_set_mem_timing(
            self._h,
            int(mem_latency),
            float(mem_stall if ar_stall is None else ar_stall),
            float(mem_stall if r_stall is None else r_stall),
            int(max_outstanding),
        )
        self._lib.edrnn_set_stream_stall(
            self._h, float(stream_stall), float(stream_stall), float(csr_stall)
        )
        self.reset()

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Free the simulator instance."""
        if self._h:
            self._lib.edrnn_destroy(self._h)
            self._h = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> VerilatedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- clock
    def reset(self, cycles: int = 4) -> None:
        """Hold ``rst`` high for ``cycles`` clocks; clears the testbench queues."""
        self._lib.edrnn_reset(self._h, int(cycles))

    @property
    def cycles(self) -> int:
        """Clock cycles simulated since creation."""
        return int(self._lib.edrnn_cycles(self._h))

    def run(self, cycles: int) -> None:
        """Advance the clock by ``cycles`` (streams and memory keep being served)."""
        self._lib.edrnn_run(self._h, int(cycles))

    # ------------------------------------------------------------ registers
    def csr_write(self, addr: int, value: int) -> None:
        """AXI4-Lite write of one 32-bit register; raises on timeout or an error response."""
        resp = self._lib.edrnn_csr_write(self._h, addr, value & 0xFFFFFFFF, self.timeout)
        if resp < 0:
            raise SimError(f"AXI-Lite write to 0x{addr:03x} timed out after {self.timeout} cycles")
        if resp != 0:
            raise SimError(f"AXI-Lite write to 0x{addr:03x} answered BRESP={resp}")
        self.check_protocol()

    def csr_read(self, addr: int) -> int:
        """AXI4-Lite read of one 32-bit register; raises on timeout or an error response."""
        out = _u32(0)
        resp = self._lib.edrnn_csr_read(self._h, addr, ctypes.byref(out), self.timeout)
        if resp < 0:
            raise SimError(f"AXI-Lite read of 0x{addr:03x} timed out after {self.timeout} cycles")
        if resp != 0:
            raise SimError(f"AXI-Lite read of 0x{addr:03x} answered RRESP={resp}")
        return int(out.value)

    # ---------------------------------------------------------------- memory
    def mem_write(self, addr: int, data: bytes) -> None:
        """Load bytes into the memory model at byte address ``addr``."""
        self._lib.edrnn_mem_write(self._h, int(addr), bytes(data), len(data))

    def mem_stats(self) -> dict[str, int]:
        """Bursts and beats served, bursts reaching outside the loaded image, bursts in flight."""
        arr = (_u64 * 4)()
        self._lib.edrnn_mem_stats(self._h, arr)
        return {"bursts": arr[0], "beats": arr[1], "out_of_range": arr[2], "in_flight": arr[3]}

    # --------------------------------------------------------------- streams
    def push_x(self, beats: np.ndarray) -> None:
        """Queue x_in beats (int16 (n, lanes)); they are offered with random valid gaps."""
        arr = np.ascontiguousarray(beats, dtype=np.int16)
        if arr.ndim != 2 or arr.shape[1] != self.lanes:
            raise ValueError(f"x_in beats must have shape (n, {self.lanes}), got {arr.shape}")
        self._lib.edrnn_push_x(self._h, arr.ctypes.data, arr.shape[0])

    def pop_x_times(self) -> np.ndarray:
        """Cycle numbers at which x_in beats were accepted since the last call (uint64)."""
        out = np.zeros(4096, dtype=np.uint64)
        parts = []
        while True:
            got = self._lib.edrnn_pop_x_times(self._h, out.ctypes.data, out.size)
            parts.append(out[:got].copy())
            if got < out.size:
                return np.concatenate(parts)

    def set_pacing(self, step_beats: int, frame_cycles: int = 0) -> None:
        """Number the x_in beats queued from now on by steps of ``step_beats`` beats and
        record each step's timing (:meth:`step_timing`); with ``frame_cycles`` N > 0, the
        first beat of step t is offered no earlier than N cycles after step t-1's was.

        Call between runs, with no x_in beat queued; clears the step records.
        """
        if step_beats < 0 or frame_cycles < 0:
            raise ValueError(
                f"step_beats and frame_cycles must be >= 0, got {step_beats}, {frame_cycles}"
            )
        if self._lib.edrnn_set_pacing(self._h, int(step_beats), int(frame_cycles)) < 0:
            raise SimError("set_pacing with x_in beats still queued")
        self._frame_cycles = int(frame_cycles)

    def step_timing(self) -> StepTiming:
        """Per-step push, offer and end cycles recorded since :meth:`set_pacing`."""
        kinds = []
        for kind in range(3):
            n = int(self._lib.edrnn_step_times(self._h, kind, None, 0))
            out = np.zeros(n, dtype=np.uint64)
            self._lib.edrnn_step_times(self._h, kind, out.ctypes.data, n)
            kinds.append(out.astype(np.int64))
        return StepTiming(*kinds, frame_cycles=self._frame_cycles)

    @property
    def x_pending(self) -> int:
        """x_in beats queued but not accepted yet."""
        return int(self._lib.edrnn_x_pending(self._h))

    def pop_h(self, n: int, timeout: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run until ``n`` h_out beats arrived; returns (data int16 (n, lanes), last bool
        (n,))."""
        data = np.zeros((n, self.lanes), dtype=np.int16)
        last = np.zeros(n, dtype=np.uint8)
        when = np.zeros(n, dtype=np.uint64)
        limit = self.timeout if timeout is None else int(timeout)
        got = self._lib.edrnn_pop_h(
            self._h, data.ctypes.data, last.ctypes.data, when.ctypes.data, n, limit
        )
        self.h_times.extend(int(c) for c in when[:got])
        self.check_protocol()
        if got < n:
            raise SimError(
                f"h_out delivered {got} of {n} beats within {limit} cycles "
                f"(x_in beats still queued: {self.x_pending}; memory: {self.mem_stats()})"
            )
        return data, last.astype(bool)

    # ---------------------------------------------------------------- checks
    def protocol_errors(self) -> tuple[int, str]:
        """(count, first description) of bus protocol violations seen by the testbench."""
        buf = ctypes.create_string_buffer(512)
        n = self._lib.edrnn_protocol_errors(self._h, buf, len(buf))
        return int(n), buf.value.decode(errors="replace")

    def check_protocol(self) -> None:
        """Raise :class:`SimError` if the design broke the AXI rules the testbench checks."""
        n, first = self.protocol_errors()
        if n:
            raise SimError(f"{n} AXI protocol violation(s); first: {first}")
