"""The Amaranth-simulator transport: the driver over the RTL top, and the bus checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgedrnn import HardwareConfig
from edgedrnn.backends.reference import run_program
from edgedrnn.host import EdgeDRNNDriver, Transport
from edgedrnn.host.amaranth_sim import AmaranthTransport, Stalls
from edgedrnn.hw import regmap
from edgedrnn.sim.verilated import SimError
from programs import random_program

HW = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_input_size=8, max_hidden_size=8)


def test_is_a_transport_and_the_driver_identifies_the_design():
    link = AmaranthTransport(HW)
    assert isinstance(link, Transport)
    info = EdgeDRNNDriver(link).info
    assert (info.num_pe, info.bus_bits, info.max_layers) == (4, 64, 2)
    assert info.max_input_size >= 8 and info.max_hidden_size >= 8
    assert link.cycles > 0 and not link.bursts


def test_driver_run_equals_reference_under_stalls():
    rng = np.random.default_rng(5)
    prog = random_program(rng, [3, 5, 4], HW, theta_x=6, theta_h=9, wmax=40, wmin=-41)
    x = rng.integers(-300, 300, size=(3, 3)).astype(np.int16)
    link = AmaranthTransport(HW, stalls=Stalls(0.3, 0.3, 0.3, 0.3, mem_latency=4, seed=5))
    driver = EdgeDRNNDriver(link)
    driver.configure(prog, weight_base=0x2000)
    got = driver.run(x)
    tx, th = (np.tile(t, (3, 1)) for t in (prog.theta_x_q, prog.theta_h_q))
    want = run_program(prog, x, tx, th)
    np.testing.assert_array_equal(got.outputs_q, want.outputs_q)
    np.testing.assert_array_equal(got.nonzero, want.nonzero)
    assert got.overflow == want.overflow
    assert (got.cycles > 0).all()
    assert all(0x2000 <= a < 0x2000 + len(prog.weight_image) for a, _ in link.bursts)


def test_burst_into_unwritten_memory_is_refused():
    prog = random_program(np.random.default_rng(0), [3, 5], HW)
    driver = EdgeDRNNDriver(AmaranthTransport(HW))
    driver.configure(prog, weight_base=0x1000, load_weights=False)
    with pytest.raises(SimError, match="never written"):
        driver.step(np.zeros(3, dtype=np.int16))


def test_stream_read_times_out_without_input():
    prog = random_program(np.random.default_rng(0), [3, 5], HW)
    link = AmaranthTransport(HW, timeout=300)
    EdgeDRNNDriver(link).configure(prog)
    link.write_stream(np.zeros((0, 4), dtype=np.int16))  # nothing: no step can run
    with pytest.raises(SimError, match="h_out"):
        link.read_stream(2)
    assert link.x_pending == 0
    link.write_stream(np.zeros((1, 4), dtype=np.int16))
    assert link.cancel_stream() == 1 and link.x_pending == 0


def _timed_run(link, prog, x, frame):
    driver = EdgeDRNNDriver(link)
    driver.configure(prog, weight_base=0x2000)
    link.set_pacing(regmap.stream_beats(prog.input_size, prog.hw.num_pe), frame)
    out = driver.run(x)
    return out, link.step_timing()


@pytest.mark.parametrize("frame", [0, 400])
def test_pacing_and_step_timing(frame):
    rng = np.random.default_rng(2)
    prog = random_program(rng, [3, 5, 4], HW, theta_x=6, theta_h=9, wmax=40, wmin=-41)
    x = rng.integers(-300, 300, size=(4, 3)).astype(np.int16)
    out, timing = _timed_run(AmaranthTransport(HW), prog, x, frame)
    tx, th = (np.tile(t, (4, 1)) for t in (prog.theta_x_q, prog.theta_h_q))
    want = run_program(prog, x, tx, th)
    np.testing.assert_array_equal(out.outputs_q, want.outputs_q)
    assert timing.steps == 4
    lat, cyc = timing.latency, timing.cycles
    # the device's own counters (STEP_CYCLES, LATENCY) equal the testbench's handshakes
    np.testing.assert_array_equal(cyc, out.cycles)
    np.testing.assert_array_equal(lat, out.latency)
    assert cyc.sum() == timing.total
    if frame:
        assert (lat < frame).all()
        np.testing.assert_array_equal(np.diff(timing.offer), frame)
        np.testing.assert_array_equal(cyc[1:], frame + lat[1:] - lat[:-1])
    else:
        # back to back the driver queues a step's input before the previous step ends (gap
        # < 0): its latency counts that wait too, its cycles do not
        gap = timing.offer[1:] - timing.end[:-1] - 1
        assert (gap < 0).all()
        np.testing.assert_array_equal(cyc[1:], lat[1:] + gap)


@pytest.mark.skipif(shutil.which("verilator") is None, reason="needs Verilator")
@pytest.mark.parametrize("frame", [0, 400])
def test_latency_and_cycles_equal_the_verilator_testbench(frame):
    from edgedrnn.host.verilator import VerilatorTransport

    rng = np.random.default_rng(3)
    prog = random_program(rng, [3, 5, 4], HW, theta_x=6, theta_h=9, wmax=40, wmin=-41)
    x = rng.integers(-300, 300, size=(3, 3)).astype(np.int16)
    _, amaranth = _timed_run(AmaranthTransport(HW, stalls=Stalls(mem_latency=1)), prog, x, frame)
    link = VerilatorTransport.for_hardware(HW, mem_latency=1)
    try:
        _, verilator = _timed_run(link, prog, x, frame)
    finally:
        link.close()
    np.testing.assert_array_equal(amaranth.latency, verilator.latency)
    np.testing.assert_array_equal(amaranth.cycles, verilator.cycles)
    np.testing.assert_array_equal(
        amaranth.offer - amaranth.offer[0], verilator.offer - verilator.offer[0]
    )
