"""The cycle model of the RTL (edgedrnn.perf.rtl) against the cycles measured in the simulator.

Two ways of offering the inputs: back to back (every x_in beat queued at once, so a step's
input waits before its hidden part ends) and paced (each step's input offered long after the
step before has ended, so the hidden part is off the latency path). The transport's
timestamps give each step's end and its first x_in offer; STEP_CYCLES and LATENCY (read in
the paced runs) must equal them.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn import HardwareConfig
from edgedrnn.backends.reference import ReferenceModel
from edgedrnn.host.amaranth_sim import AmaranthTransport
from edgedrnn.host.driver import EdgeDRNNDriver, pack_beats
from edgedrnn.hw import regmap
from edgedrnn.perf import rtl
from programs import random_program
from simulation import Stalls

#: Cycles between a step's end and the next step's input in the paced runs.
PACE = 400


def _timed(prog, x, tx, th, lat, paced):
    """Run through the driver's protocol; returns (nonzero, STEP_CYCLES and LATENCY from the
    timestamps, the same two from the registers (paced only))."""
    ref = ReferenceModel(prog)
    nz = []
    for t in range(x.shape[0]):
        ref.step(x[t], tx[t], th[t])
        nz.append(ref.last_nonzero.copy())
    steps, n_in = x.shape
    regs = []
    with AmaranthTransport(prog.hw, stalls=Stalls(mem_latency=lat)) as link:
        drv = EdgeDRNNDriver(link)
        drv.configure(prog, weight_base=0x1000)
        p = prog.hw.num_pe
        # record each step's offer and end (no frame: paced by hand)
        link.set_pacing(regmap.stream_beats(n_in, p))
        if drv.set_thresholds(tx[0], th[0]):
            drv.start(reset_state=True)
        if not paced:
            link.write_stream(np.concatenate([pack_beats(row, p) for row in x]))
        for t in range(steps):
            if paced:
                link.run(PACE)
                link.write_stream(pack_beats(x[t], p))
            if t + 1 < steps:
                drv.set_thresholds(tx[t + 1], th[t + 1])
            link.read_stream(regmap.stream_beats(prog.output_size, p))
            if paced:
                regs.append((drv.step_cycles(), drv.latency()))
        timing = link.step_timing()
    end, offer = timing.end, timing.offer
    cycles, latency = timing.cycles, timing.latency
    # x_in's offer relative to the previous step's end (the first step: paced, far after)
    offered = np.concatenate([[10**6], offer[1:] - end[:-1]])
    return np.array(nz), cycles, latency, np.array(regs).reshape(-1, 2), offered


CASES = [
    (8, 64, 8, [16, 16], 2),
    (4, 128, 5, [9, 3, 6], 6),
    (8, 64, 3, [40], 1),
    (8, 512, 8, [64, 16], 4),
    (8, 64, 16, [16, 16, 16], 10),
]


def _program(pe, bus, I, hs):
    hw = HardwareConfig(pe, bus, len(hs), max(I, 8), max(hs))
    rng = np.random.default_rng(pe + bus)
    prog = random_program(rng, [I, *hs], hw, wmax=10, wmin=-11)
    T = 6
    x = np.cumsum(rng.integers(-50, 50, size=(T, I)), axis=0)
    tx = np.array([[0] * len(hs)] * 2 + [[40] * len(hs)] * 2 + [[30000] * len(hs)] * 2)
    return hw, prog, x, tx


@pytest.mark.parametrize("pe,bus,I,hs,lat", CASES)
def test_model_matches_rtl_back_to_back(pe, bus, I, hs, lat):
    """STEP_CYCLES of the steps after the first, inputs queued: within the bounds, exact
    without columns (the first counts from x_in's first offer, which the model does not know)."""
    hw, prog, x, tx = _program(pe, bus, I, hs)
    nz, cycles, _, _, _ = _timed(prog, x, tx, tx.copy(), lat, paced=False)
    net = rtl.network(I, hs)
    lo, hi = rtl.step_cycle_bounds(net, nz, hw, from_reset=True, mem_latency=lat)
    for t in range(1, x.shape[0]):
        if nz[t].sum() == 0:
            assert cycles[t] == hi[t] == lo[t], t  # exact without columns
        else:
            assert lo[t] <= cycles[t] <= hi[t], (t, nz[t], lo[t], hi[t])


@pytest.mark.parametrize("pe,bus,I,hs,lat", CASES)
def test_model_matches_rtl_paced(pe, bus, I, hs, lat):
    """LATENCY and STEP_CYCLES of paced steps, x_in offered at the measured cycle after the
    step before: within the bounds, exact without columns (without input columns when the
    hidden part ends before x_in); the registers equal the timestamps."""
    hw, prog, x, tx = _program(pe, bus, I, hs)
    nz, cycles, latency, regs, offered = _timed(prog, x, tx, tx.copy(), lat, paced=True)
    np.testing.assert_array_equal(regs[:, 0], cycles)
    np.testing.assert_array_equal(regs[:, 1], latency)
    net = rtl.network(I, hs)
    kw = {"from_reset": True, "mem_latency": lat, "offer": offered}
    lo, hi = rtl.step_latency_bounds(net, nz, hw, **kw)
    clo, chi = rtl.step_cycle_bounds(net, nz, hw, **kw)
    for t in range(x.shape[0]):
        assert lo[t] <= latency[t] <= hi[t], (t, nz[t], lo[t], hi[t])
        if nz[t].sum() == 0:
            assert latency[t] == hi[t] == lo[t], t
        if t > 0:
            assert clo[t] <= cycles[t] <= chi[t], (t, nz[t], clo[t], chi[t])


@pytest.mark.parametrize("k,lat", [(0, 1), (7, 1), (7, 5)])
def test_one_column_reaches_a_bound(k, lat):
    """One passed input column, at x_k: the earliest (k = 0) or the latest (k = I - 1) issue
    the scan allows, so the measured latency equals the lower or the upper bound."""
    I, hs = 8, [16, 16]
    hw = HardwareConfig(8, 64, 2, 8, 16)
    prog = random_program(np.random.default_rng(1), [I, *hs], hw, wmax=10, wmin=-11)
    x = np.zeros((2, I), dtype=np.int64)
    x[1, k] = 2560
    big = 30000
    tx = np.array([[big, big], [1000, big]])
    nz, _, latency, _, _ = _timed(prog, x, tx, np.full_like(tx, big), lat, paced=True)
    assert nz[1].tolist() == [[1, 0], [0, 0]]
    net = rtl.network(I, hs)
    lo, hi = rtl.step_latency_bounds(net, nz, hw, from_reset=True, mem_latency=lat)
    assert latency[1] == (lo[1] if k == 0 else hi[1])
