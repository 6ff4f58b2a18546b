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
