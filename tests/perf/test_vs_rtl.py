"""The RTL's cycle model (edgedrnn.perf.rtl) against the measured cycles (Verilator
co-simulation): the expected cycles through ``estimate``, and the bounds.

Small networks here (the instances of the rtl tests, so the Verilator builds are shared); the
benchmark networks (2L-16H/256H/768H at every Θ) are in benchmarks/perf_model.py and, behind
the slow marker, below.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

import edgedrnn
from edgedrnn.perf import Network, estimate
from edgedrnn.perf.rtl import step_cycle_bounds
from edgedrnn.perf.workload import seeded_program

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="needs Verilator")


def _hw(num_pe: int) -> edgedrnn.HardwareConfig:
    # the instances of tests/test_rtl_backend.py (one Verilator build each, cached)
    return edgedrnn.HardwareConfig(
        num_pe=num_pe, max_layers=4, max_input_size=64, max_hidden_size=64
    )


def _inputs(steps: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    return rng.uniform(0.5, 2, n) * np.sin(
        2 * np.pi * rng.uniform(0.01, 0.08, n) * t + rng.uniform(0, 6, n)
    ) + rng.normal(0, 0.02, (steps, n))


def _assert_within_bounds(program, res) -> None:
    # the co-simulation's memory answers without stalls, as the bounds assume
    lo, hi = step_cycle_bounds(Network.from_program(program), res.nonzero, program.hw)
    assert np.all((lo <= res.cycles) & (res.cycles <= hi)), (lo, res.cycles, hi)


@pytest.mark.parametrize("theta", [0.0, 0.1, 0.25])
def test_model_matches_rtl_2l16h(theta):
    program = seeded_program(40, [16, 16], _hw(8), theta)
    res = edgedrnn.run(program, _inputs(60, 40), backend="rtl")
    est = estimate(program, res)
    rtl = res.cycles.astype(np.float64)  # STEP_CYCLES, what the model counts
    assert abs(est.cycles.mean() - rtl.mean()) / rtl.mean() <= 0.02
    if theta == 0:
        # dense: fetch-bound and deterministic; every step after the first (which also
        # streams the bias columns) within 1%, the first within 2%
        assert np.all(np.abs(est.cycles - rtl)[1:] <= 0.01 * rtl[1:])
        assert abs(est.cycles[0] - rtl[0]) <= 0.02 * rtl[0]
    _assert_within_bounds(program, res)
    # the original design's model on the same counts is an independent, different number
    old = estimate(program, res, design="original")
    assert not np.allclose(old.cycles, est.cycles)


def test_model_matches_rtl_unequal_layers_narrow_bus():
    # 16 PEs on a 64-bit bus (two beats per chunk), three layers of different sizes
    program = seeded_program(12, [40, 24, 33], _hw(16), 0.05, seed=1)
    res = edgedrnn.run(program, _inputs(40, 12, seed=3), backend="rtl")
    est = estimate(program, res)
    rtl = res.cycles.astype(np.float64)  # STEP_CYCLES, what the model counts
    assert abs(est.cycles.mean() - rtl.mean()) / rtl.mean() <= 0.02
    _assert_within_bounds(program, res)


def _bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "perf_model.py"
    spec = importlib.util.spec_from_file_location("perf_model_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [16, 256, 768])
def test_model_within_2_percent_on_rtl_benchmark(hidden):
    """Every network and Θ of the rtl benchmark: mean error ≤ 2% on the cycles and on the
    latency, back to back and paced."""
    bench = _bench()
    name, h, steps, pe, bus = next(c for c in bench.CASES if c[1] == hidden)
    for theta in bench.THETAS:
        program, result, paced = bench.run_case(name, h, steps, pe, bus, theta)
        row = bench.compare(program, result, paced)
        for key in ("mean_error", "back_latency_error", "paced_latency_error"):
            assert abs(row[key]) <= 0.02, (name, theta, key, row)


@pytest.mark.parametrize("layers", [1, 2])
def test_wide_steps_without_columns_are_exact(layers) -> None:
    """64 hidden units on 4 PEs: 16 row groups of activation and h_out per layer, more than a
    reservation loop of the output side (OUT_RESERVATION_LOOP): the last layer still issues a
    row group per cycle, so steps without columns are exact, back to back and paced."""
    from edgedrnn.perf import rtl

    hw = _hw(4)
    program = seeded_program(8, [64] * layers, hw, 3.9)  # Θ near its maximum: no deltas
    x = 0.001 * _inputs(5, 8, seed=3)
    net = Network.from_program(program)
    back = edgedrnn.run(program, x, backend="rtl")
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=1500)
    assert not back.nonzero[1:].any()
    # (the first step after the reset runs in order or ahead as its input comes before or
    # after CHECK's decision, a matter of the host's STATUS polling after the reset's memory
    # clear; the step after it starts early or not accordingly: from the third step on every
    # step is back to back in order, as the model has them)
    np.testing.assert_array_equal(back.cycles[2:], rtl.step_cycles(net, back.nonzero, hw)[2:])
    # (the first step's input comes during its hidden part, which starts at the reset)
    want = rtl.step_latency(net, paced.nonzero, hw)
    np.testing.assert_array_equal(paced.latency[1:], want[1:])


@pytest.mark.parametrize(
    ("sizes", "sparsity", "theta"),
    [([16, 16], 0.875, 0.0), ([64, 64], 15 / 16, 0.1), ([33], 0.5, 0.05), ([64, 64], 0.0, 0.0)],
)
def test_sparse_model_matches_sparse_rtl(sizes, sparsity, theta):
    """perf.sparse against the sparse build (the build of tests/backends/test_rtl.py's
    sparse tests): as close as the dense model to the dense RTL (mean within 2 %; at Θ = 0
    every step after the first, which also streams the dense bias columns, within 1 %)."""
    from edgedrnn.perf import sparse

    hw = edgedrnn.HardwareConfig(
        num_pe=8, max_layers=4, max_input_size=128, max_hidden_size=128, sparse_weights=True
    )
    n_in = 40 if len(sizes) > 1 else 20
    program = seeded_program(n_in, sizes, hw, theta, sparsity=sparsity)
    res = edgedrnn.run(program, _inputs(40, n_in), backend="rtl")
    slots = [lay.slots for lay in program.layers]
    model = sparse.sparse_step(Network.from_program(program), slots, counts=res.nonzero, hw=hw)
    rtl = res.cycles.astype(np.float64)
    assert abs(model.cycles.mean() - rtl.mean()) / rtl.mean() <= 0.02
    if theta == 0:
        assert np.all(np.abs(model.cycles - rtl)[1:] <= 0.01 * rtl[1:])
        assert abs(model.cycles[0] - rtl[0]) <= 0.02 * rtl[0]
