"""The ``rtl`` backend: Verilator co-simulation of the generated RTL equals the reference.

Property tests (hypothesis) over random networks, inputs, threshold schedules, memory latency
and random stalls on every channel, for NUM_PE 4, 8 and 16. Each NUM_PE needs one Verilator
build (cached on disk, see edgedrnn.sim.build); the slow variants run many more and longer
examples (`pytest -m slow`).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import edgedrnn
from edgedrnn.backends.reference import ReferenceModel
from edgedrnn.backends.reference import run_program as reference_run
from edgedrnn.host import EdgeDRNNDriver
from edgedrnn.host.verilator import VerilatorTransport
from edgedrnn.hw import regmap
from edgedrnn.sim.build import VerilatorNotFoundError, build_model, find_verilator
from edgedrnn.sim.verilated import VerilatedModel
from programs import order_sensitive_program
from strategies import rtl_cases

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None, reason="Verilator not installed"
)

NUM_PES = (4, 8, 16)
#: Cycles after a run for the hidden part of the step after the last to end.
SETTLE = 50_000


def _hw(num_pe: int, bus_bits: int = 64, sparse: bool = False) -> edgedrnn.HardwareConfig:
    return edgedrnn.HardwareConfig(
        num_pe=num_pe,
        bus_bits=bus_bits,
        max_layers=4,
        max_input_size=128,
        max_hidden_size=128,
        sparse_weights=sparse,
    )


#: The sparse-decoding build the tests run (one Verilator build): 8 PEs on a 64-bit bus, a
#: slot of 16 bytes in two beats (the target configuration of docs/performance.md).
SPARSE_HW = _hw(8, sparse=True)


def expected_beats(
    program: edgedrnn.Program, nonzero: np.ndarray, ahead=None, biases: int = 1
) -> int:
    """Weight-bus beats a run must fetch: passed-on columns × beats per column + the bias
    ``biases`` times, plus the hidden columns of the step after the last (``ahead`` (L,): the
    accelerator runs a step's hidden part as soon as the step before has ended)."""
    word = program.hw.bus_bytes
    total = 0
    for layer, lay in enumerate(program.layers):
        total += biases * lay.bias_stride // word
        total += int(nonzero[:, layer, :].sum()) * (lay.column_stride // word)
        if ahead is not None:
            total += int(ahead[layer]) * (lay.column_stride // word)
    return total


def hidden_ahead(program: edgedrnn.Program, x, tx, th) -> np.ndarray:
    """Hidden deltas (L,) of the step after the last, under the last step's Θ."""
    ref = ReferenceModel(program)
    for t in range(x.shape[0]):
        ref.step(x[t], *(None, None) if tx is None else (tx[t], th[t]))
    ref.step(x[-1], *(None, None) if tx is None else (tx[-1], th[-1]))
    return ref.last_nonzero[:, 1].copy()


def run_checked(program, x, tx, th, *, seed, mem_latency, mem_stall, stream_stall):
    """Run on the RTL through the driver with full checks; returns (Result, model stats)."""
    lib = build_model(program.hw)
    with VerilatedModel(
        lib, seed=seed, mem_latency=mem_latency, mem_stall=mem_stall, stream_stall=stream_stall
    ) as model:
        drv = EdgeDRNNDriver(VerilatorTransport(model))
        drv.configure(program, weight_base=0x3000)
        model.pop_x_times()
        out = drv.run(x, tx, th)
        x_times = model.pop_x_times().astype(np.int64)
        h_times = np.asarray(model.h_times, dtype=np.int64)
        model.run(SETTLE)  # the next step's hidden part, which runs ahead, ends
        stats = model.mem_stats()
        model.check_protocol()
    p = program.hw.num_pe
    steps = x.shape[0]
    n_in, n_out = (regmap.stream_beats(n, p) for n in (program.input_size, program.output_size))
    assert x_times.shape == (steps * n_in,)
    assert h_times.shape == (steps * n_out,)
    # STEP_CYCLES: the previous step's last h_out beat -> this step's, measured independently
    # (the first step counts from x_in's first valid cycle, which the model does not record);
    # LATENCY: from x_in's first valid cycle, not after the first beat's acceptance.
    ends = h_times[n_out - 1 :: n_out]
    stats["step_cycles_offset"] = np.unique(out.cycles[1:] - np.diff(ends)).tolist()
    stats["latency_short"] = int(np.sum(out.latency < ends - x_times[::n_in] + 1))
    stats["latency_long"] = int(np.sum(out.latency > out.cycles))
    res = edgedrnn.Result(out.outputs_q, out.nonzero, out.overflow, out.cycles, "rtl")
    return res, stats


def _check_against_reference(program, x, tx, th, **sim) -> None:
    ref = reference_run(program, x, tx, th)
    res, stats = run_checked(program, x, tx, th, **sim)
    assert res.same_as(ref), _mismatch(program, ref, res)
    assert np.array_equal(res.outputs_q, ref.outputs_q)
    assert np.array_equal(res.nonzero, ref.nonzero)
    assert res.overflow == ref.overflow
    assert res.cycles.dtype == np.int64 and res.cycles.shape == (x.shape[0],)
    assert (res.cycles > 0).all()
    assert stats["step_cycles_offset"] in ([], [0])
    assert stats["latency_short"] == 0
    assert stats["out_of_range"] == 0 and stats["in_flight"] == 0
    ahead = hidden_ahead(program, x, tx, th)
    # Θ of the first step differs from the configured one: the driver resets the state again
    # (Θ of the first step is latched at RESET_STATE), so the bias is fetched twice, unless
    # that reset came while the configuration's was still clearing
    again = tx is not None and (
        tuple(tx[0]) != tuple(program.theta_x_q) or tuple(th[0]) != tuple(program.theta_h_q)
    )
    biases = (1, 2) if again else (1,)
    assert stats["beats"] in [expected_beats(program, ref.nonzero, ahead, b) for b in biases]


def _mismatch(program, ref, res) -> str:
    bad = np.argwhere(res.outputs_q != ref.outputs_q)
    first = bad[0].tolist() if len(bad) else None
    nz = np.argwhere((res.nonzero != ref.nonzero).any(axis=(1, 2)))
    return (
        f"rtl != reference for layers {program.hidden_sizes}, I={program.input_size}, "
        f"num_pe={program.hw.num_pe}: first output mismatch (step, index) {first}, first "
        f"nonzero mismatch at step {nz[0].tolist() if len(nz) else None}, overflow "
        f"{res.overflow} vs {ref.overflow}"
    )


def _property_against_reference(
    num_pe: int,
    bus_bits: int,
    examples: int,
    max_steps: int,
    max_size: int,
    sparse: bool = False,
) -> None:
    """Hypothesis: random networks (``sparse``: pruned, on the sparse build), inputs,
    thresholds and memory/stream timing; the RTL's outputs and counters equal the
    reference's."""
    hw = _hw(num_pe, bus_bits, sparse)
    build_model(hw)  # build (or fetch) once, outside hypothesis' timing

    @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(case=rtl_cases(hw, max_steps=max_steps, max_size=max_size))
    def prop(case) -> None:
        program, x, tx, th, sim = case
        _check_against_reference(program, x, tx, th, **sim)

    prop()


@needs_verilator
@pytest.mark.parametrize("num_pe", NUM_PES)
def test_rtl_equals_reference(num_pe: int) -> None:
    _property_against_reference(num_pe, 64, examples=25, max_steps=16, max_size=2 * num_pe + 3)


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("num_pe", NUM_PES)
def test_rtl_equals_reference_long(num_pe: int) -> None:
    _property_against_reference(num_pe, 64, examples=200, max_steps=100, max_size=4 * num_pe + 5)


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize(("num_pe", "bus_bits"), [(4, 128), (8, 256), (16, 512)])
def test_rtl_equals_reference_wide_bus(num_pe: int, bus_bits: int) -> None:
    _property_against_reference(
        num_pe, bus_bits, examples=40, max_steps=40, max_size=6 * num_pe + 7
    )


@needs_verilator
def test_rtl_sparse_equals_reference() -> None:
    """The sparse build on pruned networks (γ up to 0.99, n = 1; sizes not multiples of
    NUM_PE), random memory latency and stalls, per-step thresholds: exact."""
    _property_against_reference(8, 64, examples=15, max_steps=12, max_size=33, sparse=True)


@needs_verilator
@pytest.mark.slow
def test_rtl_sparse_equals_reference_long() -> None:
    _property_against_reference(8, 64, examples=100, max_steps=60, max_size=37, sparse=True)


@needs_verilator
@pytest.mark.parametrize(("hidden", "sign"), [(5, -1), (5, 1), (13, 1)])
def test_rtl_sparse_column_order(hidden: int, sign: int) -> None:
    """The order-sensitive case (a bank saturates and comes back within a step) on the
    sparse build: with 5 neurons on 8 PEs a gate has one slot, so a lane's row comes back
    3 chunks later (the forwarding, per lane); with 13, two slots, and lanes 5..7 (one real
    row each) fill their second slot with an empty entry (0, 0)."""
    program, x = order_sensitive_program(SPARSE_HW, hidden, sign, u_weight=-3)
    assert program.layers[0].slots == (1 if hidden <= 8 else 2)
    x = x.astype(np.int16)  # raw Q8.8
    tx = np.zeros((x.shape[0], 1), dtype=np.int64)
    ref = reference_run(program, x, tx, tx.copy())
    res, _ = run_checked(
        program, x, tx, tx.copy(), seed=hidden, mem_latency=2, mem_stall=0.2, stream_stall=0.2
    )
    assert ref.overflow
    assert res.same_as(ref), _mismatch(program, ref, res)


@needs_verilator
def test_rtl_sparse_run_api() -> None:
    """edgedrnn.run(..., backend="rtl") on a pruned model: the sparse build, exact; the
    device reports CONFIG.SPARSE; fewer beats than the dense image for the same deltas."""
    import torch

    torch.manual_seed(2)
    model = edgedrnn.DeltaGRU(6, [21, 13], 2, theta_x=0.02, theta_h=0.02)
    edgedrnn.prune(model, 0.875, SPARSE_HW)
    program = edgedrnn.compile(model, hw=SPARSE_HW)
    assert [lay.slots for lay in program.layers] == [1, 1]
    t = np.arange(25)[:, None]
    x = np.sin(t / 4 + np.arange(6)) + 0.05 * np.random.default_rng(0).normal(size=(25, 6))
    ref = edgedrnn.run(program, x, backend="reference")
    res = edgedrnn.run(program, x, backend="rtl", mem_latency=5, mem_stall=0.3, seed=1)
    assert res.same_as(ref)
    with VerilatedModel(build_model(SPARSE_HW)) as model:
        info = EdgeDRNNDriver(VerilatorTransport(model)).info
    assert info is not None and info.sparse_weights


@needs_verilator
def test_run_api_rtl_backend_and_stalls() -> None:
    """edgedrnn.run(..., backend="rtl") with options; stalls cost cycles, not results."""
    import torch

    torch.manual_seed(1)
    hw = _hw(8)
    model = edgedrnn.DeltaGRU(6, [10, 13], 2, theta_x=0.05, theta_h=0.05)
    program = edgedrnn.compile(model, hw=hw)
    t = np.arange(30)[:, None]
    x = np.sin(t / 5 + np.arange(6)) + 0.05 * np.random.default_rng(0).normal(size=(30, 6))
    ref = edgedrnn.run(program, x, backend="reference")
    fast = edgedrnn.run(program, x, backend="rtl")
    slow = edgedrnn.run(
        program, x, backend="rtl", mem_latency=20, mem_stall=0.5, stream_stall=0.5, seed=3
    )
    again = edgedrnn.run(
        program, x, backend="rtl", mem_latency=20, mem_stall=0.5, stream_stall=0.5, seed=3
    )
    assert fast.same_as(ref) and slow.same_as(ref)
    assert fast.backend == "rtl" and fast.cycles is not None
    assert fast.cycles.dtype == np.int64 and fast.cycles.shape == (30,)
    assert slow.cycles.sum() > fast.cycles.sum()
    assert np.array_equal(slow.cycles, again.cycles)  # seeded: reproducible
    with pytest.raises(TypeError, match="unknown rtl backend option"):
        edgedrnn.run(program, x, backend="rtl", mem_latncy=3)


@needs_verilator
@pytest.mark.parametrize("sign", [-1, 1])
def test_rtl_column_order_v2(sign: int) -> None:
    """docs/datapath.md §5 (v2): bias, hidden, then input columns, where the order changes the
    result (a bank saturates and comes back within a step); exact, overflow flag included."""
    program, x = order_sensitive_program(_hw(4), 5, sign)
    x = x.astype(np.int16)  # raw Q8.8
    tx = np.zeros((x.shape[0], 1), dtype=np.int64)
    ref = reference_run(program, x, tx, tx.copy())
    res, _ = run_checked(
        program, x, tx, tx.copy(), seed=sign, mem_latency=3, mem_stall=0.3, stream_stall=0.3
    )
    assert ref.overflow
    assert res.same_as(ref), _mismatch(program, ref, res)


@needs_verilator
def test_driver_reads_device_config() -> None:
    hw = _hw(16)
    with VerilatedModel(build_model(hw)) as model:
        info = EdgeDRNNDriver(VerilatorTransport(model)).info
    assert info is not None
    assert (info.num_pe, info.bus_bits, info.max_layers) == (16, 64, 4)
    assert not info.sparse_weights
    assert info.max_hidden_size >= 128 and info.max_input_size >= 128


def test_missing_verilator_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(VerilatorNotFoundError, match="apt-get install verilator"):
        find_verilator()
