"""Random column-balanced sparse Programs for tests, built from int8 weights."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

import edgedrnn
from edgedrnn.compiler import QuantizedLayer, build_program
from edgedrnn.sparse.image import lane_rows


def balanced_weights(rng, hidden, cols, num_pe, slots, wmax=127, wmin=-128) -> np.ndarray:
    """int8 (3H, cols): in every (column, gate, lane) ``min(slots, real rows)`` non-zeros at
    random rows, values uniform in [wmin, wmax] without 0."""
    rows = -(-hidden // num_pe) * num_pe
    real = lane_rows(hidden, num_pe)
    w = np.zeros((cols, 3, rows), dtype=np.int64)
    for k in range(num_pe):
        have = int(real[k])
        keep = min(slots, have)
        if keep == 0:
            continue
        # per (column, gate): a random subset of the lane's rows (argsort of random keys)
        pick = np.argsort(rng.random((cols, 3, have)), axis=-1)[..., :keep] * num_pe + k
        vals = rng.integers(wmin, wmax, (cols, 3, keep), endpoint=True)
        vals[vals == 0] = 1
        np.put_along_axis(w, pick, vals, axis=-1)
    return w[:, :, :hidden].reshape(cols, 3 * hidden).T.astype(np.int8)


def sparse_layers(rng, sizes, num_pe, slots_of, wmax=127, wmin=-128) -> list[QuantizedLayer]:
    """Balanced layers for ``sizes`` [I, H0, H1, ...]; ``slots_of(H)`` gives each layer's n."""
    layers = []
    for n_in, h in itertools.pairwise(sizes):
        w = balanced_weights(rng, h, n_in + h, num_pe, slots_of(h), wmax, wmin)
        bias = rng.integers(wmin, wmax, (4, h), endpoint=True).astype(np.int8)
        layers.append(
            QuantizedLayer(
                w_ih=np.ascontiguousarray(w[:, :n_in]),
                w_hh=np.ascontiguousarray(w[:, n_in:]),
                bias=bias,
                clipped_weights=0,
                clipped_biases=0,
            )
        )
    return layers


def sparse_and_dense(layers, hw: edgedrnn.HardwareConfig, theta_x=0, theta_h=0):
    """The same layers compiled with a sparse image (``hw``) and a dense one."""
    n = len(layers)
    tx, th = [theta_x] * n, [theta_h] * n
    sparse = build_program(layers, dataclasses.replace(hw, sparse_weights=True), tx, th)
    dense = build_program(layers, dataclasses.replace(hw, sparse_weights=False), tx, th)
    return sparse, dense
