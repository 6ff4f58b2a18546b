"""``evaluate``: the threshold sweep's table, JSON, plot and reference check."""

from __future__ import annotations

import json

import pytest
import torch

from edgedrnn.cli import main as cli_main
from edgedrnn.tradeoff import evaluate, plot, render_table, target_check
from edgedrnn.train import TrainConfig, train
from edgedrnn.train.synthetic import make_task, num_outputs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("eval")
    cfg = TrainConfig(
        task="regress",
        num_outputs=num_outputs("regress"),
        hidden_size=16,
        num_layers=2,
        dense_epochs=3,
        delta_epochs=1,
        batch_size=16,
        delta_batch_size=32,
        lr=1e-2,
        theta_x=0.05,
        theta_h=0.05,
        threads=1,
        device="cpu",
    )
    meta = {"data": {"source": "synthetic-regress", "seed": 0}}
    tr, va = make_task("regress", 64, seed=0), make_task("regress", 16, seed=1)
    model = train(cfg, tr, va, out, meta, progress=False)
    return model, make_task("regress", 12, seed=2), out


def test_sweep_rows(trained, tmp_path):
    model, test, _ = trained
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
    assert table.row_count == 3
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


def test_cli_evaluate_writes_json_and_plot(trained, tmp_path):
    _, _, out = trained
    rc = cli_main(
        [
            "evaluate",
            str(out / "model.pt"),
            "--thetas",
            "0,0.2",
            "--reference",
            "1",
            "--out",
            str(tmp_path),
            "--quiet",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    res = json.loads((tmp_path / "tradeoff.json").read_text())
    assert [r["theta"] for r in res["rows"]] == [0.0, 0.2]
    assert res["rows"][1]["reference"]["equal"]
    assert (tmp_path / "tradeoff.png").exists()
