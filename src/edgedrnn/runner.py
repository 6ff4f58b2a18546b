"""``run``: validate inputs and thresholds, then hand a Program to a backend."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import fixedpoint as fp
from .backends import get_backend
from .program import Program
from .result import Result


class InputClippedWarning(UserWarning):
    """Float input values outside the Q8.8 range [-128, 127.996] were clipped on entry."""


def quantize_input(x: Any, input_size: int) -> np.ndarray:
    """Validate an input sequence and return it as raw Q8.8 int16 (T, I).

    ``x`` may be a float array (real values, quantized with round half to even and
    saturation) or an int16 array (raw Q8.8, taken as is); NumPy arrays, torch tensors and
    nested lists are accepted.
    """
    if hasattr(x, "detach"):  # torch.Tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"input must be 2-D (T, I) = (time steps, {input_size} features); got shape {x.shape}"
            + ("; for a batch, run each sequence separately" if x.ndim == 3 else "")
        )
    if x.shape[0] == 0:
        raise ValueError("input sequence is empty (T = 0): give at least one time step")
    if x.shape[1] != input_size:
        raise ValueError(
            f"input has {x.shape[1]} features per step, the program expects {input_size}"
        )
    if x.dtype == np.int16:
        return np.ascontiguousarray(x)
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(
                f"input contains NaN or inf (first at step {bad[0]}, feature {bad[1]})"
            )
        q, clipped = fp.quantize(x, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
        if clipped:
            warnings.warn(
                f"{clipped} input value(s) outside the Q8.8 range [-128, 127.996] were clipped",
                InputClippedWarning,
                stacklevel=3,
            )
        return q.astype(np.int16)
    raise TypeError(
        f"input dtype {x.dtype} not understood: pass floats (real values) or int16 (raw Q8.8)"
    )


def threshold_schedule(theta: Any, default_q: list[int], steps: int, name: str) -> np.ndarray:
    """Expand thresholds to raw Q8.8 per step and layer, int64 (T, L).

    ``theta`` is None (the program's per-layer values), a float (all steps and layers), a
    1-D sequence of length T (per step, all layers) or an array (T, L) / (1, L).
    """
    layers = len(default_q)
    if theta is None:
        return np.broadcast_to(np.asarray(default_q, dtype=np.int64), (steps, layers)).copy()
    if hasattr(theta, "detach"):
        theta = theta.detach().cpu().numpy()
    arr = np.asarray(theta, dtype=np.float64)
    if arr.ndim == 1:
        if arr.shape[0] != steps:
            raise ValueError(
                f"{name}: a 1-D schedule gives one threshold per step; expected length {steps}, "
                f"got {arr.shape[0]} (use shape (T, L) or (1, L) for per-layer values)"
            )
        arr = arr[:, None]
    if arr.ndim > 2:
        raise ValueError(f"{name}: expected a float, (T,), (T, L) or (1, L); got {arr.shape}")
    try:
        arr = np.broadcast_to(arr, (steps, layers))
    except ValueError:
        raise ValueError(
            f"{name}: shape {np.shape(theta)} does not broadcast to (T, L) = ({steps}, {layers})"
        ) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: thresholds must be finite and non-negative")
    q, clipped = fp.quantize(arr, fp.ACT_FRAC, 0, fp.INT16_MAX)
    if clipped:
        raise ValueError(f"{name}: thresholds must be below 128.0 (Q8.8 range)")
    return q


def run(
    program: Program,
    x: Any,
    backend: str = "reference",
    theta_x: Any = None,
    theta_h: Any = None,
    **options: Any,
) -> Result:
    """Run ``program`` on the sequence ``x`` from reset, on ``backend``.

    Args:
        program: a compiled :class:`Program`.
        x: (T, I) float array of real values, or int16 array of raw Q8.8 values.
        backend: ``"reference"``, ``"torch"``, ``"cpu"`` or ``"rtl"``.
        theta_x, theta_h: threshold overrides in real units: a float, a per-step sequence
            (T,), or (T, L) per step and layer. Default: the program's per-layer values.
        **options: backend-specific options (e.g. ``mode="float"`` for cpu, memory latency
            and stalls for rtl).

    Returns:
        A :class:`Result` (outputs_q, outputs, nonzero, overflow, cycles).
    """
    if not isinstance(program, Program):
        raise TypeError(
            f"run() needs a Program (from edgedrnn.compile), got {type(program).__name__}"
        )
    impl = get_backend(backend)
    x_q = quantize_input(x, program.input_size)
    steps = x_q.shape[0]
    tx = threshold_schedule(theta_x, program.theta_x_q, steps, "theta_x")
    th = threshold_schedule(theta_h, program.theta_h_q, steps, "theta_h")
    result = impl.run_program(program, x_q, tx, th, **options)
    result.backend = backend
    return result
