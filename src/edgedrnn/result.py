"""``Result``: what every backend returns for a run of a Program over a sequence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fixedpoint as fp


@dataclass
class Result:
    """Outputs and statistics of one run (docs/api.md).

    Attributes:
        outputs_q: int16 (T, H_last): raw Q8.8 hidden state of the last layer at each step.
        nonzero: int64 (T, L, 2): deltas passed on per step and layer, ``[..., 0]`` for the
            input vector and ``[..., 1]`` for the hidden vector (the bias column not counted).
        overflow: sticky saturation flag: True if any narrowing or accumulator saturated.
        cycles: int64 (T,) clock cycles per step, the throughput figure (``"rtl"``
            backend, else None): from the end of step t-1 (its last h_out beat accepted; for
            t = 0 the step's first x_in beat offered) to the end of step t, less the cycles
            the device waited on a late host, so that ``cycles.sum()`` is the run's total
            even when consecutive steps overlap (docs/rtl-backend.md).
        backend: name of the backend that produced the result.
        latency: int64 (T,) clock cycles from step t's first x_in beat offered to its last
            h_out beat accepted (``"rtl"`` backend), else None: backends without a clock
            have none.
    """

    outputs_q: np.ndarray
    nonzero: np.ndarray
    overflow: bool
    cycles: np.ndarray | None = None
    backend: str = ""
    latency: np.ndarray | None = None

    @property
    def outputs(self) -> np.ndarray:
        """The last layer's hidden state as float64 (T, H_last)."""
        return fp.from_q88(self.outputs_q)

    def same_as(self, other: Result) -> bool:
        """True if outputs, delta counts and overflow flag are identical (not the timing)."""
        return (
            np.array_equal(self.outputs_q, other.outputs_q)
            and np.array_equal(self.nonzero, other.nonzero)
            and self.overflow == other.overflow
        )
