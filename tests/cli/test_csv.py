"""``edgedrnn train/evaluate --data FILE.csv``: the worked example of docs/data.md end to end
(generate, train for an epoch or two, evaluate, run on the cpu backend), and classification."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn.cli import main
from edgedrnn.train import load_model
from edgedrnn.train.datasets import evaluation_data

ROOT = Path(__file__).resolve().parents[2]
INPUTS = "hip_angle_deg,knee_angle_deg,thigh_gyro_dps,heel_load_N,toe_load_N"
TARGETS = "hip_torque_Nm,knee_torque_Nm"
SMALL = ["--hidden", "16", "--layers", "1", "--dense-epochs", "2", "--delta-epochs", "1"]
SMALL += ["--batch-size", "16", "--lr", "0.01", "--theta-x", "0.05", "--theta-h", "0.05"]
SMALL += ["--device", "cpu", "--threads", "1", "--quiet"]


def gait_example():
    spec = importlib.util.spec_from_file_location("gait_csv", ROOT / "examples" / "gait_csv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gait_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gait")
    csv = gait_example().write(tmp / "gait.csv", rows=1500, seed=0)
    argv = ["train", "--data", str(csv), "--inputs", INPUTS, "--targets", TARGETS]
    argv += ["--task", "regress", "--window", "100", "--stride", "50", "--out", str(tmp / "run")]
    assert main(argv + SMALL) == 0
    return tmp, csv


def test_gait_example_columns(tmp_path):
    example = gait_example()
    path = example.write(tmp_path / "g.csv", rows=500, seed=3)
    header = path.read_text().splitlines()[0].split(",")
    assert header == list(example.COLUMNS)
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    assert table.shape == (500, 8) and np.all(np.isfinite(table))
    assert np.all(table[:, 4:6] >= 0)  # load cells


def test_csv_train_stores_columns_split_and_statistics(gait_run):
    tmp, csv = gait_run
    model = load_model(tmp / "run" / "model.pt")
    data = model.metadata["data"]
    assert data["source"] == str(csv) and data["rows"] == [1050, 225, 225]
    assert data["csv"]["inputs"] == INPUTS.split(",") and data["csv"]["window"] == 100
    assert model.metadata["target_normalization"]["folded"]
    assert len(model.metadata["normalization"]["mean"]) == 5
    assert "--inputs " + INPUTS in model.metadata["command"]
    assert "--split 0.7,0.15,0.15" in model.metadata["command"]
    # no --delta-batch-size: 20 training windows (100 rows at stride 50 in 1050) would be one
    # QAT step per epoch at the usual 128, so the batch is cut to keep 16 steps (20 of 1)
    assert model.metadata["train_config"]["delta_batch_size"] == 1


def test_csv_evaluate_json_in_the_targets_units_and_the_cpu_backend_agrees(gait_run):
    tmp, csv = gait_run
    model_pt = tmp / "run" / "model.pt"
    argv = ["evaluate", str(model_pt), "--data", str(csv), "--thetas", "0,0.05"]
    argv += ["--reference", "1", "--out", str(tmp / "eval"), "--quiet", "--threads", "1"]
    assert main(argv) == 0
    res = json.loads((tmp / "eval" / "tradeoff.json").read_text())
    assert res["task"] == "regress" and res["metric"] == "rmse"
    assert res["test_sequences"] == 3 and res["test_frames"] == 225
    assert [r["theta"] for r in res["rows"]] == [0.0, 0.05]
    assert all(r["reference"]["equal"] for r in res["rows"])
    # the docs' recipe: Program on the cpu backend, then the head, in N·m
    model = load_model(model_pt)
    program = edgedrnn.Program.load(model_pt.with_suffix(".edrnn"))
    test = evaluation_data(model.metadata)  # the model's own CSV: its test windows
    sq, n = 0.0, 0
    for x, y in test:
        out = edgedrnn.run(program, x, backend="cpu").outputs
        with torch.no_grad():
            pred = model.head(torch.as_tensor(out, dtype=torch.float32)).numpy()
        sq += float(((pred - y) ** 2).sum()) / y.shape[1]
        n += len(y)
    assert np.sqrt(sq / n) == pytest.approx(res["rows"][1]["rmse"], rel=1e-4)
    torques = np.concatenate([y for _, y in test])
    assert torques.std() > 3.0  # raw N·m, not normalised units


def test_csv_classification_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    rows = 900
    label = np.repeat(rng.integers(0, 3, rows // 50), 50)
    x = np.stack([label + rng.normal(0, 0.3, rows), rng.normal(0, 1, rows)], axis=1)
    names = np.array(["stand", "walk", "run"])[label]
    lines = ["s1,s2,activity"] + [
        f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, names, strict=True)
    ]
    csv = tmp_path / "act.csv"
    csv.write_text("\n".join(lines) + "\n")
    argv = ["train", "--data", str(csv), "--inputs", "s1,s2", "--targets", "activity"]
    argv += ["--task", "classify", "--window", "50", "--out", str(tmp_path / "run")]
    assert main(argv + SMALL) == 0
    model = load_model(tmp_path / "run" / "model.pt")
    assert model.task == "classify" and model.metadata["classes"] == ["run", "stand", "walk"]
    assert "target_normalization" not in model.metadata
    argv = ["evaluate", str(tmp_path / "run" / "model.pt"), "--thetas", "0,0.1"]
    argv += ["--reference", "0", "--out", str(tmp_path / "eval"), "--quiet", "--threads", "1"]
    assert main(argv) == 0
    res = json.loads((tmp_path / "eval" / "tradeoff.json").read_text())
    assert res["task"] == "classify" and res["metric"] == "error"
    assert res["test_sequences"] == 3  # 135 test rows in windows of 50
    assert all(0.0 <= r["error"] <= 100.0 and "accuracy" in r for r in res["rows"])
