"""``Session``: run a Program one time step at a time (a sensor or microphone stream).

Example::

    session = edgedrnn.Session(program, backend="cpu")       # exact integer mode
    for frame in stream:                                     # float (I,) per step
        h = session.step(frame)                              # float32 (H_last,)
        if session.overflow: ...
    session.set_thresholds(theta_h=0.1)                      # from the next step on
    session.reset()                                          # a new sequence

Each session owns its state: many independent sessions (one per stream) can run in one
process; sessions of one Program share its read-only weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import fixedpoint as fp
from .program import Program
from .runner import InputClippedWarning

BACKENDS = ("cpu", "reference")


def _per_layer_q(value: Any, layers: int, name: str) -> list[int]:
    """A float or one float per layer (real units) → raw Q8.8 per layer."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != layers):
        raise ValueError(
            f"{name}: give a float or {layers} per-layer values, got shape {arr.shape}"
        )
    arr = np.broadcast_to(arr, (layers,))
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: thresholds must be finite and non-negative, got {list(arr)}")
    q, clipped = fp.quantize(arr, fp.ACT_FRAC, 0, fp.INT16_MAX)
    if clipped:
        raise ValueError(f"{name}: thresholds must be below 128.0 (Q8.8 range)")
    return [int(v) for v in q]


