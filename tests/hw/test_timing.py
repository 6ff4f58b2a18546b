"""The cycle model of the RTL (edgedrnn.perf.rtl) against STEP_CYCLES measured in the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn import HardwareConfig
from edgedrnn.perf import rtl
from programs import random_program
from simulation import Stalls, simulate


@pytest.mark.parametrize(
    "pe,bus,I,hs,lat",
    [
        (8, 64, 8, [16, 16], 2),
        (4, 128, 5, [9, 3, 6], 6),
        (8, 64, 3, [40], 1),
        (8, 512, 8, [64, 16], 4),
        (8, 64, 16, [16, 16, 16], 10),
    ],
)
def test_model_matches_rtl(pe, bus, I, hs, lat):
    hw = HardwareConfig(pe, bus, len(hs), max(I, 8), max(hs))
    rng = np.random.default_rng(pe + bus)
    prog = random_program(rng, [I, *hs], hw, wmax=10, wmin=-11)
    T = 6
    x = np.cumsum(rng.integers(-50, 50, size=(T, I)), axis=0)
    tx = np.array([[0] * len(hs)] * 2 + [[40] * len(hs)] * 2 + [[30000] * len(hs)] * 2)
    res = simulate(prog, x, tx, tx.copy(), stalls=Stalls(mem_latency=lat))
    net = rtl.network(I, hs)
    lo, hi = rtl.step_cycle_bounds(net, res.nonzero, hw, from_reset=True, mem_latency=lat)
    for t in range(T):
        if res.nonzero[t].sum() == 0 and t > 0:
            assert res.step_cycles[t] == hi[t] == lo[t]  # exact without columns
        else:
            assert lo[t] <= res.step_cycles[t] <= hi[t], (t, res.nonzero[t], lo[t], hi[t])


@pytest.mark.parametrize("k,lat", [(0, 1), (7, 1), (7, 5)])
def test_one_column_reaches_a_bound(k, lat):
    """One passed input column, at x_k: the earliest (k = 0) or the latest (k = I - 1) issue
    the scan allows, so the measured step equals the lower or the upper bound."""
    I, hs = 8, [16, 16]
    hw = HardwareConfig(8, 64, 2, 8, 16)
    prog = random_program(np.random.default_rng(1), [I, *hs], hw, wmax=10, wmin=-11)
    x = np.zeros((2, I), dtype=np.int64)
    x[1, k] = 2560
    big = 30000
    tx = np.array([[big, big], [1000, big]])
    res = simulate(prog, x, tx, np.full_like(tx, big), stalls=Stalls(mem_latency=lat))
    assert res.nonzero[1].tolist() == [[1, 0], [0, 0]]
    net = rtl.network(I, hs)
    lo, hi = rtl.step_cycle_bounds(net, res.nonzero, hw, from_reset=True, mem_latency=lat)
    assert res.step_cycles[1] == (lo[1] if k == 0 else hi[1])
