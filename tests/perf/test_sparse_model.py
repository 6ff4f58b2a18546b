"""The sparse-image performance model (:mod:`edgedrnn.perf.sparse`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn import HardwareConfig
from edgedrnn.perf import Network, estimate, occupancy_counts, sparse

PAPER = Network.stacked(40, 768, 2)


def test_column_cycles():
    hw = HardwareConfig()  # 8 PEs, 64-bit bus: a slot is two beats
    assert sparse.column_cycles(hw, 6) == 36
    wide = HardwareConfig(num_pe=8, bus_bits=256)  # a beat holds two slots: PE-bound
    assert sparse.column_cycles(wide, 6) == 18
    assert sparse.column_cycles(HardwareConfig(num_pe=4, bus_bits=64), 5) == 15


@pytest.mark.parametrize("occ", [0.0, 0.03, 0.1, 1.0])
def test_dense_figures_are_the_rtl_model_unchanged(occ):
    s = sparse.sparse_step(PAPER, 0.9375, occupancy=occ)
    e = estimate(PAPER, occupancy=occ)
    assert np.array_equal(s.dense_cycles, e.cycles)
    assert np.array_equal(s.dense_latency, e.paced_latency)
    assert np.array_equal(s.dense_dram_bytes, e.dram_bytes)
    assert s.dense_step_dram_bytes == e.dense_dram_bytes


def test_paper_point_targets():
    s = sparse.sparse_step(PAPER, 15 / 16, occupancy=0.1)
    assert s.slots == [6, 6]
    assert float(s.cycles[0]) <= 12_500  # 100 µs at 125 MHz
    assert s.dram_reduction >= 50
    s8 = sparse.sparse_step(PAPER, 7 / 8, occupancy=0.1)
    assert s8.slots == [12, 12] and s8.cycles[0] > s.cycles[0]


def test_monotonic_in_sparsity_and_occupancy():
    gammas = [0.5, 0.75, 0.875, 0.9375]
    cyc = [sparse.sparse_step(PAPER, g, occupancy=0.1).cycles[0] for g in gammas]
    assert all(a > b for a, b in itertools.pairwise(cyc))
    occs = [0.01, 0.05, 0.1, 0.3]
    dram = [sparse.sparse_step(PAPER, 0.9375, occupancy=o).dram_bytes[0] for o in occs]
    assert all(a < b for a, b in itertools.pairwise(dram))


def test_dram_bytes_follow_the_compiled_layout():
    torch.manual_seed(0)
    model = edgedrnn.DeltaGRU(10, [24, 20], 2)
    hw = HardwareConfig(num_pe=4, sparse_weights=True)
    edgedrnn.prune(model, 0.7, hw)
    prog = edgedrnn.compile(model, hw)
    net = Network.from_program(prog)
    counts = np.array([[[3, 5], [2, 7]], [[1, 0], [0, 4]]])
    s = sparse.sparse_step(net, [lay.slots for lay in prog.layers], counts=counts, hw=hw)
    strides = np.array([lay.column_stride for lay in prog.layers])
    want = (counts.sum(axis=2) * strides).sum(axis=1).astype(float)
    want[0] += sum(lay.bias_stride for lay in prog.layers)
    assert np.array_equal(s.dram_bytes, want)
    assert s.slots == [lay.slots for lay in prog.layers]


def test_errors():
    with pytest.raises(ValueError, match="either counts or an occupancy"):
        sparse.sparse_step(PAPER, 0.5)
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        sparse.sparse_step(PAPER, 1.0, occupancy=0.1)
    with pytest.raises(ValueError, match="slots 97 outside"):
        sparse.sparse_step(PAPER, [97, 6], counts=occupancy_counts(PAPER, 0.1))
