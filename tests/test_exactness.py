"""Reference == torch backend exactly; the column order of datapath.md §5 where it shows;
Θ = 0 equals a dense quantized GRU; float == nn.GRU."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import edgedrnn
from column_order import ORDER_CASES, ordered_model, program_thresholds, swing_case
from edgedrnn import fixedpoint as fp
from programs import assert_same
from strategies import input_sequences, networks, threshold_schedules


@settings(max_examples=60)
@given(data=st.data())
def test_reference_equals_torch_backend(data):
    program = data.draw(networks())
    x = data.draw(input_sequences(program.input_size))
    tx = data.draw(threshold_schedules(len(x), program.num_layers))
    th = data.draw(threshold_schedules(len(x), program.num_layers))
    ref = edgedrnn.run(program, x, backend="reference", theta_x=tx, theta_h=th)
    tor = edgedrnn.run(program, x, backend="torch", theta_x=tx, theta_h=th)
    np.testing.assert_array_equal(tor.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(tor.nonzero, ref.nonzero)
    assert tor.overflow == ref.overflow


def _saturating_program():
    torch.manual_seed(3)
    model = edgedrnn.DeltaGRU(6, [9, 5], 2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.sign(torch.randn(p.shape)) * 0.99)
    return edgedrnn.compile(model)


def test_saturating_case_agrees_and_sets_overflow():
    program = _saturating_program()
    rng = np.random.default_rng(0)
    x = rng.choice(np.array([-32768, 32767], dtype=np.int16), (12, 6))
    ref = edgedrnn.run(program, x, backend="reference")
    tor = edgedrnn.run(program, x, backend="torch")
    assert ref.overflow and tor.overflow
    assert ref.same_as(tor)


def test_threshold_change_mid_sequence_changes_deltas():
    program = _saturating_program()
    x = np.cumsum(np.random.default_rng(1).normal(0, 0.05, (20, 6)), axis=0)
    sched = np.where(np.arange(20)[:, None] < 10, 0.0, 0.2) * np.ones((20, 2))
    dense = edgedrnn.run(program, x, theta_x=0.0, theta_h=0.0)
    mixed = edgedrnn.run(program, x, theta_x=sched, theta_h=sched)
    np.testing.assert_array_equal(mixed.nonzero[:10], dense.nonzero[:10])
    assert mixed.nonzero[10:].sum() < dense.nonzero[10:].sum()
    assert mixed.same_as(edgedrnn.run(program, x, backend="torch", theta_x=sched, theta_h=sched))


@pytest.mark.parametrize("case", list(ORDER_CASES))
def test_order_sensitive_nets_add_hidden_columns_first(case):
    """A bank saturates and comes back within a step: the contract's order (bias, hidden,
    inputs; datapath.md §5) gives other integers than inputs first, and the reference and
    the torch backend give the hidden-first ones."""
    prog, x = ORDER_CASES[case]()
    tx, th = program_thresholds(prog, len(x))
    inputs_first = ordered_model(prog, x, tx, th, hidden_first=False)
    hidden_first = ordered_model(prog, x, tx, th, hidden_first=True)
    assert not np.array_equal(inputs_first.outputs_q, hidden_first.outputs_q)
    ref = edgedrnn.run(prog, x, backend="reference")
    assert ref.overflow
    assert_same(ref, hidden_first)
    assert_same(edgedrnn.run(prog, x, backend="torch"), ref)


@pytest.mark.parametrize("case", list(ORDER_CASES))
def test_training_forward_follows_the_column_order(case):
    """The quantized DeltaGRU in training mode (float32, straight-through estimators) computes
    the same integers as the reference on the order-sensitive nets: training sees what the
    hardware computes."""
    prog, x = ORDER_CASES[case]()
    ref = edgedrnn.run(prog, x, backend="reference")
    model = edgedrnn.DeltaGRU.from_program(prog).train()
    y, _ = model(torch.from_numpy(x.astype(np.float32) / 256))
    assert y.dtype == torch.float32
    np.testing.assert_array_equal(torch.round(y.detach().double() * 256).numpy(), ref.outputs_q)
    np.testing.assert_array_equal(model.last_nonzero[0].numpy(), ref.nonzero)
    assert model.last_overflow == ref.overflow


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 8),
    steps=st.integers(2, 10),
    theta_h=st.sampled_from([0, 1, 40]),
)
def test_saturating_nets_equal_the_hidden_first_model(
    seed, input_size, hidden_size, steps, theta_h
):
    """Random nets made for banks that saturate and come back within a step (about one in
    six is order-sensitive): reference and torch backend equal the column-by-column model
    with hidden columns first."""
    prog, x = swing_case(seed, input_size, hidden_size, steps, theta_h)
    tx, th = program_thresholds(prog, steps)
    want = ordered_model(prog, x, tx, th, hidden_first=True)
    inputs_first = ordered_model(prog, x, tx, th, hidden_first=False)
    order_sensitive = not np.array_equal(inputs_first.outputs_q, want.outputs_q)
    event("order-sensitive" if order_sensitive else "same in both orders")
    ref = edgedrnn.run(prog, x, backend="reference")
    assert_same(ref, want)
    assert_same(edgedrnn.run(prog, x, backend="torch"), ref)


def dense_quantized_gru(program: edgedrnn.Program, x_q: np.ndarray) -> tuple[np.ndarray, bool]:
    """A plain quantized GRU (no deltas), written independently from datapath.md §5.

    Each step recomputes the gate sums from the full x_t and h_{t-1}. Returns the last layer's
    h (T, H) and whether any value saturated (then the comparison is not meaningful).
    """
    sat = False

    def s16(v):
        nonlocal sat
        sat |= bool(np.any((v < -32768) | (v > 32767)))
        return np.clip(v, -32768, 32767)

    def rne(v, k):
        return np.array([round(Fraction(int(a), 1 << k)) for a in np.ravel(v)]).reshape(np.shape(v))

    weights = [program.layer_weights(i) for i in range(program.num_layers)]
    hs = [np.zeros(h, dtype=np.int64) for h in program.hidden_sizes]
    out = []
    for t in range(x_q.shape[0]):
        inp = x_q[t].astype(np.int64)
        for k, w in enumerate(weights):
            hsz = hs[k].shape[0]
            b = w.bias.astype(np.int64) * 256
            gi = w.w_ih.astype(np.int64) @ inp
            gh = w.w_hh.astype(np.int64) @ hs[k]
            m = [
                b[0] + gi[:hsz] + gh[:hsz],
                b[1] + gi[hsz : 2 * hsz] + gh[hsz : 2 * hsz],
                b[2] + gi[2 * hsz :],
                b[3] + gh[2 * hsz :],
            ]
            if any(np.any(np.abs(a) > 2**23 - 1) for a in m):
                sat = True
            r = fp.sig_table()[s16(rne(m[0], 7)) + 32768].astype(np.int64)
            u = fp.sig_table()[s16(rne(m[1], 7)) + 32768].astype(np.int64)
            q = s16(rne(m[3], 7))
            c = fp.tanh_table()[s16(rne(r * q + 2 * m[2], 8)) + 32768].astype(np.int64)
            hs[k] = s16(rne((256 - u) * c, 8) + rne(u * hs[k], 8))
            inp = hs[k]
        out.append(inp.copy())
    return np.array(out), sat


@settings(max_examples=40)
@given(data=st.data())
def test_reference_at_theta_zero_equals_dense_quantized_gru(data):
    program = data.draw(networks(max_hidden=8, max_input=8))
    x = data.draw(input_sequences(program.input_size, max_steps=12))
    dense, saturated = dense_quantized_gru(program, x)
    ref = edgedrnn.run(program, x, theta_x=0.0, theta_h=0.0)
    assume(not saturated and not ref.overflow)
    np.testing.assert_array_equal(ref.outputs_q, dense)


@settings(max_examples=30)
@given(
    input_size=st.integers(1, 10),
    hidden=st.integers(1, 16),
    layers=st.integers(1, 3),
    batch=st.integers(1, 4),
    steps=st.integers(1, 20),
    batch_first=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_float_deltagru_at_theta_zero_equals_torch_gru(
    input_size, hidden, layers, batch, steps, batch_first, seed
):
    torch.manual_seed(seed)
    gru = torch.nn.GRU(input_size, hidden, layers, batch_first=batch_first)
    model = edgedrnn.DeltaGRU.from_gru(gru)
    shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = torch.randn(shape)
    with torch.no_grad():
        expected, _ = gru(x)
        got, _ = model(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.slow
@settings(max_examples=300)
@given(data=st.data())
def test_reference_equals_torch_backend_long(data):
    program = data.draw(networks(max_input=40, max_hidden=40))
    x = data.draw(input_sequences(program.input_size, max_steps=200))
    tx = data.draw(threshold_schedules(len(x), program.num_layers))
    th = data.draw(threshold_schedules(len(x), program.num_layers))
    ref = edgedrnn.run(program, x, theta_x=tx, theta_h=th)
    assert ref.same_as(edgedrnn.run(program, x, backend="torch", theta_x=tx, theta_h=th))
