"""The ``"reference"`` backend: the integer golden model (:mod:`edgedrnn.datapath`) as a
:class:`~edgedrnn.backends.Backend`, for whole sequences and streams, exact mode only.

Every other backend (torch, cpu, rtl) must produce exactly these integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..datapath import ReferenceModel
from ..program import Program
from ..result import Result
from . import Backend, Stream

__all__ = ["BACKEND", "ReferenceModel", "ReferenceStream", "run_program"]


class ReferenceStream(Stream):
    """A :class:`ReferenceModel` behind the :class:`~edgedrnn.backends.Stream` protocol."""

    exact = True

    def __init__(self, program: Program) -> None:
        self.program = program
        self._model = ReferenceModel(program)
        self._tx = list(program.theta_x_q)
        self._th = list(program.theta_h_q)
        self._h = np.zeros(program.output_size, dtype=np.int64)

    def set_thresholds(self, theta_x_q: Sequence[int], theta_h_q: Sequence[int]) -> None:
        self._tx, self._th = list(theta_x_q), list(theta_h_q)

    def step(self, x: np.ndarray) -> None:
        self._h = self._model.step(x, self._tx, self._th)

    def reset(self) -> None:
        self._model.reset()
        self._h = np.zeros(self.program.output_size, dtype=np.int64)

    @property
    def outputs_q(self) -> np.ndarray:
        return self._h.astype(np.int16)

    @property
    def outputs(self) -> np.ndarray:
        return (self._h / 256.0).astype(np.float32)

    @property
    def overflow(self) -> bool:
        return bool(self._model.overflow)

    @property
    def nonzero(self) -> np.ndarray:
        return self._model.last_nonzero.copy()


def run_program(
    program: Program, x_q: np.ndarray, theta_x_q: np.ndarray, theta_h_q: np.ndarray
) -> Result:
    """Run a whole sequence from reset; see :meth:`edgedrnn.backends.Backend.run`."""
    result = ReferenceStream(program).run(x_q, theta_x_q, theta_h_q)
    result.backend = "reference"
    return result


class ReferenceBackend(Backend):
    """The ``"reference"`` backend: whole sequences and streams, exact (integer) mode only."""

    name = "reference"

    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        **options: Any,
    ) -> Result:
        self._exact_only(options)
        return run_program(program, x_q, theta_x_q, theta_h_q)

    def open_stream(self, program: Program, **options: Any) -> ReferenceStream:
        self._exact_only(options)
        return ReferenceStream(program)

    def _exact_only(self, options: dict[str, Any]) -> None:
        """The reference backend takes no options but ``mode="exact"``."""
        if options.get("mode", "exact") != "exact":
            raise ValueError(
                f"the reference backend runs the exact (integer) mode only, not {options['mode']!r}"
            )
        self.check_options(options, ("mode",))


BACKEND = ReferenceBackend()
