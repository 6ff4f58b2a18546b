"""The integer golden model: docs/datapath.md §4-7, written for clarity, not speed.

Every backend (reference, torch, cpu, rtl) and the device emulator produce exactly these
integers. The code follows the contract step by step; it reads its weights back out of the
Program's weight image.

Streaming use::

    model = ReferenceModel(program)
    for x_t in x_q:                   # int16 (I,) raw Q8.8
        h_t = model.step(x_t)         # int64 (H_last,)
    model.overflow, model.last_nonzero
"""

from __future__ import annotations

import numpy as np

from .. import fixedpoint as fp
from ..program import LayerWeights, Program

R, U, CX, CH = 0, 1, 2, 3  # accumulator banks


class LayerState:
    """State of one layer (datapath.md §4); reset to zero at the start of a sequence."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        self.x_hat = np.zeros(input_size, dtype=np.int64)
        self.h_hat = np.zeros(hidden_size, dtype=np.int64)
        self.h = np.zeros(hidden_size, dtype=np.int64)
        self.acc = np.zeros((4, hidden_size), dtype=np.int64)
        self.bias_sent = False


class ReferenceModel:
    """Step-by-step integer model of an EdgeDRNN Program."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.weights: list[LayerWeights] = [
            program.layer_weights(i) for i in range(program.num_layers)
        ]
        self.reset()

    def reset(self) -> None:
        """Zero every layer's state and the overflow flag (start of a new sequence)."""
        self.layers = [LayerState(lay.input_size, lay.hidden_size) for lay in self.program.layers]
        self.overflow = False
        self.last_nonzero = np.zeros((self.program.num_layers, 2), dtype=np.int64)

    # ---------------------------------------------------------------- helpers
    def _sat16(self, v: np.ndarray) -> np.ndarray:
        out, clipped = fp.sat16(v)
        self.overflow |= clipped
        return out

    def _sat24(self, v: np.ndarray) -> np.ndarray:
        out, clipped = fp.sat24(v)
        self.overflow |= clipped
        return out

    def _encode(self, values: np.ndarray, ref: np.ndarray, theta: int) -> list[tuple[int, int]]:
        """Delta encoding of one vector: (index, Δ) pairs passed on; moves ``ref`` in place."""
        passed = []
        for j in range(values.shape[0]):
            delta = int(self._sat16(values[j] - ref[j]))
            if delta != 0 and abs(delta) >= theta:
                ref[j] += delta
                passed.append((j, delta))
        return passed

    def _accumulate(self, st: LayerState, column: np.ndarray, delta: int, banks: tuple) -> None:
        """Add one weight column times Δ to the banks it feeds, saturating afterwards."""
        h = st.h.shape[0]
        for block, bank in enumerate(banks):
            rows = column[block * h : (block + 1) * h].astype(np.int64)
            st.acc[bank] = self._sat24(st.acc[bank] + rows * delta)

    # ------------------------------------------------------------------- step
    def _layer_step(self, i: int, inp: np.ndarray, theta_x: int, theta_h: int) -> np.ndarray:
        st, w = self.layers[i], self.weights[i]
        # Accumulation order (datapath.md §5, v2): bias, hidden ascending (previous step's
        # h), inputs ascending.
        x_passed = self._encode(inp, st.x_hat, theta_x)
        h_passed = self._encode(st.h, st.h_hat, theta_h)
        if not st.bias_sent:
            self._accumulate(st, w.bias.reshape(-1), fp.ONE_Q88, (R, U, CX, CH))
            st.bias_sent = True
        for j, delta in h_passed:
            self._accumulate(st, w.w_hh[:, j], delta, (R, U, CH))
        for j, delta in x_passed:
            self._accumulate(st, w.w_ih[:, j], delta, (R, U, CX))
        self.last_nonzero[i] = (len(x_passed), len(h_passed))

        # Activation (datapath.md §5).
        r = fp.sig(self._sat16(fp.rne(st.acc[R], 7)))
        u = fp.sig(self._sat16(fp.rne(st.acc[U], 7)))
        q = self._sat16(fp.rne(st.acc[CH], 7))
        s = r * q + 2 * st.acc[CX]
        c = fp.tanh(self._sat16(fp.rne(s, 8)))
        st.h = self._sat16(fp.rne((256 - u) * c, 8) + fp.rne(u * st.h, 8))
        return st.h

    def step(
        self, x_q: np.ndarray, theta_x_q: np.ndarray | None = None, theta_h_q=None
    ) -> np.ndarray:
        """Run one time step on raw Q8.8 input ``x_q`` (I,); returns the last layer's h.

        ``theta_x_q``/``theta_h_q`` are per-layer raw Q8.8 thresholds (default: the
        program's).
        """
        tx = self.program.theta_x_q if theta_x_q is None else theta_x_q
        th = self.program.theta_h_q if theta_h_q is None else theta_h_q
        inp = np.asarray(x_q, dtype=np.int64)
        for i in range(self.program.num_layers):
            inp = self._layer_step(i, inp, int(tx[i]), int(th[i]))
        return inp.copy()
