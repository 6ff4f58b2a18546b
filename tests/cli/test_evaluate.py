"""``edgedrnn evaluate``: the JSON, table and plot of the sweep for each task kind, the float
baselines, the backends, and ``train``'s test report that it agrees with."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn.cli import main as cli_main
from edgedrnn.data import SequenceDataset, from_npz
from edgedrnn.train import load_model
from training import tiny_regression_model

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="needs Verilator")

SMALL = ["--hidden", "16", "--layers", "1", "--dense-epochs", "3", "--delta-epochs", "1"]
SMALL += ["--batch-size", "16", "--lr", "0.01", "--theta-x", "0.05", "--theta-h", "0.05"]
SMALL += ["--device", "cpu", "--threads", "1", "--quiet"]
QUICK = ["--quiet", "--threads", "1"]


def _train(out, *argv: str) -> None:
    assert cli_main(["train", *argv, "--out", str(out), *SMALL]) == 0


def _evaluate(model, out, *argv: str) -> dict:
    assert cli_main(["evaluate", str(model), "--out", str(out), *argv, *QUICK]) == 0
    return json.loads((out / "tradeoff.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small models trained by the CLI: classification, CTC, and regression on a .npz file
    whose targets are in large units (N·m around 1000)."""
    tmp = tmp_path_factory.mktemp("evaluate")
    rng = np.random.default_rng(0)
    for name, n in (("train", 48), ("test", 6)):
        feats = [rng.normal(0, 1, (int(rng.integers(10, 16)), 3)) for _ in range(n)]
        targets = [
            np.stack([1000 + 50 * np.cumsum(f[:, 0]) / 4, -3 + 0.1 * f[:, 1]], axis=1)
            for f in feats
        ]
        ds = SequenceDataset(feats, targets, kind="regression")
        ds.save_npz(tmp / f"{name}.npz")
    _train(tmp / "classify", "--data", "synthetic-classify")
    _train(tmp / "ctc", "--data", "synthetic-ctc")
    _train(tmp / "regress", "--data", str(tmp / "train.npz"), "--test", str(tmp / "test.npz"))
    return tmp


def test_classification_json_rows_occupancy_and_float_baselines(runs, tmp_path, capsys):
    capsys.readouterr()
    json_path = tmp_path / "where" / "sweep.json"
    argv = ["--thetas", "0,0.1,0.3", "--reference", "1", "--json", str(json_path)]
    assert (
        cli_main(
            ["evaluate", str(runs / "classify" / "model.pt"), "--out", str(tmp_path), *argv, *QUICK]
        )
        == 0
    )
    res = json.loads(json_path.read_text())
    assert res["task"] == "classify" and res["metric"] == "error" and res["backend"] == "torch"
    assert [r["theta"] for r in res["rows"]] == [0.0, 0.1, 0.3]
    assert [b["kind"] for b in res["baselines"]] == ["dense", "float"]
    assert res["baseline"]["kind"] == "dense" and 0 <= res["baseline"]["accuracy"] <= 100
    assert res["dense_model"] == str(runs / "classify" / "dense.pt")
    for r in res["rows"]:
        assert r["accuracy"] == pytest.approx(100 - r["error"])
        assert r["vs_baseline"] == pytest.approx(r["error"] - res["baseline"]["error"])
        assert r["reference"]["equal"] and r["reference"]["against"] == "reference"
        assert r["occupancy"] == pytest.approx(r["columns_per_step"] / r["columns_dense"])
        for lay in r["layers"]:
            assert lay["occupancy_dx"] == pytest.approx(1 - lay["sparsity_dx"])
            assert lay["occupancy_dh"] == pytest.approx(1 - lay["sparsity_dh"])
    assert res["rows"][2]["columns_per_step"] < res["rows"][0]["columns_per_step"]
    assert (tmp_path / "tradeoff.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "float: dense.pt" in out and "accuracy (%)" in out
    assert "PyTorch path equal to the reference backend on all 3 Θ checked" in out


def test_regression_json_in_the_targets_units(runs, tmp_path):
    """RMSE and MAE per target in N·m: recomputed from the Program on the cpu backend and
    the head, against the raw targets of the test file; train's test report agrees."""
    model_pt = runs / "regress" / "model.pt"
    res = _evaluate(model_pt, tmp_path, "--thetas", "0,0.05", "--reference", "0")
    assert res["task"] == "regress" and res["metric"] == "rmse"
    assert res["units"] == "targets' own units"
    row = res["rows"][1]
    assert [t["name"] for t in row["per_target"]] == ["y0", "y1"]
    model = load_model(model_pt)
    program = edgedrnn.Program.load(model_pt.with_suffix(".edrnn"))
    norm = edgedrnn.data.Normalization.from_dict(model.metadata["normalization"])
    err = []
    for x, y in from_npz(runs / "test.npz"):
        out = edgedrnn.run(program, norm(x), backend="cpu", theta_x=0.05, theta_h=0.05)
        with torch.no_grad():
            pred = model.head(torch.as_tensor(out.outputs, dtype=torch.float32)).numpy()
        err.append(pred - y)
    err = np.concatenate(err)
    assert np.abs(err[:, 0]).mean() > 0.1  # N·m, not normalised units: the errors differ
    for k, t in enumerate(row["per_target"]):
        assert t["rmse"] == pytest.approx(np.sqrt(np.mean(err[:, k] ** 2)), rel=1e-4)
        assert t["mae"] == pytest.approx(np.mean(np.abs(err[:, k])), rel=1e-4)
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-4)
    test = json.loads((runs / "regress" / "test.json").read_text())  # trained at Θ = 0.05
    assert test["model"]["rmse"] == pytest.approx(row["rmse"], rel=1e-5)
    assert test["dense"]["rmse"] == pytest.approx(res["baselines"][0]["rmse"], rel=1e-5)
    assert row["vs_baseline"] == pytest.approx(row["rmse"] / res["baseline"]["rmse"])


