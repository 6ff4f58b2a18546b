"""Random Programs for tests, built straight from int8 weights (no float model involved)."""

from __future__ import annotations

import itertools

import numpy as np

import edgedrnn
from edgedrnn.compiler import QuantizedLayer, build_program


def random_program(rng, sizes, hw=None, theta_x=0, theta_h=0, wmax=127, wmin=-128):
    """A Program with uniformly random int8 weights and biases in [wmin, wmax].

    ``sizes`` is [input size, hidden size of layer 0, ...]; ``hw`` defaults to
    ``HardwareConfig()``. Per layer, ``rng`` draws the bias (4, H) first, then the weight
    columns in image order (column k holds the 3 gate rows of x_k for k < I, of h_{k-I}
    after), so the network a seed gives does not depend on the hardware's layout.
    """
    layers = []
    for n_in, h in itertools.pairwise(sizes):
        bias = rng.integers(wmin, wmax + 1, (4, h))
        cols = rng.integers(wmin, wmax + 1, (n_in + h, 3 * h))  # one row per column
        layers.append(
            QuantizedLayer(
                w_ih=cols[:n_in].T.astype(np.int8),
                w_hh=cols[n_in:].T.astype(np.int8),
                bias=bias.astype(np.int8),
                clipped_weights=0,
                clipped_biases=0,
            )
        )
    n = len(layers)
    return build_program(layers, hw or edgedrnn.HardwareConfig(), [theta_x] * n, [theta_h] * n)


def assert_same(a: edgedrnn.Result, b: edgedrnn.Result) -> None:
    np.testing.assert_array_equal(a.outputs_q, b.outputs_q)
    np.testing.assert_array_equal(a.nonzero, b.nonzero)
    assert a.overflow == b.overflow


def order_sensitive_program(hw: edgedrnn.HardwareConfig, hidden: int, sign: int, u_weight: int = 0):
    """A single-layer Program and raw inputs (4, 3) where the column order of a step matters
    (docs/datapath.md §5): a bank saturates at step 1, the hidden columns of step 2 push it
    further and its input columns bring it back. Three inputs, ``hidden`` neurons: w_ih =
    sign·127 on the r and n rows, w_hh = +127 on the r and n rows (opposite-signed for
    sign = -1), u rows ``u_weight`` (non-zero: every weight is, as a sparse image needs)
    and biases 0."""
    n_in = 3
    h = hidden
    w_ih = np.zeros((3 * h, n_in), dtype=np.int8)
    w_hh = np.zeros((3 * h, h), dtype=np.int8)
    w_ih[:h] = w_ih[2 * h :] = sign * 127
    w_hh[:h] = w_hh[2 * h :] = 127
    w_ih[h : 2 * h] = w_hh[h : 2 * h] = u_weight
    layer = QuantizedLayer(
        w_ih=w_ih, w_hh=w_hh, bias=np.zeros((4, h), np.int8), clipped_weights=0, clipped_biases=0
    )
    prog = build_program([layer], hw, [0], [0])
    # step 1 saturates M_r and M_cx; step 2 brings them back to a few units, hidden first
    back = 32767 - (2**23 - 1 - 2 * 127 * 32767) // 127
    x = np.array([[0, 0, 0], [32767] * 3, [0, 0, back], [0, 0, back]], dtype=np.int64)
    return prog, x