class Session:
    """Streaming execution of a :class:`Program`: :meth:`step` takes one input vector.

    Args:
        program: the compiled network.
        backend: ``"cpu"`` (Numba runtime) or ``"reference"`` (the integer golden model;
            slow, exact mode only).
        mode: ``"exact"`` (integers equal to the reference) or ``"float"`` (cpu only:
            float32 delta GRU with the program's dequantized weights).
        theta_x, theta_h: thresholds in real units (a float or one per layer); default the
            program's.

    Inputs to :meth:`step` are float vectors (real values; in exact mode quantized with round
    half to even and saturation, with an :class:`~edgedrnn.InputClippedWarning` on clipping)
    or int16 vectors (raw Q8.8).
    """

    def __init__(
        self,
        program: Program,
        backend: str = "cpu",
        mode: str = "exact",
        theta_x: float | Sequence[float] | None = None,
        theta_h: float | Sequence[float] | None = None,
    ) -> None:
        if not isinstance(program, Program):
            raise TypeError(f"Session needs a Program, got {type(program).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"Session backend must be one of {BACKENDS}, got {backend!r}")
        if mode not in ("exact", "float"):
            raise ValueError(f"mode must be 'exact' or 'float', got {mode!r}")
        if backend == "reference" and mode != "exact":
            raise ValueError("the reference backend runs the exact (integer) mode only")
        self.program = program
        self.backend = backend
        self.mode = mode
        self.input_size = program.input_size
        self.output_size = program.output_size
        self._tx = list(program.theta_x_q)
        self._th = list(program.theta_h_q)
        if backend == "cpu":
            from .backends import cpu

            self._net = cpu.get_net(program, mode)
            self._K = cpu.K
            self._xq = np.zeros(program.input_size, dtype=np.int32)
            self._outq = np.zeros(program.output_size, dtype=np.int16)
            self._outf = np.zeros(program.output_size, dtype=np.float32)
        else:
            from .backends.reference import ReferenceModel

            self._ref = ReferenceModel(program)
        self.reset()
        self.set_thresholds(theta_x, theta_h)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Start a new sequence: zero all layer state and the overflow flag.

        Thresholds are kept.
        """
        self.steps = 0
        if self.backend == "cpu":
            self._st, self._sf = self._net.new_state()
            self._net.set_thresholds_q(self._st, self._sf, self._tx, self._th)
        else:
            self._ref.reset()

    def set_thresholds(
        self,
        theta_x: float | Sequence[float] | None = None,
        theta_h: float | Sequence[float] | None = None,
    ) -> None:
        """Change thresholds (real units, a float or one per layer) from the next step on."""
        L = self.program.num_layers
        if theta_x is not None:
            self._tx = _per_layer_q(theta_x, L, "theta_x")
        if theta_h is not None:
            self._th = _per_layer_q(theta_h, L, "theta_h")
        if self.backend == "cpu":
            self._net.set_thresholds_q(self._st, self._sf, self._tx, self._th)

    @property
    def theta_x(self) -> list[float]:
        """Per-layer input thresholds (real units) in effect."""
        return [q / 256 for q in self._tx]

    @property
    def theta_h(self) -> list[float]:
        """Per-layer hidden thresholds (real units) in effect."""
        return [q / 256 for q in self._th]

    @property
    def overflow(self) -> bool:
        """Sticky flag: some value saturated since the last reset (exact mode)."""
        if self.backend == "cpu":
            return bool(self._st[self._K.S_OVERFLOW])
        return bool(self._ref.overflow)

    @property
    def last_nonzero(self) -> np.ndarray:
        """Deltas passed on in the last step, int64 (L, 2): [:, 0] inputs, [:, 1] hidden."""
        if self.backend == "cpu":
            return self._net.nonzero(self._st)
        return self._ref.last_nonzero.copy()

    # ------------------------------------------------------------------- step
    def _check(self, x: Any) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            if hasattr(x, "detach"):
                x = x.detach().cpu().numpy()
            x = np.asarray(x)
            if x.dtype.kind in "iu" and x.dtype != np.int16:
                x = x.astype(np.float64)  # Python ints: real values
        if x.shape != (self.input_size,):
            raise ValueError(
                f"step() takes one input vector of shape ({self.input_size},), got {x.shape}"
            )
        return x

    def _run_cpu(self, x: np.ndarray) -> int:
        K, net = self._K, self._net
        if self.mode == "exact":
            if x.dtype == np.int16:
                return K.step_exact_q(net.W, net.aux, net.meta, self._st, x, self._outq, self._outf)
            if x.dtype.kind != "f":
                raise TypeError(f"input dtype {x.dtype}: pass floats or int16 (raw Q8.8)")
            if x.dtype != np.float64:  # one compiled specialization
                x = x.astype(np.float64)
            status = K.step_exact_f(net.W, net.aux, net.meta, self._st, x, self._outf, self._xq)
        else:
            if x.dtype == np.int16:
                x = x.astype(np.float32) / np.float32(256.0)
            elif x.dtype.kind != "f":
                raise TypeError(f"input dtype {x.dtype}: pass floats or int16 (raw Q8.8)")
            elif x.dtype != np.float32:
                x = x.astype(np.float32)
            status = K.step_float(net.W, net.aux, net.meta, self._st, self._sf, x, self._outf)
        if status == 2:
            raise ValueError("input contains NaN or inf")
        if status == 1:
            warnings.warn(
                "input value(s) outside the Q8.8 range [-128, 127.996] were clipped",
                InputClippedWarning,
                stacklevel=3,
            )
        return status

    def step(self, x: Any) -> np.ndarray:
        """Run one time step; returns the last layer's hidden state as float32 (H_last,).

        ``x``: float (I,) real values, or int16 (I,) raw Q8.8.
        """
        x = self._check(x)
        self.steps += 1
        if self.backend == "reference":
            h = self._ref.step(self._quantize_ref(x), self._tx, self._th)
            return (h / 256.0).astype(np.float32)
        self._run_cpu(x)
        return self._outf.copy()

    def step_q(self, x: Any) -> np.ndarray:
        """Run one time step; returns the last layer's hidden state as raw Q8.8 int16.

        In float mode the float output is quantized (round half to even, saturate).
        """
        x = self._check(x)
        self.steps += 1
        if self.backend == "reference":
            return self._ref.step(self._quantize_ref(x), self._tx, self._th).astype(np.int16)
        self._run_cpu(x)
        if self.mode == "exact":
            if x.dtype == np.int16:
                return self._outq.copy()
            return np.rint(self._outf * np.float32(256.0)).astype(np.int16)
        q, _ = fp.quantize(self._outf, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
        return q.astype(np.int16)

    def _quantize_ref(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == np.int16:
            return x
        if x.dtype.kind != "f":
            raise TypeError(f"input dtype {x.dtype}: pass floats or int16 (raw Q8.8)")
        if not np.all(np.isfinite(x)):
            raise ValueError("input contains NaN or inf")
        q, clipped = fp.quantize(x, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
        if clipped:
            warnings.warn(
                "input value(s) outside the Q8.8 range [-128, 127.996] were clipped",
                InputClippedWarning,
                stacklevel=3,
            )
        return q

    def run(self, x: Any) -> np.ndarray:
        """Feed a (T, I) sequence step by step (continuing the current state); float (T, H)."""
        return np.stack([self.step(x_t) for x_t in np.asarray(x)])

    def __repr__(self) -> str:
        return (
            f"Session({self.program!r}, backend={self.backend!r}, mode={self.mode!r}, "
            f"steps={self.steps})"
        )
