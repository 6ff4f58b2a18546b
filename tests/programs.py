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
