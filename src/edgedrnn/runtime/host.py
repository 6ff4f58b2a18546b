"""The C runtime on the host: compile it with the system's C compiler and drive a
:class:`~edgedrnn.host.transport.Transport` through it with ctypes.

The HAL's register and stream hooks call the transport (the pure-Python emulator, the
Verilator or Amaranth co-simulation), so the C library is tested on the host with the
register sequence it runs on a board::

    lib = compile_library(tmp_dir)                      # gcc -std=c99 -Wall -Wextra -Werror
    rt = CRuntime(lib, EmulatedTransport(program.hw))   # edgedrnn_init
    rt.configure(to_image(program), weight_base=0x1000)
    out = rt.run(x_q, theta_x_q, theta_h_q)             # RunOutput, like EdgeDRNNDriver.run
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..host.driver import RunOutput
from ..host.transport import Transport
from .image import SPARSE_LAYER_FIELDS, c_source_dir

#: Flags the library must compile cleanly with (warnings are errors).
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC")

_u32 = ctypes.c_uint32
_READ32 = ctypes.CFUNCTYPE(_u32, ctypes.c_void_p, _u32)
_WRITE32 = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _u32, _u32)
_PUSH_X = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), _u32, _u32, ctypes.c_int
)
_POP_H = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_int16),
    _u32,
    _u32,
    ctypes.POINTER(ctypes.c_int),
)
#: pop_h's LAST report (edgedrnn.h).
LAST_FINAL, LAST_EARLY = 1, 2
_WRITE_MEM = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, _u32, ctypes.POINTER(ctypes.c_uint8), _u32
)
_RELEASE_X = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _u32)
_WAIT_END = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_u32))
#: push_x's last (edgedrnn.h): the step's final beat, released at once / held.
PUSH_END, PUSH_HOLD = 1, 2
#: edgedrnn_run's orders (edgedrnn.h).
RUN_SEQUENTIAL, RUN_QUEUE_AHEAD, RUN_PIPELINED = 0, 1, 2


class _Hal(ctypes.Structure):
    _fields_ = (
        ("ctx", ctypes.c_void_p),
        ("read32", _READ32),
        ("write32", _WRITE32),
        ("push_x", _PUSH_X),
        ("pop_h", _POP_H),
        ("write_mem", _WRITE_MEM),
        ("release_x", _RELEASE_X),
        ("wait_end", _WAIT_END),
    )


class _Info(ctypes.Structure):
    _fields_ = tuple(
        (name, _u32)
        for name in (
            "version_major",
            "version_minor",
            "num_pe",
            "bus_bits",
            "max_layers",
            "max_hidden_size",
            "max_input_size",
            "sparse_weights",
        )
    )


class _Layer(ctypes.Structure):
    _fields_ = tuple((name.lower(), _u32) for name in SPARSE_LAYER_FIELDS)


#: EDGEDRNN_MAX_LAYERS of the compiled library (the default of edgedrnn.h).
MAX_LAYERS = 15


class _Dev(ctypes.Structure):
    _fields_ = (
        ("hal", _Hal),
        ("info", _Info),
        ("num_layers", _u32),
        ("input_size", _u32),
        ("output_size", _u32),
        ("weight_base", _u32),
        ("weights", ctypes.c_void_p),
        ("weight_bytes", _u32),
        ("layers", _Layer * MAX_LAYERS),
        ("poll_limit", _u32),
        ("fresh", ctypes.c_int),
        ("x_beats", _u32),
        ("h_beats", _u32),
    )


class _RunOut(ctypes.Structure):
    _fields_ = (
        ("h", ctypes.POINTER(ctypes.c_int16)),
        ("nonzero", ctypes.POINTER(_u32)),
        ("cycles", ctypes.POINTER(_u32)),
        ("latency", ctypes.POINTER(_u32)),
        ("overflow", ctypes.POINTER(ctypes.c_int)),
        ("ends", ctypes.POINTER(_u32)),
    )


class CRuntimeError(RuntimeError):
    """A C runtime call returned an error code.

    Attributes
    ----------
    code : int
        The negative ``edgedrnn_error`` value.
    """

    def __init__(self, code: int, message: str, call: str) -> None:
        super().__init__(f"{call}: {message} (error {code})")
        self.code = code


def find_compiler() -> str | None:
    """The C compiler to use: ``$CC`` or ``gcc`` on the path, None when there is none."""
    return shutil.which(os.environ.get("CC", "gcc"))


def compile_library(out_dir: str | Path | None = None, cc: str | None = None) -> Path:
    """Compile ``edgedrnn.c`` into a shared object with :data:`CFLAGS`; returns its path.

    The file name carries a hash of the sources, so a folder can hold builds of several
    versions. ``out_dir`` defaults to a folder in the system's temporary directory.

    Raises
    ------
    RuntimeError
        No C compiler, or the sources do not compile cleanly (the compiler's messages).
    """
    cc = cc or find_compiler()
    if cc is None:
        raise RuntimeError("no C compiler: install gcc or set CC")
    src = c_source_dir()
    digest = hashlib.sha256()
    for name in ("edgedrnn.h", "edgedrnn_regs.h", "edgedrnn.c"):
        digest.update((src / name).read_bytes())
    digest.update(" ".join((cc, *CFLAGS)).encode())
    out = Path(out_dir or Path(tempfile.gettempdir()) / "edgedrnn-runtime")
    out.mkdir(parents=True, exist_ok=True)
    lib = out / f"libedgedrnn-{digest.hexdigest()[:16]}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        cmd = [cc, *CFLAGS, "-I", str(src), str(src / "edgedrnn.c"), "-o", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        tmp.replace(lib)
    return lib


class CRuntime:
    """The C runtime driving ``transport``, through ctypes.

    Parameters
    ----------
    library : str or Path
        A shared object from :func:`compile_library`.
    transport : Transport
        The device: its registers back ``read32`` / ``write32``, its streams ``push_x`` /
        ``pop_h``, its memory ``write_mem``. The pipelined run's ``release_x`` holds a step's
        beats here until released (they then go to the transport); its ``wait_end`` reports
        every step as ended (timestamp 0): on a transport that computes a step when its
        input arrives and queues the outputs (the emulator), an input released is a step
        ended.
    write_mem : bool
        Give the HAL a ``write_mem`` hook (``edgedrnn_configure`` copies the weights); without
        it the weights must already be in the transport's memory.

    Raises
    ------
    CRuntimeError
        ``edgedrnn_init`` failed (no EdgeDRNN, another register map version).
    """

    def __init__(self, library: str | Path, transport: Transport, write_mem: bool = True) -> None:
        self.lib = ctypes.CDLL(str(library))
        self.transport = transport
        self._declare()
        self._hooks = (
            _READ32(lambda _ctx, addr: int(transport.read_reg(addr)) & 0xFFFFFFFF),
            _WRITE32(lambda _ctx, addr, value: transport.write_reg(addr, value)),
            _PUSH_X(self._push_x),
            _POP_H(self._pop_h),
            _WRITE_MEM(self._write_mem) if write_mem else _WRITE_MEM(),
            _RELEASE_X(self._release_x),
            _WAIT_END(self._wait_end),
        )
        self._held: list[np.ndarray] = []
        hal = _Hal(None, *self._hooks)
        self.dev = _Dev()
        self._call("edgedrnn_init", ctypes.byref(self.dev), ctypes.byref(hal))
        self._image: ctypes.Array[ctypes.c_char] | None = None

    # ------------------------------------------------------------ plumbing
    def _declare(self) -> None:
        lib = self.lib
        lib.edgedrnn_strerror.restype = ctypes.c_char_p
        lib.edgedrnn_strerror.argtypes = (ctypes.c_int,)
        lib.edgedrnn_status.restype = _u32
        lib.edgedrnn_step_cycles.restype = _u32
        lib.edgedrnn_latency.restype = _u32
        lib.edgedrnn_step_count.restype = _u32
        lib.edgedrnn_configure.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_size_t,
            _u32,
            _u32,
        )
        lib.edgedrnn_check_image.argtypes = (ctypes.c_void_p, ctypes.c_size_t, _u32, _u32, _u32)
        lib.edgedrnn_run.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            _u32,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
        )

    def strerror(self, code: int) -> str:
        """``edgedrnn_strerror(code)``."""
        return self.lib.edgedrnn_strerror(code).decode()

    def _call(self, name: str, *args: object) -> int:
        code = int(getattr(self.lib, name)(*args))
        if code < 0:
            raise CRuntimeError(code, self.strerror(code), name)
        return code

    def _push_x(self, _ctx: object, lanes: object, num_pe: int, beats: int, last: int) -> int:
        try:
            data = np.ctypeslib.as_array(lanes, (beats * num_pe,)).copy()
            self._held.append(data.reshape(beats, num_pe))
            if last != PUSH_HOLD:
                return self._release_x(None, 0)
        except Exception:
            return 1
        return 0

    def _release_x(self, _ctx: object, _beats: int) -> int:
        try:
            held, self._held = self._held, []
            for data in held:
                self.transport.write_stream(data)
        except Exception:
            return 1
        return 0

    def _wait_end(self, _ctx: object, cycle: object) -> int:
        cycle[0] = 0  # type: ignore[index]
        return 0

    def _pop_h(self, _ctx: object, lanes: object, num_pe: int, beats: int, last: object) -> int:
        try:
            data, flags = self.transport.read_stream(beats)
        except Exception:
            return 1
        np.ctypeslib.as_array(lanes, (beats * num_pe,))[:] = np.asarray(data).reshape(-1)
        report = (LAST_FINAL if flags[-1] else 0) | (LAST_EARLY if flags[:-1].any() else 0)
        last[0] = report  # type: ignore[index]
        return 0

    def _write_mem(self, _ctx: object, addr: int, data: object, length: int) -> int:
        try:
            self.transport.write_memory(addr, ctypes.string_at(data, length))
        except Exception:
            return 1
        return 0

    # ----------------------------------------------------------------- API
    @property
    def num_pe(self) -> int:
        """CONFIG.NUM_PE as ``edgedrnn_init`` read it."""
        return int(self.dev.info.num_pe)

    def check_image(self, image: bytes, num_pe: int = 0, bus_bits: int = 0, flags: int = 0) -> int:
        """``edgedrnn_check_image``: the error code (0 for a good image)."""
        buf = ctypes.create_string_buffer(image, len(image))
        return int(self.lib.edgedrnn_check_image(buf, len(image), num_pe, bus_bits, flags))

    def configure(self, image: bytes, weight_base: int = 0, flags: int = 0) -> None:
        """``edgedrnn_configure`` with a runtime image (:func:`~edgedrnn.runtime.to_image`);
        the image stays referenced while configured."""
        buf = ctypes.create_string_buffer(image, len(image))
        self._call(
            "edgedrnn_configure", ctypes.byref(self.dev), buf, len(image), weight_base, flags
        )
        self._image = buf

    def set_thresholds(self, theta_x_q: object, theta_h_q: object) -> int:
        """``edgedrnn_set_thresholds`` (raw Q8.8 per layer); the registers written."""
        tx = np.ascontiguousarray(theta_x_q, dtype=np.uint16)
        th = np.ascontiguousarray(theta_h_q, dtype=np.uint16)
        return self._call(
            "edgedrnn_set_thresholds",
            ctypes.byref(self.dev),
            tx.ctypes.data_as(ctypes.c_void_p),
            th.ctypes.data_as(ctypes.c_void_p),
        )

    def step(self, x_q: object) -> np.ndarray:
        """``edgedrnn_step``: one raw Q8.8 input vector in, the last layer's h out (int16)."""
        x = np.ascontiguousarray(x_q, dtype=np.int16)
        h = np.zeros(int(self.dev.output_size), dtype=np.int16)
        self._call(
            "edgedrnn_step",
            ctypes.byref(self.dev),
            x.ctypes.data_as(ctypes.c_void_p),
            h.ctypes.data_as(ctypes.c_void_p),
        )
        return h

    def run(
        self,
        x_q: object,
        theta_x_q: object = None,
        theta_h_q: object = None,
        *,
        queue_ahead: bool = True,
        pipelined: bool = False,
    ) -> RunOutput:
        """``edgedrnn_run`` over raw Q8.8 inputs (T, I), optional raw thresholds (T, L):
        ``EDGEDRNN_RUN_PIPELINED`` when ``pipelined``, else ``QUEUE_AHEAD`` or
        ``SEQUENTIAL`` by ``queue_ahead``."""
        if (theta_x_q is None) != (theta_h_q is None):
            raise ValueError("give both theta_x_q and theta_h_q, or neither")
        x = np.ascontiguousarray(x_q, dtype=np.int16)
        if x.ndim != 2 or x.shape[1] != int(self.dev.input_size):
            raise ValueError(f"x_q must be (T, {int(self.dev.input_size)}), got {x.shape}")
        steps, layers = x.shape[0], int(self.dev.num_layers)
        h = np.zeros((steps, int(self.dev.output_size)), dtype=np.int16)
        nz = np.zeros((steps, layers, 2), dtype=np.uint32)
        cycles = np.zeros(steps, dtype=np.uint32)
        latency = np.zeros(steps, dtype=np.uint32)
        overflow = ctypes.c_int(0)

        def ptr(a: np.ndarray, kind: type) -> object:
            return a.ctypes.data_as(ctypes.POINTER(kind))

        out = _RunOut(
            ptr(h, ctypes.c_int16),
            ptr(nz, _u32),
            ptr(cycles, _u32),
            ptr(latency, _u32),
            ctypes.pointer(overflow),
            None,
        )
        tx = th = None
        if theta_x_q is not None and theta_h_q is not None:
            tx = np.ascontiguousarray(theta_x_q, dtype=np.uint16)
            th = np.ascontiguousarray(theta_h_q, dtype=np.uint16)
        self._call(
            "edgedrnn_run",
            ctypes.byref(self.dev),
            x.ctypes.data_as(ctypes.c_void_p),
            steps,
            None if tx is None else tx.ctypes.data_as(ctypes.c_void_p),
            None if th is None else th.ctypes.data_as(ctypes.c_void_p),
            RUN_PIPELINED if pipelined else int(queue_ahead),
            ctypes.byref(out),
        )
        return RunOutput(
            outputs_q=h,
            nonzero=nz.astype(np.int64),
            cycles=cycles.astype(np.int64),
            overflow=bool(overflow.value),
            latency=latency.astype(np.int64),
        )

    def register(self, name: str) -> int:
        """Call ``edgedrnn_<name>`` for a register getter (``status``, ``step_cycles``,
        ``latency``, ``step_count``) and return its value."""
        return int(getattr(self.lib, f"edgedrnn_{name}")(ctypes.byref(self.dev)))
