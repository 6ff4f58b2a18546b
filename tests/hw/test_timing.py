"""The cycle model (edgedrnn.hw.timing) against STEP_CYCLES measured in the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn import HardwareConfig
from edgedrnn.hw.timing import step_cycles, step_cycles_min
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
    for t in range(T):
        cols = res.nonzero[t].sum(axis=1)
        kw = {"first_step": t == 0, "mem_latency": lat}
        hi = step_cycles(hw, I, hs, cols, **kw)
        lo = step_cycles_min(hw, I, hs, cols, **kw)
        if cols.sum() == 0 and t > 0:
            assert res.step_cycles[t] == hi == lo  # exact without columns
        else:
            assert lo <= res.step_cycles[t] <= hi, (t, cols, lo, res.step_cycles[t], hi)
