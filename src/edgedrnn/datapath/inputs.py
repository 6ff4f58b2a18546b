"""What the datapath takes: input vectors and thresholds, validated and quantized once.

:func:`check_input` and :func:`quantize_input` take input sequences (T, I) and vectors (I,);
:func:`threshold_schedule` (per step and layer) and :func:`layer_thresholds` (per layer) take
thresholds in real units. :func:`edgedrnn.run`, :class:`edgedrnn.Session` and the host driver
(:class:`edgedrnn.host.driver.EdgeDRNNDriver`) all use them, so each takes exactly the same
inputs and refuses the same ones with the same message.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import fixedpoint as fp


class InputClippedWarning(UserWarning):
    """Float input values outside the Q8.8 range [-128, 127.996] were clipped on entry."""


def check_input(x: Any, input_size: int, *, step: bool = False) -> np.ndarray:
    """Validate an input sequence (T, I) or, with ``step``, one input vector (I,).

    Parameters
    ----------
    x : array_like
        A float array (real values) or an int16 array (raw Q8.8); NumPy arrays, torch
        tensors and nested lists are accepted. Integers that are not in an int16 NumPy
        array (Python ints, other tensors) are real values.
    input_size : int
        The program's input size I.
    step : bool
        Expect one vector (I,) rather than a sequence (T, I).

    Returns
    -------
    numpy.ndarray
        ``x`` as a contiguous int16 array, or as a float array whose values are finite.

    Raises
    ------
    ValueError
        Wrong shape, an empty sequence, NaN or inf.
    TypeError
        A dtype that is neither float nor int16.
    """
    if not isinstance(x, np.ndarray):
        if hasattr(x, "detach"):  # torch.Tensor
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.dtype.kind in "iu" and x.dtype != np.int16:
            x = x.astype(np.float64)
    if step:
        if x.shape != (input_size,):
            raise ValueError(
                f"step() takes one input vector of shape ({input_size},), got shape {x.shape}"
            )
    elif x.ndim != 2:
        raise ValueError(
            f"input must be 2-D (T, I) = (time steps, {input_size} features); got shape {x.shape}"
            + ("; for a batch, run each sequence separately" if x.ndim == 3 else "")
        )
    elif x.shape[0] == 0:
        raise ValueError("input sequence is empty (T = 0): give at least one time step")
    elif x.shape[1] != input_size:
        raise ValueError(
            f"input has {x.shape[1]} features per step, the program expects {input_size}"
        )
    if x.dtype == np.int16:
        return np.ascontiguousarray(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"input dtype {x.dtype} not understood: pass floats (real values) or int16 (raw Q8.8)"
        )
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        where = f"step {bad[0]}, feature {bad[1]}" if x.ndim == 2 else f"feature {bad[0]}"
        raise ValueError(f"input contains NaN or inf (first at {where})")
    return x


def quantize_input(
    x: Any, input_size: int, *, step: bool = False, stacklevel: int = 1
) -> np.ndarray:
    """Validate an input (see :func:`check_input`) and return it as raw Q8.8 int16.

    Float values are quantized with round half to even and saturation; an
    :class:`InputClippedWarning` counts the values that clipped. int16 values are taken as
    they are.

    Parameters
    ----------
    x, input_size, step
        As for :func:`check_input`.
    stacklevel : int
        Where the warning points, counted as by :func:`warnings.warn` from the caller of
        this function (1: the caller's line, 2: its caller's).
    """
    x = check_input(x, input_size, step=step)
    if x.dtype == np.int16:
        return x
    q, clipped = fp.quantize(x, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
    if clipped:
        warnings.warn(
            f"{clipped} input value(s) outside the Q8.8 range [-128, 127.996] were clipped",
            InputClippedWarning,
            stacklevel=stacklevel + 1,
        )
    return q.astype(np.int16)


def _quantize_thresholds(theta: np.ndarray, name: str) -> np.ndarray:
    """Thresholds in real units → raw Q8.8 int64 (finite, non-negative, below 128)."""
    if not np.all(np.isfinite(theta)) or np.any(theta < 0):
        raise ValueError(f"{name}: thresholds must be finite and non-negative")
    q, clipped = fp.quantize(theta, fp.ACT_FRAC, 0, fp.INT16_MAX)
    if clipped:
        raise ValueError(f"{name}: thresholds must be below 128.0 (Q8.8 range)")
    return q


def _as_float_array(theta: Any, name: str) -> np.ndarray:
    if hasattr(theta, "detach"):  # torch.Tensor
        theta = theta.detach().cpu().numpy()
    if isinstance(theta, str | bytes):
        raise ValueError(f"{name}: thresholds must be numbers, got {theta!r}")
    try:
        return np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: thresholds must be numbers, got {theta!r}") from None


def layer_thresholds(theta: Any, layers: int, name: str) -> list[int]:
    """Thresholds in real units, a float or one per layer → raw Q8.8 per layer.

    Raises
    ------
    ValueError
        Another shape, or values that are negative, not finite or not below 128.
    """
    arr = _as_float_array(theta, name)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != layers):
        raise ValueError(
            f"{name}: give a float or {layers} per-layer values, got shape {arr.shape}"
        )
    return [int(v) for v in _quantize_thresholds(np.broadcast_to(arr, (layers,)), name)]


def threshold_schedule(theta: Any, default_q: list[int], steps: int, name: str) -> np.ndarray:
    """Expand thresholds to raw Q8.8 per step and layer, int64 (T, L).

    ``theta`` is None (the program's per-layer values ``default_q``), a float (all steps and
    layers), a 1-D sequence of length T (per step, all layers) or an array (T, L) / (1, L),
    in real units.
    """
    layers = len(default_q)
    if theta is None:
        return np.broadcast_to(np.asarray(default_q, dtype=np.int64), (steps, layers)).copy()
    arr = _as_float_array(theta, name)
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
    return _quantize_thresholds(arr, name)
