"""The cpu backend (Numba): exact mode equals the reference; float mode equals DeltaGRU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import edgedrnn
from column_order import ORDER_CASES, ordered_model, program_thresholds, swing_case
from cpu_kernel_choice import KERNELS, assert_counts_close, float_reference, use_kernel
from edgedrnn import fixedpoint as fp
from edgedrnn.backends import cpu, cpu_kernels
from programs import assert_same, random_program
from strategies import input_sequences, networks, threshold_schedules


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=50)
@given(data=st.data())
def test_exact_equals_reference(kernel, data):
    prog = data.draw(networks())
    x = data.draw(input_sequences(prog.input_size))
    tx = data.draw(threshold_schedules(x.shape[0], prog.num_layers))
    th = data.draw(threshold_schedules(x.shape[0], prog.num_layers))
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx, theta_h=th)
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu", theta_x=tx, theta_h=th)
    assert got.backend == "cpu"
    assert_same(got, ref)


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 24), min_size=2, max_size=4),
    amp=st.sampled_from([64, 2048, 32767]),
    theta=st.sampled_from([0, 1, 40, 300]),
)
def test_exact_saturating_full_range_weights(kernel, seed, sizes, amp, theta):
    """Full-range int8 weights and large inputs: banks saturate; order must still match."""
    rng = np.random.default_rng(seed)
    prog = random_program(rng, sizes, theta_x=theta, theta_h=theta)
    steps = 12
    x = rng.integers(-amp, amp + 1, (steps, sizes[0])).astype(np.int16)
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu")
    assert_same(got, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_accumulator_saturation_is_exercised_and_exact(kernel):
    """A case that certainly saturates the banks (not only the input deltas)."""
    rng = np.random.default_rng(7)
    prog = random_program(rng, [40, 32, 24])
    # all-positive columns and constant-sign inputs: the banks run into ±(2^23 - 1)
    x = np.full((6, 40), 20000, dtype=np.int16)
    x[1::2] = -20000
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu")
    assert ref.overflow
    assert_same(got, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_steps_without_deltas_reuse_gates_exactly(kernel):
    """Quiet steps (no delta passed, banks unchanged) after saturation: h still converges."""
    rng = np.random.default_rng(25)
    prog = random_program(rng, [8, 16, 12], theta_x=2, theta_h=3)
    x = np.zeros((30, 8), dtype=np.int16)
    x[0] = 30000
    x[1:4] = rng.integers(-30000, 30000, (3, 8))
    x[4:] = x[3]  # constant input: only hidden deltas, then none at all
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu")
    assert ref.overflow
    assert (ref.nonzero[4:].sum(axis=(1, 2)) == 0).any()  # the quiet path is exercised
    assert_same(got, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_many_columns_group_path_and_tails(kernel):
    """Wide layers (groups of columns plus partial groups) over a long smooth sequence."""
    rng = np.random.default_rng(3)
    prog = random_program(rng, [37, 61, 45], theta_x=3, theta_h=5, wmax=20)
    t = np.arange(80)[:, None]
    x = np.rint(600 * np.sin(t / 7 + np.arange(37)) + rng.normal(0, 30, (80, 37)))
    x = x.astype(np.int16)
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu")
    assert_same(got, ref)
    assert 0 < got.nonzero.sum() < 80 * (37 + 61 + 61 + 45)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("amp", [3, 60, 400])
def test_small_weights_16bit_group_path(kernel, amp):
    """Small weights and deltas: the portable kernel's 16-bit product path (Σ|Δ|·max|w| <=
    32767) and the VNNI kernel's one-digit groups; larger deltas mix them with the 32-bit /
    two-digit paths within one step."""
    rng = np.random.default_rng(amp)
    prog = random_program(rng, [24, 40, 33], theta_x=1, theta_h=1, wmax=6, wmin=-6)
    x = np.cumsum(rng.integers(-amp, amp + 1, (50, 24)), axis=0)
    x = np.clip(x, -32768, 32767).astype(np.int16)
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu")
    assert_same(got, ref)


def _run_and_stream(prog, x, ref):
    """A whole cpu run and a cpu Session stepped beside a reference Session equal ``ref``
    (outputs, delta counts and the overflow flag after every step); the Session's path
    counts."""
    assert_same(edgedrnn.run(prog, x, backend="cpu"), ref)
    session = edgedrnn.Session(prog)
    golden = edgedrnn.Session(prog, backend="reference")
    for t in range(x.shape[0]):
        np.testing.assert_array_equal(session.step_q(x[t]), ref.outputs_q[t])
        golden.step_q(x[t])
        np.testing.assert_array_equal(session.last_nonzero, ref.nonzero[t])
        assert session.overflow == golden.overflow
    assert session.overflow == ref.overflow
    return session.stream.path_counts()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("case", list(ORDER_CASES))
def test_order_sensitive_nets_add_hidden_columns_first(kernel, case):
    """A bank saturates and comes back within a step, where adding the input columns before
    the hidden ones gives other integers: both kernels, whole runs and Session steps, follow
    datapath.md §5 (hidden first); the columns that may saturate go alone, clamped."""
    prog, x = ORDER_CASES[case]()
    tx, th = program_thresholds(prog, len(x))
    ref = edgedrnn.run(prog, x, backend="reference")
    inputs_first = ordered_model(prog, x, tx, th, hidden_first=False)
    assert not np.array_equal(inputs_first.outputs_q, ref.outputs_q)
    with use_kernel(kernel):
        paths = _run_and_stream(prog, x, ref)
    assert paths["saturating"] > 0


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    input_size=st.integers(1, 40),
    hidden_size=st.integers(1, 70),
    steps=st.integers(2, 10),
    theta_h=st.sampled_from([0, 1, 40]),
)
def test_saturating_nets_run_and_stream_like_the_reference(
    kernel, seed, input_size, hidden_size, steps, theta_h
):
    """Random nets made for banks that saturate and come back within a step (one in five
    or so is order-sensitive), narrow and wide (groups of columns before a clamped one)."""
    prog, x = swing_case(seed, input_size, hidden_size, steps, theta_h)
    ref = edgedrnn.run(prog, x, backend="reference")
    with use_kernel(kernel):
        _run_and_stream(prog, x, ref)


def test_run_rejects_unknown_mode():
    prog = random_program(np.random.default_rng(0), [3, 4])
    with pytest.raises(ValueError, match="mode"):
        edgedrnn.run(prog, np.zeros((2, 3)), backend="cpu", mode="fast")


def test_activation_functions_match_full_tables():
    sig = np.empty(65536, dtype=np.int32)
    tanh = np.empty(65536, dtype=np.int32)
    cpu_kernels.activation_functions(sig, tanh)
    np.testing.assert_array_equal(sig, fp.sig_table())
    np.testing.assert_array_equal(tanh, fp.tanh_table())
    assert cpu.check_activations()


def test_tanh32_accuracy():
    x = np.linspace(-20, 20, 400_001).astype(np.float32)
    out = np.empty_like(x)
    cpu_kernels.tanh32(x, out)
    assert np.max(np.abs(out.astype(np.float64) - np.tanh(x.astype(np.float64)))) < 1e-6


@settings(max_examples=30)
@given(data=st.data())
def test_float_mode_equals_deltagru_float(data):
    prog = data.draw(networks())
    x = data.draw(input_sequences(prog.input_size))
    # float32 sums of full-scale (±128) inputs carry ~1e-5 rounding differences by themselves
    assume(np.abs(x.astype(np.int64)).max() <= 16 * 256)
    tx = data.draw(threshold_schedules(x.shape[0], prog.num_layers))
    th = data.draw(threshold_schedules(x.shape[0], prog.num_layers))
    got = edgedrnn.run(prog, x, backend="cpu", mode="float", theta_x=tx, theta_h=th)
    assert isinstance(got, cpu.FloatResult)
    assert got.outputs.dtype == np.float32
    L = prog.num_layers
    # the thresholds DeltaGRU sees: the Q8.8 values the runner passed on, in real units
    sx = np.rint(np.broadcast_to(tx if tx is not None else prog.theta_x, (x.shape[0], L)) * 256)
    sh = np.rint(np.broadcast_to(th if th is not None else prog.theta_h, (x.shape[0], L)) * 256)
    want, nz = float_reference(prog, x, sx / 256, sh / 256)
    assert_counts_close(got.nonzero, nz)
    # Outputs agree to 1e-5 at every step before the first pass decision that the two float32
    # implementations took differently (|Δ| within rounding of Θ); after such a flip the
    # delta networks legitimately follow different trajectories.
    flips = np.flatnonzero((got.nonzero != nz).any(axis=(1, 2)))
    agree = flips[0] if flips.size else x.shape[0]
    np.testing.assert_allclose(got.outputs[:agree], want[:agree], rtol=0, atol=1e-5)
    q, _ = fp.quantize(got.outputs, 8, fp.INT16_MIN, fp.INT16_MAX)
    np.testing.assert_array_equal(got.outputs_q, q)


def test_float_mode_close_on_a_large_layer():
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    gru = torch.nn.GRU(40, 128, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = edgedrnn.compile(gru, theta_x=0.02, theta_h=0.02)
    x = np.rint(np.cumsum(rng.normal(0, 0.1, (60, 40)), 0) * 256).astype(np.int16)
    got = edgedrnn.run(prog, x, backend="cpu", mode="float")
    want, nz = float_reference(prog, x)
    np.testing.assert_allclose(got.outputs, want, rtol=0, atol=1e-5)
    assert_counts_close(got.nonzero, nz)
    assert 0 < got.nonzero.sum() < 60 * (40 + 128 + 128 + 128)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=80)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 96), min_size=2, max_size=4),
    wmax=st.sampled_from([8, 40, 127]),
    theta=st.integers(0, 400),
    walk=st.sampled_from([16.0, 200.0, 3000.0]),
)
def test_exact_long_sequences_slow(kernel, seed, sizes, wmax, theta, walk):
    """Longer sequences on wider random nets, thresholds changed twice (make check-all)."""
    rng = np.random.default_rng(seed)
    prog = random_program(rng, sizes, wmax=wmax)
    steps = 120
    x = np.clip(np.cumsum(rng.normal(0, walk, (steps, sizes[0])), 0), -32768, 32767)
    x = np.rint(x).astype(np.int16)
    L = prog.num_layers
    tx = np.full((steps, L), theta / 256)
    th = np.full((steps, L), theta / 256)
    tx[40:80] = 0.0
    th[80:] = rng.integers(0, 64, L) / 256
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx, theta_h=th)
    with use_kernel(kernel):
        got = edgedrnn.run(prog, x, backend="cpu", theta_x=tx, theta_h=th)
    assert_same(got, ref)


def test_no_stale_weights_after_replace():
    """A Program cannot change under the cpu backend's cache: fields are frozen, and a
    replaced Program (new weights) is a new object with its own cached layout."""
    import dataclasses

    from programs import random_program

    rng = np.random.default_rng(8)
    a = random_program(rng, [3, 6])
    b = random_program(rng, [3, 6])
    x = rng.normal(0, 1, (5, 3))
    edgedrnn.run(a, x, backend="cpu")  # cache a's layout
    swapped = dataclasses.replace(a, weight_image=b.weight_image)
    got = edgedrnn.run(swapped, x, backend="cpu")
    assert got.same_as(edgedrnn.run(b, x, backend="reference"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.weight_image = b.weight_image