def test_ctc_json_reports_wer(runs, tmp_path):
    res = _evaluate(runs / "ctc" / "model.pt", tmp_path, "--thetas", "0,0.2", "--reference", "1")
    assert res["task"] == "ctc" and res["metric"] == "wer"
    assert all(r["wer"] >= 0 and r["reference"]["equal"] for r in res["rows"])
    assert "wer" in res["baseline"]


@needs_espeak
def test_wer_of_the_shipped_spoken_digits_model(tmp_path):
    argv = ["--n-test", "2", "--thetas", "0,0.2", "--reference", "0"]
    assert cli_main(["evaluate", *argv, "--out", str(tmp_path), *QUICK]) == 0
    res = json.loads((tmp_path / "tradeoff.json").read_text())
    assert res["task"] == "ctc" and res["test_sequences"] == 2
    assert [r["theta"] for r in res["rows"]] == [0.0, 0.2]
    assert all(0 <= r["wer"] <= 100 for r in res["rows"])
    assert res["baseline"]["kind"] == "float"  # no dense.pt ships with it


def test_backends_give_the_same_numbers(runs, tmp_path):
    model = runs / "classify" / "model.pt"
    argv = ["--thetas", "0,0.2", "--reference", "1", "--max-sequences", "5"]
    torch_res = _evaluate(model, tmp_path / "torch", *argv)
    cpu = _evaluate(model, tmp_path / "cpu", *argv, "--backend", "cpu")
    ref = _evaluate(model, tmp_path / "ref", *argv, "--backend", "reference")
    assert torch_res["test_sequences"] == 5 and torch_res["test_sequences_available"] > 5
    for res in (cpu, ref):
        for a, b in zip(res["rows"], torch_res["rows"], strict=True):
            assert a["error"] == b["error"] and a["columns_per_step"] == b["columns_per_step"]
            assert a["reference"]["equal"]
    assert cpu["rows"][0]["reference"]["against"] == "reference"
    assert ref["rows"][0]["reference"]["against"] == "torch"  # the reference checked too


