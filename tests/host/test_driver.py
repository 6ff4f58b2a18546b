"""Driver logic tests over the pure-Python EmulatedTransport (no Verilator needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgedrnn
from edgedrnn.backends.reference import run_program
from edgedrnn.datapath.inputs import quantize_input, threshold_schedule
from edgedrnn.host import DriverError, EdgeDRNNDriver, Transport
from edgedrnn.host.driver import pack_beats
from edgedrnn.host.emulator import EmulatedTransport
from edgedrnn.hw import regmap
from output_fifo import OutputFifo
from strategies import input_sequences, networks, threshold_schedules


def _program(num_pe: int = 8) -> edgedrnn.Program:
    """A small 1-layer program (5 inputs, 7 hidden)."""
    import torch

    torch.manual_seed(0)
    hw = edgedrnn.HardwareConfig(num_pe=num_pe)
    return edgedrnn.compile(torch.nn.GRU(5, 7, 1), hw=hw, theta_x=0.05, theta_h=0.02)


def test_emulated_transport_is_a_transport() -> None:
    assert isinstance(EmulatedTransport(edgedrnn.HardwareConfig()), Transport)


@settings(max_examples=15)
@given(data=st.data())
def test_driver_over_emulator_equals_reference(data) -> None:
    prog = data.draw(networks())
    x = data.draw(input_sequences(prog.input_size, max_steps=12))
    steps = x.shape[0]
    tx = threshold_schedule(
        data.draw(threshold_schedules(steps, prog.num_layers)), prog.theta_x_q, steps, "tx"
    )
    th = threshold_schedule(
        data.draw(threshold_schedules(steps, prog.num_layers)), prog.theta_h_q, steps, "th"
    )
    ref = run_program(prog, x, tx, th)
    tr = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr)
    drv.configure(prog, weight_base=0x2000)
    out = drv.run(x, tx, th)
    assert np.array_equal(out.outputs_q, ref.outputs_q)
    assert np.array_equal(out.nonzero, ref.nonzero)
    assert out.overflow == ref.overflow
    assert out.cycles.shape == (steps,) and out.cycles.dtype == np.int64
    assert drv.step_count() == steps


def test_configure_register_sequence_and_weights() -> None:
    prog = _program()
    tr = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr)
    info = drv.info
    assert info is not None and info.num_pe == 8 and info.bus_bits == 64
    tr.log.clear()
    drv.configure(prog, weight_base=0x400)
    writes = [(a, v) for kind, a, v in tr.log if kind == "w"]
    assert writes[0] == (regmap.addr_of("CTRL"), regmap.CTRL_SOFT_RESET)
    assert writes[-1] == (
        regmap.addr_of("CTRL"),
        regmap.CTRL_START | regmap.CTRL_RESET_STATE,
    )
    written = dict(writes[1:-1])
    assert written[regmap.addr_of("WEIGHT_BASE")] == 0x400
    for name, value in prog.register_values().items():
        assert written[regmap.addr_of(name)] == value, name
    image = bytes(tr.memory[0x400 : 0x400 + len(prog.weight_image)])
    assert image == prog.weight_image


def test_thresholds_written_only_when_changed() -> None:
    prog = _program()
    tr = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr)
    drv.configure(prog)
    theta_addrs = {regmap.addr_of("THETA_X", 0), regmap.addr_of("THETA_H", 0)}
    tr.log.clear()
    steps = 6
    x = np.zeros((steps, prog.input_size), dtype=np.int16)
    tx = np.full((steps, 1), prog.theta_x_q[0])
    th = np.full((steps, 1), prog.theta_h_q[0])
    tx[3:] = 77
    drv.run(x, tx, th)
    theta_writes = [(a, v) for kind, a, v in tr.log if kind == "w" and a in theta_addrs]
    assert theta_writes == [(regmap.addr_of("THETA_X", 0), 77)]


def test_rejects_foreign_device_and_mismatched_program() -> None:
    class Foreign(EmulatedTransport):
        def read_reg(self, addr: int) -> int:
            return 0x12345678 if addr == regmap.addr_of("ID") else super().read_reg(addr)

    with pytest.raises(DriverError, match="not an EdgeDRNN"):
        EdgeDRNNDriver(Foreign(edgedrnn.HardwareConfig()))
    drv = EdgeDRNNDriver(EmulatedTransport(edgedrnn.HardwareConfig(num_pe=16)))
    with pytest.raises(DriverError, match="recompile"):
        drv.configure(_program(num_pe=8))


def test_bad_last_flag_and_step_shape() -> None:
    class NoLast(EmulatedTransport):
        def read_stream(self, n: int):
            data, last = super().read_stream(n)
            return data, np.zeros_like(last)

    prog = _program()
    drv = EdgeDRNNDriver(NoLast(prog.hw))
    drv.configure(prog)
    with pytest.raises(DriverError, match="last"):
        drv.step(np.zeros(prog.input_size, dtype=np.int16))
    with pytest.raises(ValueError, match="shape"):
        drv.step(np.zeros(prog.input_size + 1, dtype=np.int16))


def test_step_before_configure() -> None:
    drv = EdgeDRNNDriver(EmulatedTransport(edgedrnn.HardwareConfig()))
    with pytest.raises(DriverError, match="configure"):
        drv.step(np.zeros(3, dtype=np.int16))


def test_overflow_and_clear() -> None:
    prog = _program()
    tr = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr)
    drv.configure(prog)
    x = np.full((3, prog.input_size), 32767, dtype=np.int16)
    x[1] = -32768  # delta saturates in int16
    out = drv.run(x)
    ref = run_program(
        prog,
        x,
        threshold_schedule(None, prog.theta_x_q, 3, "tx"),
        threshold_schedule(None, prog.theta_h_q, 3, "th"),
    )
    assert out.overflow == ref.overflow is True
    drv.clear_status()
    assert not drv.overflow


def test_driver_takes_inputs_as_run_does() -> None:
    """Float inputs are quantized (round half to even, saturation) exactly as run() does;
    other dtypes and NaN are refused with run()'s messages."""
    prog = _program()
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (6, prog.input_size))
    x[2, 1] = 300.0  # clips, with a warning
    drv = EdgeDRNNDriver(EmulatedTransport(prog.hw))
    drv.configure(prog)
    with pytest.warns(edgedrnn.InputClippedWarning):
        out = drv.run(x)
    with pytest.warns(edgedrnn.InputClippedWarning):
        ref = edgedrnn.run(prog, x)
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    with pytest.raises(TypeError, match="dtype int32"):
        drv.step(np.zeros(prog.input_size, dtype=np.int32))
    with pytest.raises(ValueError, match="NaN"):
        drv.step(np.full(prog.input_size, np.nan))
    with pytest.raises(ValueError, match="NaN"):
        drv.run(np.full((2, prog.input_size), np.nan))


