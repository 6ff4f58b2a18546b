"""The RTL top level in the Amaranth simulator, run by the host driver, against the integer
reference model.

Random tiny networks (random int8 weights), random Θ changing between steps, saturating
inputs, random stalls on every bus. Outputs, per-step nonzero counts and the overflow flag
must equal :class:`edgedrnn.backends.reference.ReferenceModel` exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.back import verilog

from edgedrnn import HardwareConfig
from edgedrnn.backends.reference import ReferenceModel
from edgedrnn.hw import regmap
from edgedrnn.hw.pipeline import CHECK_CYCLES
from edgedrnn.hw.top import EdgeDRNN
from programs import random_program
from simulation import Stalls, simulate


def _reference(prog, x, tx, th):
    ref = ReferenceModel(prog)
    outs, nz = [], []
    for t in range(x.shape[0]):
        outs.append(ref.step(x[t], tx[t], th[t]))
        nz.append(ref.last_nonzero.copy())
    return np.array(outs), np.array(nz), ref.overflow


def _check(hw, input_size, hidden, steps, seed, stalls, *, wmax=127, xmax=600, theta_max=80):
    rng = np.random.default_rng(seed)
    prog = random_program(rng, [input_size, *hidden], hw, wmax=wmax, wmin=-wmax - 1)
    L = len(hidden)
    x = rng.integers(-xmax, xmax + 1, size=(steps, input_size))
    # hold some inputs so that thresholds matter, and change Θ mid-sequence
    x[1::3] = x[0::3][: x[1::3].shape[0]]
    tx = rng.integers(0, theta_max + 1, size=(steps, L))
    th = rng.integers(0, theta_max + 1, size=(steps, L))
    tx[: steps // 2] = tx[0]
    th[: steps // 2] = th[0]
    out, nz, ovf = _reference(prog, x, tx, th)
    res = simulate(prog, x, tx, th, stalls=stalls)
    np.testing.assert_array_equal(res.outputs, out)
    np.testing.assert_array_equal(res.nonzero, nz)
    assert bool(res.status & regmap.STATUS_OVERFLOW) == ovf
    assert res.step_count == steps
    assert not res.status & regmap.STATUS_ERROR
    assert res.status & regmap.STATUS_RUNNING
    assert not res.status & regmap.STATUS_BUSY
    return res, ovf


CONFIGS = [
    # (hw, input size, hidden sizes)
    (HardwareConfig(4, 64, 2, 8, 8), 3, [5, 5]),
    (HardwareConfig(4, 128, 3, 8, 12), 5, [9, 3, 6]),  # unequal H, 4 chunks per beat
    (HardwareConfig(16, 64, 2, 8, 20), 4, [17, 6]),  # narrow bus: 2 beats per chunk
]


@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
def test_top_matches_reference(cfg):
    hw, i, hs = CONFIGS[cfg]
    stalls = Stalls(x_gap=0.3, h_backpressure=0.4, ar_stall=0.3, r_gap=0.3, mem_latency=3, seed=cfg)
    _check(hw, i, hs, steps=6, seed=cfg, stalls=stalls, wmax=30)


def test_top_saturation_sets_overflow():
    hw, i, hs = CONFIGS[0]
    # big weights and inputs saturate accumulators and activations
    _, ovf = _check(hw, i, hs, steps=4, seed=7, stalls=Stalls(seed=7), xmax=32767, theta_max=0)
    assert ovf  # the test exercises saturation


def test_top_no_overflow_on_small_data():
    hw, i, hs = CONFIGS[0]
    _, ovf = _check(hw, i, hs, steps=3, seed=3, stalls=Stalls(seed=3), wmax=8, xmax=64)
    assert not ovf


def test_top_converts_to_verilog():
    hw = HardwareConfig(num_pe=8, bus_bits=64, max_layers=2, max_input_size=16, max_hidden_size=16)
    text = verilog.convert(EdgeDRNN(hw), name="edgedrnn_top")
    for port in ("csr__awaddr", "mem__araddr", "x_in__payload", "h_out__payload", "clk", "rst"):
        assert port in text


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_top_long_random(seed):
    rng = np.random.default_rng(100 + seed)
    pe = int(rng.choice([4, 8, 16]))
    bus = int(rng.choice([64, 128, 256]))
    L = int(rng.integers(1, 4))
    hs = [int(h) for h in rng.integers(1, 20, size=L)]
    i = int(rng.integers(1, 12))
    hw = HardwareConfig(pe, bus, L, 12, 20)
    st = Stalls(0.3, 0.3, 0.3, 0.3, int(rng.integers(0, 8)), seed)
    _check(hw, i, hs, steps=20, seed=seed, stalls=st, wmax=int(rng.choice([20, 127])))


def _plain(hw, i, hs, steps, seed, **kw):
    rng = np.random.default_rng(seed)
    prog = random_program(rng, [i, *hs], hw, theta_x=10, theta_h=20, wmax=30, wmin=-31)
    x = rng.integers(-500, 500, size=(steps, i))
    pre = rng.integers(-500, 500, size=(3, i))
    tx = np.tile(prog.theta_x_q, (steps, 1))
    th = np.tile(prog.theta_h_q, (steps, 1))
    out, nz, ovf = _reference(prog, x, tx, th)
    res = simulate(
        prog, x, tx, th, stalls=Stalls(0.2, 0.2, 0.2, 0.2, 2, seed), prologue_x=pre, **kw
    )
    np.testing.assert_array_equal(res.outputs, out)
    np.testing.assert_array_equal(res.nonzero, nz)
    assert bool(res.status & regmap.STATUS_OVERFLOW) == ovf
    assert res.step_count == steps  # counted from the last RESET_STATE / SOFT_RESET
    return res


def test_reset_state_starts_a_new_sequence():
    """A second sequence after RESET_STATE (registers kept) equals the reference from reset."""
    hw, i, hs = CONFIGS[0]
    _plain(hw, i, hs, steps=3, seed=11)


def test_soft_reset_mid_step_then_reprogram():
    """SOFT_RESET in the middle of a step (bursts in flight) leaves a clean accelerator."""
    hw, i, hs = CONFIGS[1]
    _plain(hw, i, hs, steps=2, seed=12, abort_after=1)  # 1 of 2 beats


def test_bad_config_sets_error_and_does_not_start():
    hw, i, hs = CONFIGS[0]
    _plain(hw, i, hs, steps=2, seed=13, probe_bad_config=True)


def test_soft_reset_during_the_bad_config_check_clears_error():
    """Running with a bad configuration, the controller checks it again and again (CHECK,
    ERROR, IDLE, CHECK, ...); a SOFT_RESET at any cycle of that loop leaves ERROR clear (a
    check that fails after it does not set it again)."""
    from edgedrnn.host.amaranth_sim import AmaranthTransport
    from edgedrnn.host.driver import EdgeDRNNDriver

    hw = CONFIGS[0][0]
    with AmaranthTransport(hw) as link:
        drv = EdgeDRNNDriver(link)
        for wait in range(2 * (1 + CHECK_CYCLES) + 2):
            drv.soft_reset()  # NUM_LAYERS = 0: a bad configuration
            drv.start(reset_state=False)
            link.run(20 + wait)
            assert drv.status() & regmap.STATUS_ERROR
            drv.soft_reset()
            link.run(2 * (1 + CHECK_CYCLES))
            status = drv.status()
            assert not status & (regmap.STATUS_ERROR | regmap.STATUS_RUNNING), (wait, status)


def test_wide_layer_activation_beside_the_next_layer_setup():
    """24 activation row groups (H = 96 on 4 PEs) while the next layer is set up: its scan and
    its bias column (first step) wait until the activation has read its accumulators, or
    the bias column's chunks would take the PE array's read port from the activation."""
    hw = HardwareConfig(4, 64, 2, 8, 96)
    _check(hw, 3, [96, 5], steps=3, seed=21, stalls=Stalls(mem_latency=1), wmax=20)


@pytest.mark.parametrize(("cfg", "wait"), [(0, 0), (0, 9), (0, 21), (1, 4), (1, 17), (1, 33)])
def test_soft_reset_during_overlapped_steps(cfg, wait):
    """SOFT_RESET while steps overlap (inputs queued back to back: a step's last columns and
    activation beside the next step's layer 0, a layer's columns beside the next layer's
    scan), ``wait`` cycles after the second-to-last step's output: the accelerator is clean
    afterwards (a fresh sequence equals the reference)."""
    from edgedrnn.host.amaranth_sim import AmaranthTransport
    from edgedrnn.host.driver import EdgeDRNNDriver, pack_beats

    hw, i, hs = CONFIGS[cfg]
    rng = np.random.default_rng(40 + cfg)
    prog = random_program(rng, [i, *hs], hw, theta_x=0, theta_h=0, wmax=30, wmin=-31)
    pre = rng.integers(-500, 500, size=(4, i))
    x = rng.integers(-500, 500, size=(3, i))
    tx = np.tile(prog.theta_x_q, (3, 1))
    th = np.tile(prog.theta_h_q, (3, 1))
    out, nz, _ = _reference(prog, x, tx, th)
    P = hw.num_pe
    with AmaranthTransport(hw, stalls=Stalls(mem_latency=2, seed=cfg)) as link:
        drv = EdgeDRNNDriver(link)
        drv.configure(prog, weight_base=0x1000)
        link.write_stream(np.concatenate([pack_beats(row.astype(np.int16), P) for row in pre]))
        beats = regmap.stream_beats(prog.output_size, P)
        link.read_stream(2 * beats)  # steps 0 and 1 have ended; 2 and 3 overlap
        link.run(wait)
        link.cancel_stream()
        drv.configure(prog, weight_base=0x1000)  # SOFT_RESET, every register, RESET_STATE
        link._h.clear()  # output beats of the aborted steps the transport already took
        res = drv.run(x.astype(np.int16), tx, th)
    np.testing.assert_array_equal(res.outputs_q.astype(np.int64), out)
    np.testing.assert_array_equal(res.nonzero, nz)
