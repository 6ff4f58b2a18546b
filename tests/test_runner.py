"""run(): input validation, threshold schedules, results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn import InputClippedWarning


@pytest.fixture(scope="module")
def program():
    torch.manual_seed(0)
    return edgedrnn.compile(edgedrnn.DeltaGRU(3, [5, 4], 2, theta_x=0.05, theta_h=0.05))


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.zeros((4, 2)), ValueError, "2 features per step, the program expects 3"),
        (np.zeros(3), ValueError, "2-D"),
        (np.zeros((2, 4, 3)), ValueError, "run each sequence separately"),
        (np.array([[0.0, np.nan, 0.0]]), ValueError, "NaN or inf.*step 0, feature 1"),
        (np.array([[0.0, 0.0, np.inf]]), ValueError, "NaN or inf"),
        (np.zeros((2, 3), dtype=np.int32), TypeError, "int16"),
    ],
)
def test_bad_input_is_refused_clearly(program, x, error, message):
    with pytest.raises(error, match=message):
        edgedrnn.run(program, x)


def test_float_int16_and_tensor_inputs_agree(program):
    x = np.random.default_rng(0).normal(size=(8, 3))
    a = edgedrnn.run(program, x)
    b = edgedrnn.run(program, np.rint(x * 256).astype(np.int16))
    c = edgedrnn.run(program, torch.from_numpy(x).float(), backend="torch")
    assert a.same_as(b) and a.same_as(c)
    assert a.outputs.shape == (8, 4) and a.nonzero.shape == (8, 2, 2) and a.cycles is None
    assert np.array_equal(a.outputs, a.outputs_q / 256)


def test_clipped_float_input_warns(program):
    with pytest.warns(InputClippedWarning, match="2 input value"):
        edgedrnn.run(program, np.array([[200.0, -300.0, 0.0]]))


def test_threshold_schedules(program):
    x = np.cumsum(np.random.default_rng(1).normal(0, 0.05, (10, 3)), axis=0)
    scalar = edgedrnn.run(program, x, theta_x=0.1, theta_h=0.1)
    per_step = edgedrnn.run(program, x, theta_x=[0.1] * 10, theta_h=np.full(10, 0.1))
    per_layer = edgedrnn.run(
        program, x, theta_x=np.full((1, 2), 0.1), theta_h=np.full((10, 2), 0.1)
    )
    assert scalar.same_as(per_step) and scalar.same_as(per_layer)
    default = edgedrnn.run(program, x)
    assert default.same_as(edgedrnn.run(program, x, theta_x=0.05, theta_h=0.05))
    with pytest.raises(ValueError, match="one threshold per step; expected length 10"):
        edgedrnn.run(program, x, theta_x=[0.1, 0.2])
    with pytest.raises(ValueError, match="non-negative"):
        edgedrnn.run(program, x, theta_h=-0.5)
    with pytest.raises(ValueError, match="below 128"):
        edgedrnn.run(program, x, theta_h=500.0)


def test_unknown_backend_and_non_program(program):
    with pytest.raises(ValueError, match="unknown backend 'fpga'.*reference"):
        edgedrnn.run(program, np.zeros((1, 3)), backend="fpga")
    with pytest.raises(TypeError, match="needs a Program"):
        edgedrnn.run("net.edrnn", np.zeros((1, 3)))


@pytest.mark.parametrize(
    ("backend", "options", "error", "message"),
    [
        ("torch", {"frame_cycles": 5}, TypeError, r"torch backend takes no options.*frame_cycles"),
        (
            "reference",
            {"kernel": "vnni"},
            TypeError,
            r"option.*known: \['mode'\]",
        ),
        ("reference", {"mode": "float"}, ValueError, "exact .integer. mode only, not 'float'"),
        ("cpu", {"frame_cycles": 5}, TypeError, "frame_cycles"),
    ],
)
def test_options_a_backend_does_not_take_are_refused(program, backend, options, error, message):
    with pytest.raises(error, match=message):
        edgedrnn.run(program, np.zeros((2, 3)), backend=backend, **options)


def test_python_ints_are_real_values_as_in_session_step(program):
    """A list of Python ints is real values for run() as for Session.step (not raw Q8.8)."""
    rows = [[1, 0, -2, 3]] * 3
    ints = edgedrnn.run(program, [r[: program.input_size] for r in rows])
    floats = edgedrnn.run(program, np.asarray(rows, dtype=float)[:, : program.input_size])
    assert ints.same_as(floats)
    s = edgedrnn.Session(program, backend="reference")
    np.testing.assert_array_equal(s.step_q(rows[0][: program.input_size]), ints.outputs_q[0])


@pytest.mark.parametrize(
    ("theta", "match"),
    [("0.1", "thresholds must be numbers"), ([[0.1, 0.2, 0.3]], "does not broadcast")],
)
def test_bad_threshold_schedules_say_what_is_wrong(program, theta, match):
    with pytest.raises(ValueError, match=match):
        edgedrnn.run(program, np.zeros((2, program.input_size)), theta_x=theta)