def test_driver_checks_the_device_limits() -> None:
    import torch

    small = edgedrnn.HardwareConfig(max_hidden_size=8, max_input_size=4)
    for gru, match in ((torch.nn.GRU(4, 16), "hidden size 16"), (torch.nn.GRU(6, 8), "input")):
        drv = EdgeDRNNDriver(EmulatedTransport(small))
        with pytest.raises(DriverError, match=match):
            drv.configure(edgedrnn.compile(gru))


class _StreamLog(EmulatedTransport):
    """The emulator, logging the stream calls beside the register accesses."""

    def write_stream(self, values: np.ndarray) -> None:
        self.log.append(("x", 0, len(values)))
        super().write_stream(values)

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        self.log.append(("h", 0, n))
        return super().read_stream(n)


def test_thresholds_of_the_next_step_before_this_steps_output() -> None:
    """docs/datapath.md §7: per step, Θ of step t+1 and x[t+1] (queued), then h_out[t]; Θ of
    the first step before x[0], with a RESET_STATE right after a reset (Θ is latched there);
    Θ changing at every step gives the reference's results (the emulator latches Θ at each
    step's end, as the device does), latency comes back."""
    prog = _program()
    steps = 6
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (steps, prog.input_size))
    tx = np.array([[10 + 7 * t] for t in range(steps)])
    th = np.array([[3 + 5 * t] for t in range(steps)])
    ref = run_program(prog, quantize_input(x, prog.input_size), tx, th)
    tr = _StreamLog(prog.hw)
    drv = EdgeDRNNDriver(tr)
    drv.configure(prog)
    tr.log.clear()
    out = drv.run(x, tx, th)
    assert np.array_equal(out.outputs_q, ref.outputs_q)
    assert np.array_equal(out.nonzero, ref.nonzero)
    assert out.latency is not None and out.latency.shape == (steps,)
    theta = {regmap.addr_of("THETA_X", 0): "tx", regmap.addr_of("THETA_H", 0): "th"}
    ctrl = regmap.addr_of("CTRL")
    events = []
    for kind, addr, value in tr.log:
        if kind in "xh":
            events.append(kind)
        elif kind == "w" and addr in theta:
            events.append(f"{theta[addr]}={value}")
        elif kind == "w" and addr == ctrl:
            events.append("reset")
    # x[t+1] is queued before h_out[t] is taken, after Θ of step t+1
    want = ["tx=10", "th=3", "reset", "x"]
    for t in range(steps):
        if t + 1 < steps:
            want += [f"tx={tx[t + 1, 0]}", f"th={th[t + 1, 0]}", "x"]
        want.append("h")
    assert events == want


