"""edgedrnn.Session: streaming steps equal whole-sequence runs; sessions are independent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgedrnn
from cpu_kernel_choice import KERNELS, assert_counts_close, float_reference, use_kernel
from programs import random_program
from strategies import input_sequences, networks


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=20)
@given(data=st.data(), switch=st.integers(0, 25))
def test_interleaved_sessions_with_changing_thresholds(kernel, data, switch):
    """Two cpu sessions and two reference sessions stepped alternately, Θ changed mid-way."""
    with use_kernel(kernel):
        _interleaved_sessions(data, switch)


def _interleaved_sessions(data, switch):
    prog = data.draw(networks())
    xa = data.draw(input_sequences(prog.input_size))
    xb = data.draw(input_sequences(prog.input_size))
    T = min(xa.shape[0], xb.shape[0])
    new_tx = data.draw(st.sampled_from([0.0, 0.05, 0.5]))
    new_th = [data.draw(st.sampled_from([0.0, 1 / 256, 0.2])) for _ in range(prog.num_layers)]
    sa, sb = edgedrnn.Session(prog), edgedrnn.Session(prog)
    ra, rb = (edgedrnn.Session(prog, backend="reference") for _ in range(2))
    for t in range(T):
        if t == switch:
            for s in (sa, ra):
                s.set_thresholds(theta_x=new_tx, theta_h=new_th)
        for s, r, x in ((sa, ra, xa), (sb, rb, xb)):
            np.testing.assert_array_equal(s.step_q(x[t]), r.step_q(x[t]))
            np.testing.assert_array_equal(s.last_nonzero, r.last_nonzero)
            assert s.overflow == r.overflow
    # a whole-sequence run with the same schedule gives the same last output
    L = prog.num_layers
    tx = np.tile(np.asarray(prog.theta_x, dtype=np.float64), (T, 1))
    th = np.tile(np.asarray(prog.theta_h, dtype=np.float64), (T, 1))
    tx[switch:] = new_tx
    th[switch:] = new_th
    res = edgedrnn.run(prog, xa[:T], backend="cpu", theta_x=tx, theta_h=th)
    assert tx.shape == (T, L)
    sa2 = edgedrnn.Session(prog)
    for t in range(T):
        if t == switch:
            sa2.set_thresholds(theta_x=new_tx, theta_h=new_th)
        last = sa2.step_q(xa[t])
    np.testing.assert_array_equal(last, res.outputs_q[-1])
    assert sa2.overflow == res.overflow


def test_float_input_step_equals_run_and_reset():
    rng = np.random.default_rng(5)
    prog = random_program(rng, [6, 10, 7], theta_x=10, theta_h=4, wmax=40)
    x = np.cumsum(rng.normal(0, 0.2, (30, 6)), axis=0)
    res = edgedrnn.run(prog, x, backend="cpu")
    s = edgedrnn.Session(prog)
    for _ in range(2):  # reset gives the same sequence again
        y = np.stack([s.step(v) for v in x])
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, res.outputs.astype(np.float32))
        s.reset()
    ref = edgedrnn.Session(prog, backend="reference")
    np.testing.assert_array_equal(ref.run(x), y)
    assert s.steps == 0 and ref.steps == 30


def test_float_mode_session_matches_deltagru():
    rng = np.random.default_rng(2)
    prog = random_program(rng, [5, 12, 9], theta_x=8, theta_h=3, wmax=60)
    x_q = np.rint(np.cumsum(rng.normal(0, 0.1, (40, 5)), 0) * 256).astype(np.int16)
    s = edgedrnn.Session(prog, mode="float")
    y = np.stack([s.step(v) for v in x_q.astype(np.float32) / 256])
    want, nz = float_reference(prog, x_q)
    np.testing.assert_allclose(y, want, atol=1e-5, rtol=0)
    assert_counts_close(s.last_nonzero, nz[-1])
    s.reset()
    np.testing.assert_allclose(s.step(x_q[0]), want[0], atol=1e-6, rtol=0)  # int16 input


def test_thresholds_per_layer_and_validation():
    prog = random_program(np.random.default_rng(0), [3, 4, 5])
    s = edgedrnn.Session(prog, theta_x=0.5, theta_h=[0.1, 0.2])
    assert s.theta_x == [0.5, 0.5] and s.theta_h == [pytest.approx(0.1, abs=1 / 512), 0.19921875]
    with pytest.raises(ValueError, match="per-layer"):
        s.set_thresholds(theta_x=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        s.set_thresholds(theta_h=-1.0)
    with pytest.raises(ValueError, match="shape"):
        s.step(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        s.step(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(TypeError):
        s.step(np.zeros(3, dtype=np.int32))
    with pytest.warns(edgedrnn.InputClippedWarning):
        s.step(np.array([0.0, 500.0, 0.0]))
    with pytest.raises(ValueError, match="backend"):
        edgedrnn.Session(prog, backend="rtl")
    with pytest.raises(ValueError, match="exact"):
        edgedrnn.Session(prog, backend="reference", mode="float")


def test_sessions_share_weights_not_state():
    prog = random_program(np.random.default_rng(1), [4, 8])
    a, b = edgedrnn.Session(prog), edgedrnn.Session(prog)
    assert a.stream.net is b.stream.net
    a.step(np.ones(4))
    for _ in range(3):
        b.step(np.full(4, -2.0))  # must not disturb a
    np.testing.assert_array_equal(
        a.step_q(np.ones(4)), edgedrnn.run(prog, np.ones((2, 4)), backend="cpu").outputs_q[-1]
    )


# ------------------------------------------------------------ failed calls change nothing
#: Calls that must fail, each with what it is given (a hostile user's inputs).
BAD_CALLS = [
    ("set_thresholds", {"theta_x": 0.5, "theta_h": -1}),
    ("set_thresholds", {"theta_x": [0.1, 0.2, 0.3, 0.4], "theta_h": 0.1}),
    ("set_thresholds", {"theta_x": "high"}),
    ("set_thresholds", {"theta_h": float("nan")}),
    ("set_thresholds", {"theta_x": 0.2, "theta_h": 200.0}),
    ("step", {"x": "nan"}),
    ("step", {"x": "wrong-shape"}),
    ("step_q", {"x": "int32"}),
    ("run", {"x": "empty"}),
    ("run", {"x": "nan-late"}),
]
STREAMS = [("reference", "exact"), ("cpu", "exact"), ("cpu", "float")]


def _bad_argument(kind: str, size: int):
    return {
        "nan": np.full(size, np.nan),
        "wrong-shape": np.zeros(size + 1),
        "int32": np.zeros(size, dtype=np.int32),
        "empty": np.zeros((0, size)),
        "nan-late": np.vstack([np.zeros((3, size)), np.full((1, size), np.inf)]),
    }[kind]


def _observe(session: edgedrnn.Session):
    return (
        session.steps,
        session.theta_x,
        session.theta_h,
        session.overflow,
        session.last_nonzero.tolist(),
    )


@pytest.mark.parametrize(("backend", "mode"), STREAMS)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), call=st.sampled_from(BAD_CALLS), before=st.integers(0, 6))
def test_a_failed_call_changes_nothing(backend, mode, data, call, before):
    """After any failed call, a Session's observable state and every later output equal a
    clean Session's that never saw the call (every streaming backend)."""
    prog = data.draw(networks(max_layers=2))
    x = data.draw(input_sequences(prog.input_size, max_steps=12))
    hit, clean = (edgedrnn.Session(prog, backend=backend, mode=mode) for _ in range(2))
    for t in range(min(before, x.shape[0])):
        np.testing.assert_array_equal(hit.step_q(x[t]), clean.step_q(x[t]))
    name, kwargs = call
    kwargs = {k: _bad_argument(v, prog.input_size) if k == "x" else v for k, v in kwargs.items()}
    with pytest.raises((ValueError, TypeError)):
        getattr(hit, name)(**kwargs)
    assert _observe(hit) == _observe(clean)
    for t in range(x.shape[0]):
        np.testing.assert_array_equal(hit.step_q(x[t]), clean.step_q(x[t]))
        assert _observe(hit) == _observe(clean)


def test_steps_count_only_steps_that_ran():
    prog = random_program(np.random.default_rng(2), [3, 5])
    s = edgedrnn.Session(prog)
    s.step(np.zeros(3))
    with pytest.raises(ValueError):
        s.step(np.full(3, np.nan))
    with pytest.raises(ValueError):
        s.run(np.zeros((0, 3)))
    assert s.steps == 1
    s.run(np.zeros((4, 3)))
    assert s.steps == 5


def test_run_and_session_validate_the_program():
    prog = random_program(np.random.default_rng(3), [3, 5])
    object.__setattr__(prog, "theta_x_q", (70000,))  # bypassing the frozen dataclass
    with pytest.raises(edgedrnn.ProgramFormatError, match="outside 0..32767"):
        edgedrnn.Session(prog)
    with pytest.raises(edgedrnn.ProgramFormatError, match="outside 0..32767"):
        edgedrnn.run(prog, np.zeros((2, 3)))