@needs_verilator
def test_rtl_backend_runs_a_few_sequences(runs, tmp_path, capsys):
    model = runs / "classify" / "model.pt"
    capsys.readouterr()
    res = _evaluate(model, tmp_path, "--thetas", "0,0.2", "--backend", "rtl", "--reference", "1")
    assert res["backend"] == "rtl" and res["test_sequences"] == 4
    assert all(r["reference"]["equal"] for r in res["rows"])
    assert "rtl: the first 4 of" in capsys.readouterr().out


def test_a_dense_model_gives_its_float_metric(runs, tmp_path, capsys):
    capsys.readouterr()
    res = _evaluate(runs / "classify" / "dense.pt", tmp_path)
    assert res["rows"] == [] and res["baseline"]["kind"] == "dense"
    assert "is a dense float GRU" in capsys.readouterr().out


def test_cli_evaluate_without_dense_model_and_without_reference(tmp_path, capsys):
    tiny_regression_model(tmp_path / "run")  # the Python API writes dense.pt beside it
    (tmp_path / "run" / "dense.pt").unlink()
    capsys.readouterr()
    argv = ["--thetas", "0.1", "--reference", "0"]
    res = _evaluate(tmp_path / "run" / "model.pt", tmp_path / "eval", *argv)
    assert [b["kind"] for b in res["baselines"]] == ["float"]
    assert "reference" not in res["rows"][0]
    out = capsys.readouterr().out
    assert "exactness: not checked (--reference 0)" in out
    assert "no dense.pt beside the model" in out


def test_several_models_give_the_weight_sparsity_grid(runs, tmp_path, capsys):
    """A dense-weight and a pruned model of one task: each swept into its own folder, the
    grid's rows ordered by γ, bytes from each model's own image (the pruned one's sparse
    columns are smaller), and a dense model or --dense refused."""
    pruned = tmp_path / "pruned"
    _train(pruned, "--data", "synthetic-classify", "--weight-sparsity", "0.75", "--num-pe", "4")
    shipped = edgedrnn.Program.load(pruned / "model.edrnn")  # train's Program: the sparse image
    assert shipped.hw.sparse_weights and shipped.hw.num_pe == 4
    assert [lay.slots for lay in shipped.layers] == [1]
    dense_weights = runs / "classify" / "model.pt"
    out = tmp_path / "grid"
    argv = ["--thetas", "0,0.2", "--reference", "1", "--out", str(out), *QUICK]
    capsys.readouterr()
    assert cli_main(["evaluate", str(pruned / "model.pt"), str(dense_weights), *argv]) == 0
    grid = json.loads((out / "grid.json").read_text())
    assert [m["weight_sparsity"] for m in grid["models"]] == [0.0, 0.75]
    assert (out / "grid.png").stat().st_size > 0
    assert (out / "0-model" / "tradeoff.json").is_file()
    assert (out / "1-model" / "tradeoff.json").is_file()
    rows = {(r["weight_sparsity"], r["theta"]): r for r in grid["rows"]}
    assert set(rows) == {(0.0, 0.0), (0.0, 0.2), (0.75, 0.0), (0.75, 0.2)}
    for (gamma, _), r in rows.items():
        assert 0 <= r["accuracy"] <= 100
        assert r["bytes_reduction"] == pytest.approx(r["bytes_dense_step"] / r["bytes_per_step"])
        # 1L-16H on 4 PEs: a dense column is 48 bytes; at γ = 3/4 one slot per (gate, lane),
        # 6 · 1 · 4 = 24 bytes: half the bytes per passed column on top of the occupancy
        fewer = 1 if gamma == 0.0 else 2
        assert r["bytes_reduction"] == pytest.approx(fewer / r["occupancy"], rel=1e-9)
    printed = capsys.readouterr().out
    assert "weight sparsity γ × threshold Θ" in printed and "fewer" in printed
    assert cli_main(["evaluate", str(runs / "classify" / "dense.pt"), str(dense_weights)]) == 2
    assert "the grid compares DeltaGRU models" in capsys.readouterr().err
    assert cli_main(["evaluate", str(pruned / "model.pt"), str(dense_weights), "--dense", "x"]) == 2
    assert "each uses its own" in capsys.readouterr().err