def test_emulator_latches_thresholds_at_the_step_end() -> None:
    """A host that queues x[t+1] before it writes Θ of step t+1 (allowed: the write comes
    before h_out[t] is taken) still gets Θ(t+1) for step t+1, and the NZ registers are those
    of the last step whose output was taken."""
    prog = _program()
    rng = np.random.default_rng(5)
    x = quantize_input(rng.normal(0, 1, (3, prog.input_size)), prog.input_size)
    tx = np.array([[prog.theta_x_q[0]], [40], [5]])
    th = np.array([[prog.theta_h_q[0]], [30], [2]])
    ref = run_program(prog, x, tx, th)
    tr = EmulatedTransport(prog.hw)
    drv = EdgeDRNNDriver(tr)
    drv.configure(prog)  # Θ of step 0 (the program's) latched at the reset
    p = prog.hw.num_pe
    tr.write_stream(pack_beats(x[0], p))
    tr.write_stream(pack_beats(x[1], p))  # queued before Θ(1) is written
    drv.set_thresholds(tx[1], th[1])
    out0 = drv.read_output()
    assert np.array_equal(drv.nonzero(), ref.nonzero[0])
    tr.write_stream(pack_beats(x[2], p))
    drv.set_thresholds(tx[2], th[2])
    out1 = drv.read_output()
    assert np.array_equal(drv.nonzero(), ref.nonzero[1])
    out2 = drv.read_output()
    assert np.array_equal(np.stack([out0, out1, out2]), ref.outputs_q)
    assert drv.step_count() == 3


def test_thresholds_when_h_out_is_taken_on_its_own() -> None:
    """``queue_ahead=False`` (a device with an output FIFO): x[t+1] is queued after step t's
    registers are read, and Θ of step t+2 before it, since step t+1 may end (latching Θ)
    before the host looks again; per-step Θ then gives the reference's results. Queueing
    ahead on such a device would read step t+1's registers as step t's."""
    prog = _program()
    steps = 7
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (steps, prog.input_size))
    tx = np.array([[10 + 9 * (t % 3)] for t in range(steps)])
    th = np.array([[40 - 11 * (t % 4)] for t in range(steps)])
    ref = run_program(prog, quantize_input(x, prog.input_size), tx, th)
    drv = EdgeDRNNDriver(OutputFifo(prog.hw))
    drv.configure(prog)
    out = drv.run(x, tx, th, queue_ahead=False)
    assert np.array_equal(out.outputs_q, ref.outputs_q)
    assert np.array_equal(out.nonzero, ref.nonzero)
    ahead = EdgeDRNNDriver(OutputFifo(prog.hw))
    ahead.configure(prog)
    out = ahead.run(x, tx, th, queue_ahead=True)
    assert not np.array_equal(out.nonzero, ref.nonzero)
