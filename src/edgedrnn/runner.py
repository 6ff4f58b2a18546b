"""``run``: validate inputs and thresholds (:mod:`edgedrnn.datapath.inputs`), then hand a
Program to a backend."""

from __future__ import annotations

from typing import Any

from .backends import get_backend
from .datapath.inputs import InputClippedWarning, quantize_input, threshold_schedule
from .program import Program
from .result import Result

__all__ = ["InputClippedWarning", "run"]


def run(
    program: Program,
    x: Any,
    backend: str = "reference",
    theta_x: Any = None,
    theta_h: Any = None,
    **options: Any,
) -> Result:
    """Run ``program`` on the sequence ``x`` from reset, on ``backend``.

    Parameters
    ----------
    program : Program
        A compiled network (:func:`edgedrnn.compile`).
    x : array_like
        (T, I) float array of real values, or int16 array of raw Q8.8 values.
    backend : str
        ``"reference"``, ``"torch"``, ``"cpu"``, ``"rtl"`` or ``"soc"``.
    theta_x, theta_h : float or array_like, optional
        Threshold overrides in real units: a float, a per-step sequence (T,), or (T, L) per
        step and layer. Default: the program's per-layer values.
    **options
        Backend-specific options (e.g. ``mode="float"`` for cpu, memory latency and stalls
        for rtl).

    Returns
    -------
    Result
        ``outputs_q``, ``outputs``, ``nonzero``, ``overflow``, ``cycles``.
    """
    if not isinstance(program, Program):
        raise TypeError(
            f"run() needs a Program (from edgedrnn.compile), got {type(program).__name__}"
        )
    program.validate()
    impl = get_backend(backend)
    x_q = quantize_input(x, program.input_size, stacklevel=2)
    steps = x_q.shape[0]
    tx = threshold_schedule(theta_x, program.theta_x_q, steps, "theta_x")
    th = threshold_schedule(theta_h, program.theta_h_q, steps, "theta_h")
    result = impl.run(program, x_q, tx, th, **options)
    result.backend = backend
    return result
