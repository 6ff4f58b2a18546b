"""The column order of datapath.md §5 in tests: a model with either order, and nets where it
shows.

Version 2 of the contract adds a step's columns bias first, then the passed hidden columns,
then the passed input columns; version 1 added the input columns before the hidden ones.
The two differ only when a bank saturates during a step and comes back within it.
:func:`ordered_model` is a plain column-by-column model of the datapath (written from the
contract, independent of the backends) with either order, so a test can show that a case is
order-sensitive (v1 != v2) before it checks that every backend gives the v2 integers.
"""

from __future__ import annotations

import numpy as np

import edgedrnn
from edgedrnn import fixedpoint as fp
from edgedrnn.compiler import QuantizedLayer, build_program

ACC_MAX = (1 << 23) - 1


class _Clipper:
    """Saturation that remembers whether anything clipped (the sticky overflow flag)."""

    def __init__(self) -> None:
        self.overflow = False

    def __call__(self, v, lo: int = -32768, hi: int = 32767) -> np.ndarray:
        v = np.asarray(v, dtype=np.int64)
        self.overflow |= bool(np.any((v < lo) | (v > hi)))
        return np.clip(v, lo, hi)


def _encode(clip: _Clipper, values, ref, theta: int) -> list[tuple[int, int]]:
    """(j, Δ) of the passed elements in ascending j; moves ``ref``."""
    passed = []
    for j, v in enumerate(values):
        d = int(clip(v - ref[j]))
        if d != 0 and abs(d) >= theta:
            ref[j] += d
            passed.append((j, d))
    return passed


def _add(clip: _Clipper, acc, column, d: int, banks) -> None:
    """One column times Δ into its banks (a block of H rows each), saturated afterwards."""
    h = acc.shape[1]
    for block, bank in enumerate(banks):
        rows = column[block * h : (block + 1) * h].astype(np.int64)
        acc[bank] = clip(acc[bank] + rows * d, -ACC_MAX, ACC_MAX)


def ordered_model(program, x_q, theta_x_q, theta_h_q, hidden_first: bool) -> edgedrnn.Result:
    """Run ``program`` on raw Q8.8 ``x_q`` (T, I), thresholds raw Q8.8 (T, L), column by
    column with the accumulators saturated after every column.

    ``hidden_first=True`` is contract version 2 (bias, hidden, inputs); ``False`` is
    version 1 (bias, inputs, hidden). Banks are (M_r, M_u, M_cx, M_ch).
    """
    clip = _Clipper()
    weights = [program.layer_weights(k) for k in range(program.num_layers)]
    state = []
    for w in weights:
        n_in, h = w.w_ih.shape[1], w.w_hh.shape[1]
        state.append(
            {
                "x_hat": np.zeros(n_in, np.int64),
                "h_hat": np.zeros(h, np.int64),
                "h": np.zeros(h, np.int64),
                "acc": np.zeros((4, h), np.int64),
                "bias": False,
            }
        )
    steps = x_q.shape[0]
    out = np.zeros((steps, program.output_size), dtype=np.int16)
    nz = np.zeros((steps, program.num_layers, 2), dtype=np.int64)
    for t in range(steps):
        inp = np.asarray(x_q[t], dtype=np.int64)
        for k, (w, s) in enumerate(zip(weights, state, strict=True)):
            acc = s["acc"]
            xs = _encode(clip, inp, s["x_hat"], int(theta_x_q[t, k]))
            hs = _encode(clip, s["h"], s["h_hat"], int(theta_h_q[t, k]))
            nz[t, k] = (len(xs), len(hs))
            if not s["bias"]:
                _add(clip, acc, w.bias.reshape(-1), 256, (0, 1, 2, 3))
                s["bias"] = True
            cols_x = [(w.w_ih[:, j], d, (0, 1, 2)) for j, d in xs]
            cols_h = [(w.w_hh[:, j], d, (0, 1, 3)) for j, d in hs]
            for column, d, banks in cols_h + cols_x if hidden_first else cols_x + cols_h:
                _add(clip, acc, column, d, banks)
            r = fp.sig(clip(fp.rne(acc[0], 7))).astype(np.int64)
            u = fp.sig(clip(fp.rne(acc[1], 7))).astype(np.int64)
            q = clip(fp.rne(acc[3], 7))
            c = fp.tanh(clip(fp.rne(r * q + 2 * acc[2], 8))).astype(np.int64)
            s["h"] = clip(fp.rne((256 - u) * c, 8) + fp.rne(u * s["h"], 8))
            inp = s["h"]
        out[t] = inp
    return edgedrnn.Result(outputs_q=out, nonzero=nz, overflow=clip.overflow)


