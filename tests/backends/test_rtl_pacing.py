"""Pacing (``frame_cycles``) and the per-step latency and cycles the testbench measures.

``edgedrnn.run(program, x, backend="rtl", frame_cycles=N)`` offers step t's first x_in beat N
cycles after step t-1's; ``Result.latency[t]`` counts from that offer to the step's last h_out
beat accepted, ``Result.cycles[t]`` from the end of step t-1 to the end of step t, so that
they sum to the run's total.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import edgedrnn
from edgedrnn.datapath.inputs import quantize_input
from edgedrnn.host import EdgeDRNNDriver
from edgedrnn.host.verilator import VerilatorTransport
from edgedrnn.hw import regmap
from edgedrnn.perf.workload import seeded_program
from edgedrnn.sim.build import build_model
from edgedrnn.sim.verilated import VerilatedModel

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="needs Verilator")

# the instance of tests/perf/test_vs_rtl.py (one Verilator build, cached)
HW = edgedrnn.HardwareConfig(num_pe=8, max_layers=4, max_input_size=64, max_hidden_size=64)


def _inputs(steps: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    return rng.uniform(0.5, 2, n) * np.sin(
        2 * np.pi * rng.uniform(0.01, 0.08, n) * t + rng.uniform(0, 6, n)
    ) + rng.normal(0, 0.02, (steps, n))


def _alternating(steps: int, n: int) -> np.ndarray:
    """Every input changes every step (Θ = 0: every input column passed on every step)."""
    sign = np.where(np.arange(steps) % 2 == 0, 1.0, -1.0)[:, None]
    return sign * np.linspace(0.5, 1.5, n)[None, :]


@pytest.fixture(scope="module")
def program() -> edgedrnn.Program:
    return seeded_program(12, [16, 12], HW, 0.05)


def test_back_to_back_is_the_default_and_the_registers_are_the_testbench(program) -> None:
    """frame_cycles=0 is the default; the device's STEP_CYCLES and LATENCY registers (what
    Result.cycles and Result.latency report) equal the testbench's handshake timestamps."""
    x = _inputs(10, 12)
    default = edgedrnn.run(program, x, backend="rtl")
    zero = edgedrnn.run(program, x, backend="rtl", frame_cycles=0)
    assert default.same_as(zero)
    assert np.array_equal(default.cycles, zero.cycles)
    assert np.array_equal(default.latency, zero.latency)
    assert default.latency.dtype == np.int64 and default.latency.shape == (10,)

    xq = quantize_input(x, program.input_size)
    tx, th = (np.tile(t, (10, 1)) for t in (program.theta_x_q, program.theta_h_q))
    with VerilatedModel(build_model(HW)) as model:
        link = VerilatorTransport(model)
        driver = EdgeDRNNDriver(link)
        driver.configure(program, weight_base=0x10000)
        link.set_pacing(regmap.stream_beats(program.input_size, program.hw.num_pe), 0)
        out = driver.run(xq, tx, th)
        timing = link.step_timing()
    assert np.array_equal(timing.cycles, out.cycles)
    assert np.array_equal(timing.latency, out.latency)
    assert np.array_equal(default.cycles, out.cycles)
    assert default.cycles.sum() == timing.total
    # back to back the driver queues a step's input before the previous step ends (gap < 0):
    # its latency counts that wait too, its cycles do not
    gap = timing.offer[1:] - timing.end[:-1] - 1
    assert (gap < 0).all()
    assert np.array_equal(timing.cycles[1:], timing.latency[1:] + gap)


@pytest.mark.parametrize("frame", [1500, 4000])
def test_paced_latency_within_the_frame(program, frame) -> None:
    x = _inputs(12, 12, seed=1)
    ref = edgedrnn.run(program, x, backend="reference")
    back = edgedrnn.run(program, x, backend="rtl")
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=frame)
    assert paced.same_as(ref) and back.same_as(ref)
    lat, cyc = paced.latency, paced.cycles
    # paced, the hidden part of each step is done before its input arrives
    assert (lat[1:] <= back.latency[1:]).all()
    assert (lat < frame).all()
    # each step ends its latency after its offer, a frame after the previous step's
    assert cyc[0] == lat[0]
    assert np.array_equal(cyc[1:], frame + lat[1:] - lat[:-1])
    assert cyc.sum() == (len(x) - 1) * frame + lat[-1]


def test_paced_cycles_equal_the_frame_when_the_work_repeats() -> None:
    """Θ = 0 and inputs changing every step: a step that passes on the same deltas as the
    step before takes exactly one frame."""
    program = seeded_program(10, [16, 16], HW, 0.0)
    x = _alternating(12, 10)
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=2000)
    assert paced.same_as(edgedrnn.run(program, x, backend="reference"))
    assert paced.nonzero[:, 0, 0].min() == 10  # every input column, every step
    assert (paced.latency < 2000).all()
    repeat = (paced.nonzero[1:] == paced.nonzero[:-1]).all(axis=(1, 2))
    assert repeat.sum() >= 2
    assert (paced.cycles[1:][repeat] == 2000).all()


def test_frame_shorter_than_the_step_is_back_to_back(program) -> None:
    x = _inputs(8, 12, seed=2)
    back = edgedrnn.run(program, x, backend="rtl")
    short = edgedrnn.run(program, x, backend="rtl", frame_cycles=10)
    assert short.same_as(back)
    assert np.array_equal(short.cycles, back.cycles)
    # each input still waits for its step (it is queued before the step before ends), only
    # offered no earlier than back to back: the same cycles, latency no longer
    assert (short.latency <= back.latency).all()
    assert short.latency[0] == back.latency[0]


def test_pacing_under_stalls_is_bit_exact_and_sums(program) -> None:
    x = _inputs(10, 12, seed=4)
    ref = edgedrnn.run(program, x, backend="reference")
    opts = {"mem_latency": 7, "mem_stall": 0.3, "stream_stall": 0.3, "seed": 9}
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=3000, **opts)
    again = edgedrnn.run(program, x, backend="rtl", frame_cycles=3000, **opts)
    assert paced.same_as(ref)
    assert np.array_equal(paced.latency, again.latency)
    assert np.array_equal(paced.cycles, again.cycles)
    assert (paced.latency > 0).all() and (paced.latency < 3000).all()
    # random VALID gaps may delay an offer past its due cycle, never before it
    assert paced.cycles.sum() >= 9 * 3000 + paced.latency[-1]


def test_timeout_counts_beyond_the_frame(program) -> None:
    x = _inputs(3, 12, seed=5)
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=5000, timeout=3000)
    assert paced.same_as(edgedrnn.run(program, x, backend="reference"))
    assert paced.cycles[1:].sum() == 2 * 5000 + paced.latency[-1] - paced.latency[0]


def test_bad_frame_is_refused(program) -> None:
    with pytest.raises(ValueError, match="frame_cycles"):
        edgedrnn.run(program, _inputs(2, 12), backend="rtl", frame_cycles=-1)
