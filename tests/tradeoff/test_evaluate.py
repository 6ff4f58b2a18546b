"""The trade-off evaluation: the threshold sweep's rows, table, plot and reference check."""

from __future__ import annotations

import json

import pytest

from edgedrnn.tradeoff import evaluate, plot, render_table, target_check
from edgedrnn.train.synthetic import make_task
from training import tiny_regression_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    return tiny_regression_model(out), make_task("regress", 12, seed=2)


def test_sweep_rows(trained, tmp_path):
    model, test = trained
    res = evaluate(model, test, [0.0, 0.1, 0.5], n_reference=2)
    rows = res["rows"]
    assert [r["theta"] for r in rows] == [0.0, 0.1, 0.5]
    assert model.rnn.theta_x == [0.05, 0.05]  # restored after the sweep
    dense = sum(i + h for i, h in model.rnn.layer_sizes())
    assert rows[0]["columns_dense"] == dense
    for r in rows:
        assert 0 < r["columns_per_step"] <= dense
        assert r["reference"]["equal"] and r["reference"]["equal_count"] == 2
        assert r["rmse"] > 0
        for lay in r["layers"]:
            assert 0.0 <= lay["sparsity_dx"] <= 1.0 and 0.0 <= lay["sparsity_dh"] <= 1.0
    assert rows[0]["columns_relative"] == pytest.approx(1.0)
    assert rows[2]["columns_per_step"] < rows[0]["columns_per_step"]
    assert rows[2]["columns_reduction"] == pytest.approx(
        rows[0]["columns_per_step"] / rows[2]["columns_per_step"]
    )
    # Sparsity of Δx in layer 0 grows with Θ (inputs are white noise: a clear effect).
    assert rows[2]["layers"][0]["sparsity_dx"] > rows[0]["layers"][0]["sparsity_dx"]
    json.dumps(res)
    table = render_table(res)
    assert table.row_count == 3 + len(res["baselines"])  # the float baseline first
    png = plot(res, tmp_path / "t.png")
    assert png.stat().st_size > 1000


def test_target_check_logic():
    def row(theta, wer, cols):
        return {
            "theta": theta,
            "wer": wer,
            "columns_per_step": cols,
            "columns_reduction": 100.0 / cols,
        }

    res = {
        "metric": "wer",
        "rows": [row(0.0, 2.0, 100), row(0.1, 2.5, 30), row(0.2, 2.9, 19), row(0.3, 3.1, 10)],
    }
    tg = target_check(res)
    assert tg["met"] and tg["theta"] == 0.2 and tg["columns_reduction"] == pytest.approx(100 / 19)
    res["rows"][2]["wer"] = 3.01
    assert not target_check(res)["met"]
    assert not target_check({"metric": "wer", "rows": res["rows"][1:]})["met"]


def test_target_for_rmse_is_relative():
    """RMSE has the task's own unit: its target allows 10 % above Θ = 0, not one point."""

    def row(theta, rmse, cols):
        return {"theta": theta, "rmse": rmse, "columns_per_step": cols}

    rows = [row(0.0, 0.13, 100), row(0.3, 0.49, 3), row(0.2, 0.14, 15)]
    for r in rows:
        r["columns_reduction"] = 100.0 / r["columns_per_step"]
    tg = target_check({"metric": "rmse", "rows": rows})
    assert tg["met"] and tg["theta"] == 0.2  # 0.49 is far more than 10 % above 0.13
    assert "RMSE within 10% of Θ = 0's" in tg["rule"]
    rows[2]["rmse"] = 0.1431
    assert not target_check({"metric": "rmse", "rows": rows})["met"]


def test_float_gru_is_the_deltagru_in_float_at_theta_0(trained):
    import copy

    import torch

    from edgedrnn.tradeoff import float_gru

    model, test = trained
    ref = copy.deepcopy(model.rnn)
    ref.quantized = False
    ref.set_thresholds(0.0, 0.0)
    x = torch.as_tensor(test[0][0])[None]
    with torch.no_grad():
        want, _ = ref(x)
        got = float_gru(model).features(x)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert model.rnn.quantized and model.rnn.theta_x == [0.05, 0.05]  # untouched


def test_backend_and_max_sequences(trained):
    model, test = trained
    fast = evaluate(model, test, [0.0, 0.2], n_reference=1, max_sequences=4)
    cpu = evaluate(model, test, [0.0, 0.2], n_reference=1, backend="cpu", max_sequences=4)
    assert fast["test_sequences"] == cpu["test_sequences"] == 4
    assert fast["test_sequences_available"] == len(test)
    for a, b in zip(fast["rows"], cpu["rows"], strict=True):
        assert a["rmse"] == b["rmse"] and a["per_target"] == b["per_target"]
        assert a["columns_per_step"] == b["columns_per_step"] and b["reference"]["equal"]
    with pytest.raises(ValueError, match="unknown backend"):
        evaluate(model, test, [0.0], backend="fpga")


def test_regression_target_against_the_float_baseline():
    from edgedrnn.tradeoff.evaluate import float_target_check

    def row(theta, rmse, reduction):
        return {"theta": theta, "rmse": rmse, "columns_reduction": reduction}

    res = {
        "baseline": {"name": "dense float GRU (dense.pt)", "rmse": 0.1},
        "rows": [row(0.0, 0.12, 1.0), row(0.1, 0.149, 5.2), row(0.2, 0.16, 9.0)],
    }
    tg = float_target_check(res)
    assert tg["met"] and tg["theta"] == 0.1 and "within 1.5x of the dense float GRU" in tg["rule"]
    res["rows"][1]["rmse"] = 0.151
    assert not float_target_check(res)["met"]