def hand_case():
    """A one-neuron net and two steps where the orders differ (H = 1, I = 3).

    Input weights are +127 on rows r and u and -127 on row n, hidden weights -128, biases 0.
    Step 0, x = -32768 everywhere: M_r and M_u clamp at -(2^23 - 1), M_cx at +(2^23 - 1);
    u = 0 and c = 256, so h = 256. Step 1, x = (-1, -1, -32768): the hidden delta +256 adds
    -32768 to M_u and the two input deltas +32767 add 2 · 127 · 32767 = 8322818. Version 2
    adds the hidden column to a bank already at the limit (clamped: nothing changes), then
    the inputs: M_u = -65789, u = SIG(-514) = 32 and h = 242. Version 1 adds the inputs
    first, then the hidden column: M_u = -98557, u = SIG(-770) = 16 and h = 241.
    """
    w_ih = np.array([[127] * 3, [127] * 3, [-127] * 3], dtype=np.int8)
    w_hh = np.full((3, 1), -128, dtype=np.int8)
    layer = QuantizedLayer(
        w_ih=w_ih, w_hh=w_hh, bias=np.zeros((4, 1), np.int8), clipped_weights=0, clipped_biases=0
    )
    prog = build_program([layer], edgedrnn.HardwareConfig(), [0], [0])
    x = np.array([[-32768] * 3, [-1, -1, -32768]], dtype=np.int16)
    return prog, x


def swing_program(rng, input_size: int, hidden_size: int, theta_x: int = 0, theta_h: int = 0):
    """A one-layer Program made for bank saturation that comes back within a step.

    Every row's input weights are all +127 or all -127, so two saturated input deltas move a
    bank by almost its whole range: a bank clamped at one limit comes back near zero, where
    the gates are sensitive. Hidden weights are large (|w| >= 64) with random signs, so a
    hidden column often pushes a clamped bank further into its limit first (lost in
    version 2, kept in version 1).
    """
    h3 = 3 * hidden_size
    w_ih = rng.choice([-127, 127], (h3, 1)) * np.ones((1, input_size), np.int64)
    w_hh = rng.choice([-1, 1], (h3, hidden_size)) * rng.integers(64, 128, (h3, hidden_size))
    layer = QuantizedLayer(
        w_ih=w_ih.astype(np.int8),
        w_hh=w_hh.astype(np.int8),
        bias=rng.integers(-128, 128, (4, hidden_size)).astype(np.int8),
        clipped_weights=0,
        clipped_biases=0,
    )
    return build_program([layer], edgedrnn.HardwareConfig(), [theta_x], [theta_h])


def swing_inputs(rng, steps: int, input_size: int) -> np.ndarray:
    """Raw Q8.8 inputs (T, I) that swing together between the int16 limits and -1 or 0
    (a delta of ±32767 or saturated), with some elements going their own way."""
    levels = np.array([-32768, -1, 0, 32767])
    x = np.repeat(rng.choice(levels, (steps, 1)), input_size, axis=1)
    own = rng.random((steps, input_size)) < 0.3
    x[own] = rng.choice(levels, int(own.sum()))
    return x.astype(np.int16)


def swing_case(seed: int, input_size: int, hidden_size: int, steps: int, theta_h: int = 0):
    """(program, x) of :func:`swing_program` and :func:`swing_inputs` from one seed."""
    rng = np.random.default_rng(seed)
    prog = swing_program(rng, input_size, hidden_size, theta_h=theta_h)
    return prog, swing_inputs(rng, steps, input_size)


def program_thresholds(program, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The program's raw Q8.8 thresholds (Θx, Θh), each (T, L)."""
    shape = (steps, program.num_layers)
    return (
        np.broadcast_to(np.asarray(program.theta_x_q, dtype=np.int64), shape),
        np.broadcast_to(np.asarray(program.theta_h_q, dtype=np.int64), shape),
    )


#: Fixed cases where version 1 and version 2 give different outputs (the tests check that
#: they do): the hand-made one, small ones, and wide ones (several 64-row blocks and groups
#: of 16 columns in the cpu kernels before a column that may saturate).
ORDER_CASES = {
    "hand": hand_case,
    "3x3": lambda: swing_case(11, 3, 3, 10),
    "6x8-theta": lambda: swing_case(7, 6, 8, 10, theta_h=40),
    "34x62": lambda: swing_case(12, 34, 62, 6),
    "70x90": lambda: swing_case(32, 70, 90, 6),
}
