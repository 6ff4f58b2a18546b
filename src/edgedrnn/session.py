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

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backends import Stream, get_backend
from .datapath.inputs import check_input, layer_thresholds, quantize_input
from .program import Program


class Session:
    """Streaming execution of a :class:`Program`: :meth:`step` takes one input vector.

    Parameters
    ----------
    program : Program
        The compiled network.
    backend : str
        A backend that streams: ``"cpu"`` (Numba runtime) or ``"reference"`` (the integer
        golden model; slow, exact mode only). Others raise
        :class:`~edgedrnn.backends.StreamingUnsupportedError` (a ``ValueError``).
    mode : str
        ``"exact"`` (integers equal to the reference) or ``"float"`` (cpu only: float32
        delta GRU with the program's dequantized weights).
    theta_x, theta_h : float or sequence of float, optional
        Thresholds in real units (a float or one per layer); default the program's.
    **options
        Further options of the backend's stream.

    Inputs to :meth:`step` are float vectors (real values; in exact mode quantized with round
    half to even and saturation, with an :class:`~edgedrnn.InputClippedWarning` on clipping)
    or int16 vectors (raw Q8.8).

    Attributes
    ----------
    stream : Stream
        The backend's stream that holds the state.
    steps : int
        Steps run since the last reset.
    """

    def __init__(
        self,
        program: Program,
        backend: str = "cpu",
        mode: str = "exact",
        theta_x: float | Sequence[float] | None = None,
        theta_h: float | Sequence[float] | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(program, Program):
            raise TypeError(f"Session needs a Program, got {type(program).__name__}")
        program.validate()
        self.program = program
        self.backend = backend
        self.mode = mode
        self.input_size = program.input_size
        self.output_size = program.output_size
        self.stream: Stream = get_backend(backend).open_stream(program, mode=mode, **options)
        self._tx = list(program.theta_x_q)
        self._th = list(program.theta_h_q)
        self.steps = 0
        self.set_thresholds(theta_x, theta_h)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Start a new sequence: zero all layer state and the overflow flag.

        Thresholds are kept.
        """
        self.steps = 0
        self.stream.reset()

    def set_thresholds(
        self,
        theta_x: float | Sequence[float] | None = None,
        theta_h: float | Sequence[float] | None = None,
    ) -> None:
        """Change thresholds (real units, a float or one per layer) from the next step on."""
        layers = self.program.num_layers
        # validate both before changing either: a failed call changes nothing
        tx = self._tx if theta_x is None else layer_thresholds(theta_x, layers, "theta_x")
        th = self._th if theta_h is None else layer_thresholds(theta_h, layers, "theta_h")
        self.stream.set_thresholds(tx, th)
        self._tx, self._th = tx, th

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
        return self.stream.overflow

    @property
    def last_nonzero(self) -> np.ndarray:
        """Deltas passed on in the last step, int64 (L, 2): [:, 0] inputs, [:, 1] hidden."""
        return self.stream.nonzero

    # ------------------------------------------------------------------- step
    def _input(self, x: Any, step: bool) -> np.ndarray:
        """Validated input for the stream: raw Q8.8 for an exact one (``stacklevel`` of the
        clipping warning: the user's call of step, step_q or run)."""
        if self.stream.exact:
            return quantize_input(x, self.input_size, step=step, stacklevel=3)
        return check_input(x, self.input_size, step=step)

    def step(self, x: Any) -> np.ndarray:
        """Run one time step; returns the last layer's hidden state as float32 (H_last,).

        ``x``: float (I,) real values, or int16 (I,) raw Q8.8.
        """
        self.stream.step(self._input(x, step=True))
        self.steps += 1
        return self.stream.outputs.copy()

    def step_q(self, x: Any) -> np.ndarray:
        """Run one time step; returns the last layer's hidden state as raw Q8.8 int16.

        In float mode the float output is quantized (round half to even, saturate).
        """
        self.stream.step(self._input(x, step=True))
        self.steps += 1
        return self.stream.outputs_q.copy()

    def run(self, x: Any) -> np.ndarray:
        """Run a sequence (T, I) continuing the current state; float32 (T, H_last).

        The same as :meth:`step` on each row in turn, with the thresholds in effect, in one
        call of the backend.
        """
        x = self._input(x, step=False)
        steps = x.shape[0]
        tx = np.tile(np.asarray(self._tx, dtype=np.int64), (steps, 1))
        th = np.tile(np.asarray(self._th, dtype=np.int64), (steps, 1))
        result = self.stream.run(x, tx, th)
        self.steps += steps
        return result.outputs.astype(np.float32)

    def __repr__(self) -> str:
        return (
            f"Session({self.program!r}, backend={self.backend!r}, mode={self.mode!r}, "
            f"steps={self.steps})"
        )
