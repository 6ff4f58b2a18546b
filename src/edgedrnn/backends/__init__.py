"""Backends: each runs a :class:`~edgedrnn.program.Program` to the same integers.

A backend is a :class:`Backend` object (:func:`get_backend` returns it by name). Every
backend runs whole sequences (:meth:`Backend.run`); a backend that can also run one step at a
time (for :class:`edgedrnn.session.Session`) opens a :class:`Stream` with
:meth:`Backend.open_stream`. Both take inputs that :mod:`edgedrnn.runner` has already
validated and quantized: raw Q8.8 int16 inputs and raw Q8.8 thresholds.

Options (keyword arguments of ``run`` and ``open_stream``) are backend-specific; each
backend module's docstring lists its own.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..program import Program
from ..result import Result

#: Backend name -> module that implements it (imported on first use); the module's
#: ``BACKEND`` is the :class:`Backend` object.
BACKENDS = {
    "reference": "edgedrnn.backends.reference",
    "torch": "edgedrnn.backends.torch_backend",
    "cpu": "edgedrnn.backends.cpu",
    "rtl": "edgedrnn.backends.rtl",
    "soc": "edgedrnn.backends.soc",
}


class StreamingUnsupportedError(ValueError):
    """The backend runs whole sequences only (it has no :meth:`Backend.open_stream`)."""


class Stream(ABC):
    """One sequence in progress on a backend, advanced one time step at a time.

    A stream owns its state; streams of one Program share its read-only weights. It starts
    from reset, with the program's thresholds.

    Attributes
    ----------
    program : Program
        The network being run.
    exact : bool
        True: the stream computes in integers and :meth:`step` takes raw Q8.8 int16 input.
        False: it computes in floating point and :meth:`step` also takes float real values.
    """

    program: Program
    exact: bool = True

    @abstractmethod
    def set_thresholds(self, theta_x_q: Sequence[int], theta_h_q: Sequence[int]) -> None:
        """Use per-layer raw Q8.8 thresholds from the next step on (kept by :meth:`reset`)."""

    @abstractmethod
    def step(self, x: np.ndarray) -> None:
        """Run one time step on a validated input vector (I,).

        Parameters
        ----------
        x : numpy.ndarray
            int16 raw Q8.8; for a stream that is not :attr:`exact`, also finite floats in
            real units.
        """

    @abstractmethod
    def reset(self) -> None:
        """Start a new sequence: zero every layer's state and the overflow flag."""

    def run(self, x: np.ndarray, theta_x_q: np.ndarray, theta_h_q: np.ndarray) -> Result:
        """Run a sequence continuing the current state, with thresholds per step.

        Parameters
        ----------
        x : numpy.ndarray
            Inputs (T, I), as for :meth:`step`.
        theta_x_q, theta_h_q : numpy.ndarray
            Raw Q8.8 thresholds per step and layer (T, L); the last step's stay in effect.

        Returns
        -------
        Result
            The steps' outputs and delta counts, and the overflow flag after them.
        """
        steps, program = x.shape[0], self.program
        out = np.zeros((steps, program.output_size), dtype=np.int16)
        nonzero = np.zeros((steps, program.num_layers, 2), dtype=np.int64)
        for t in range(steps):
            self.set_thresholds(theta_x_q[t], theta_h_q[t])
            self.step(x[t])
            out[t] = self.outputs_q
            nonzero[t] = self.nonzero
        return Result(outputs_q=out, nonzero=nonzero, overflow=self.overflow)

    @property
    @abstractmethod
    def outputs_q(self) -> np.ndarray:
        """The last step's output (the last layer's h) as raw Q8.8 int16 (H_last,).

        A stream that is not :attr:`exact` quantizes its float output (round half to even,
        saturated). The array may be the stream's own buffer: copy it to keep it.
        """

    @property
    @abstractmethod
    def outputs(self) -> np.ndarray:
        """The last step's output in real units, float32 (H_last,) (copy it to keep it)."""

    @property
    @abstractmethod
    def overflow(self) -> bool:
        """Sticky saturation flag since the last reset."""

    @property
    @abstractmethod
    def nonzero(self) -> np.ndarray:
        """Deltas passed on in the last step, int64 (L, 2): inputs ``[:, 0]``, hidden ``[:, 1]``."""


class Backend(ABC):
    """A way to run a Program: its whole-sequence run and, if it can, its streams."""

    #: The name the registry knows it by (``edgedrnn.run(..., backend=name)``).
    name: ClassVar[str]

    @abstractmethod
    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        **options: Any,
    ) -> Result:
        """Run a whole sequence from reset.

        Parameters
        ----------
        program : Program
            The compiled network.
        x_q : numpy.ndarray
            Raw Q8.8 inputs, int16 (T, I).
        theta_x_q, theta_h_q : numpy.ndarray
            Raw Q8.8 thresholds per step and layer, int64 (T, L).
        **options
            Backend-specific options (see the backend's module).

        Returns
        -------
        Result
            Outputs, delta counts and the overflow flag (and cycles where the backend
            counts them).
        """

    def check_options(self, options: Mapping[str, Any], known: Collection[str] = ()) -> None:
        """Refuse the options in ``options`` that this backend does not take.

        Parameters
        ----------
        options : Mapping
            The options a caller passed to :meth:`run` or :meth:`open_stream`.
        known : Collection of str
            The options this backend takes (none by default).

        Raises
        ------
        TypeError
            An option is not in ``known``; the message names it and the known ones.
        """
        unknown = sorted(set(options) - set(known))
        if not unknown:
            return
        if not known:
            raise TypeError(f"the {self.name} backend takes no options, got {unknown}")
        raise TypeError(f"unknown {self.name} backend option(s) {unknown}; known: {sorted(known)}")

    def open_stream(self, program: Program, **options: Any) -> Stream:
        """A new :class:`Stream` of ``program``, from reset.

        Raises
        ------
        StreamingUnsupportedError
            This backend runs whole sequences only.
        """
        raise StreamingUnsupportedError(
            f"the {self.name!r} backend runs whole sequences only (edgedrnn.run), it cannot "
            "stream one step at a time"
        )


def get_backend(name: str) -> Backend:
    """The :class:`Backend` called ``name`` (its module imported on first use)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    try:
        module = importlib.import_module(BACKENDS[name])
    except ModuleNotFoundError as exc:
        if exc.name == BACKENDS[name]:
            raise ValueError(f"backend {name!r} is not available in this build") from exc
        raise
    return module.BACKEND
