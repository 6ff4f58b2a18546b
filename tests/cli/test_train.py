"""``edgedrnn train``: log, checkpoint, model and the exported Program."""

from __future__ import annotations

import json

import torch

import edgedrnn
from edgedrnn.cli import main as cli_main
from edgedrnn.train import load_model


def test_cli_train_writes_log_checkpoint_model_and_export(tmp_path):
    out, exp = tmp_path / "run", tmp_path / "ship"
    rc = cli_main(
        [
            "train",
            "--data",
            "synthetic-classify",
            "--hidden",
            "8",
            "--layers",
            "2",
            "--dense-epochs",
            "1",
            "--delta-epochs",
            "1",
            "--batch-size",
            "32",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--export",
            str(exp),
            "--quiet",
        ]
    )
    assert rc == 0
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in log] == ["dense", "delta"]
    assert {"train_loss", "val", "lr", "seconds"} <= set(log[0])
    model = load_model(exp / "model.pt")
    assert model.task == "classify" and model.rnn.quantized
    assert model.metadata["command"].startswith("edgedrnn train")
    assert edgedrnn.Program.load(exp / "model.edrnn").hidden_sizes == [8, 8]
    assert torch.load(out / "last.pt", weights_only=True)["phase"] == "delta"


def test_cli_train_reports_the_test_split_and_saves_the_dense_gru(tmp_path, capsys):
    """Regression on a .npz file with --test: targets normalised for training, the test
    metrics printed and written in the targets' own units, the dense GRU saved folded."""
    import numpy as np

    from edgedrnn.data import SequenceDataset

    rng = np.random.default_rng(1)
    for name, n in (("train", 40), ("test", 5)):
        feats = [rng.normal(0, 1, (12, 2)) for _ in range(n)]
        targets = [np.stack([500 + 40 * f[:, 0], 2 * f[:, 1]], axis=1) for f in feats]
        SequenceDataset(feats, targets, kind="regression").save_npz(tmp_path / f"{name}.npz")
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "train.npz"), "--test", str(tmp_path / "test.npz")]
    argv += ["--hidden", "8", "--layers", "1", "--dense-epochs", "2", "--delta-epochs", "1"]
    argv += ["--threads", "1", "--device", "cpu", "--quiet", "--out", str(out)]
    capsys.readouterr()
    assert cli_main(argv) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "test (5 sequences): DeltaGRU at Θx=0.1 Θh=0.1, quantized: RMSE" in text
    assert "dense float GRU (dense phase): RMSE" in text
    test = json.loads((out / "test.json").read_text())
    model, dense = load_model(out / "model.pt"), load_model(out / "dense.pt")
    assert model.metadata["test"] == test and test["sequences"] == 5
    assert [t["name"] for t in test["model"]["per_target"]] == ["y0", "y1"]
    assert 0 < test["model"]["occupancy"] <= 1 and not dense.is_delta
    for m in (model, dense):  # both heads predict N·m
        assert m.metadata["target_normalization"]["folded"]
    with torch.no_grad():
        x = torch.zeros(1, 3, 2)
        assert abs(float(dense(x)[0, -1, 0]) - 500) < 200  # near the targets' mean, in N·m
    # without --test there is no test split to report
    argv = ["train", "--data", str(tmp_path / "train.npz"), *argv[5:-1], str(tmp_path / "r2")]
    assert cli_main(argv) == 0
    assert "no test split here; give --test FILE.npz" in capsys.readouterr().out
    assert not (tmp_path / "r2" / "test.json").exists()


def test_cli_train_init_refuses_a_delta_model_and_a_missing_file(tmp_path):
    import pytest

    from edgedrnn.cli._args import UsageError
    from edgedrnn.cli.train import initial_model
    from training import tiny_regression_model

    tiny_regression_model(tmp_path)
    args = type("A", (), {"init": str(tmp_path / "model.pt")})()
    with pytest.raises(UsageError, match="is a DeltaGRU"):
        initial_model(None, args, {})
    args.init = str(tmp_path / "nothing.pt")
    with pytest.raises(UsageError, match="--init: no model file"):
        initial_model(None, args, {})
