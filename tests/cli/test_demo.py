"""``edgedrnn demo``: the shipped pretrained model on unseen utterances, backends equal."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import edgedrnn
from edgedrnn.cli import main as cli_main
from edgedrnn.pretrained import DIGITS_MODEL, DIGITS_PROGRAM
from edgedrnn.train import load_model

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_pretrained_model_ships_small_and_loads():
    folder = DIGITS_MODEL.parent
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert total < 3_000_000
    assert "edgedrnn train" in (folder / "README.md").read_text()
    model = load_model(DIGITS_MODEL)
    assert model.is_delta and model.rnn.quantized and model.task == "ctc"
    assert model.rnn.num_layers == 2 and min(model.rnn.hidden_sizes) >= 256
    assert model.metadata["command"].startswith("edgedrnn train")
    program = edgedrnn.Program.load(DIGITS_PROGRAM)
    # The model's own quantized forward equals the shipped Program on the reference.
    x = torch.randn(12, program.input_size) * 0.5
    with torch.no_grad():
        y, _ = model.rnn.eval()(x)
    ref = edgedrnn.run(program, x.numpy().astype("float64"), backend="reference")
    assert (ref.outputs_q == (y.double().numpy() * 256).round().astype("int16")).all()


@needs_espeak
def test_demo_runs_and_backends_agree(tmp_path):
    rc = cli_main(
        [
            "demo",
            "-n",
            "1",
            "--backends",
            "reference,torch,cpu",
            "--out",
            str(tmp_path),
            "--threads",
            "1",
        ]
    )
    summary = json.loads((tmp_path / "demo.json").read_text())
    assert rc == 0
    assert summary["backends"]["reference"]["equal"] and summary["backends"]["torch"]["equal"]
    assert (tmp_path / "delta_activity.png").stat().st_size > 5000
    utt = summary["utterances"][0]
    assert utt["steps"] > 0 and utt["spoken"]
    assert summary["columns_per_step"] > 0


@pytest.mark.slow
@needs_espeak
def test_full_demo_with_rtl(tmp_path):
    rc = cli_main(["demo", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "demo.json").read_text())
    assert rc == 0
    if "rtl" in summary["backends"]:
        assert summary["backends"]["rtl"]["equal"]
        assert summary["cycles"]["mean"] > 0
    assert summary["wer"] <= 20.0
