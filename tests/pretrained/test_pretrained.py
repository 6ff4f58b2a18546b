"""The shipped models: small, loadable, and the Program equal to the model's own forward."""

from __future__ import annotations

import torch

import edgedrnn
from edgedrnn.pretrained import DIGITS_MODEL, DIGITS_PROGRAM
from edgedrnn.train import load_model


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
