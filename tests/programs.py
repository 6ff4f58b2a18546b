"""Random Programs for tests, built straight from int8 weights (no float model involved)."""

from __future__ import annotations

import numpy as np

import edgedrnn
from edgedrnn.compiler import QuantizedLayer, build_program


def random_program(rng, sizes, hw=None, theta_x=0, theta_h=0, wmax=127, wmin=-128):
    """A Program with uniformly random int8 weights and biases in [wmin, wmax]."""
    layers = []
    for i, h in enumerate(sizes[1:]):
        n_in = sizes[i]
        layers.append(
            QuantizedLayer(
                w_ih=rng.integers(wmin, wmax + 1, (3 * h, n_in)).astype(np.int8),
                w_hh=rng.integers(wmin, wmax + 1, (3 * h, h)).astype(np.int8),
                bias=rng.integers(wmin, wmax + 1, (4, h)).astype(np.int8),
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
