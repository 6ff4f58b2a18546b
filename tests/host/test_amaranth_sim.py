"""The Amaranth-simulator transport: the driver over the RTL top, and the bus checks."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn import HardwareConfig
from edgedrnn.backends.reference import run_program
from edgedrnn.host import EdgeDRNNDriver, Transport
from edgedrnn.host.amaranth_sim import AmaranthTransport, Stalls
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
    link.write_stream(np.zeros(2, dtype=np.int16))  # one beat short of a step
    with pytest.raises(SimError, match="h_out"):
        link.read_stream(5)
    assert link.x_pending == 0
    link.write_stream(np.zeros(1, dtype=np.int16))
    assert link.cancel_stream() == 1 and link.x_pending == 0
