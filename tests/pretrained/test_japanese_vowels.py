"""The shipped JapaneseVowels model: loads, its Program equals its own forward, and it reaches
the accuracy documented in docs/tradeoff.md on the archive's test split through the cpu
backend (the compiled Program, integer arithmetic)."""

from __future__ import annotations

import pytest
import torch

import edgedrnn
from edgedrnn.compiler import compile as compile_program
from edgedrnn.pretrained import (
    JAPANESE_VOWELS_MODEL,
    JAPANESE_VOWELS_PROGRAM,
    MODELS,
    model_path,
)
from edgedrnn.train import load_model

#: docs/tradeoff.md: Θ -> (test series classified right of 370, weight columns fetched
#: over the test set's 5,687 steps).
DOCUMENTED = {0.3: (362, 116_419), 0.5: (361, 58_785)}
#: Columns a dense GRU of the same size fetches per step (12 inputs + 128 hidden).
DENSE_COLUMNS = 140


def test_shipped_model_is_small_named_and_equal_to_its_program():
    assert model_path("japanese-vowels") == JAPANESE_VOWELS_MODEL == MODELS["japanese-vowels"]
    with pytest.raises(KeyError, match="digits, japanese-vowels"):
        model_path("no-such-model")
    size = JAPANESE_VOWELS_MODEL.stat().st_size + JAPANESE_VOWELS_PROGRAM.stat().st_size
    assert size < 200_000
    model = load_model(JAPANESE_VOWELS_MODEL)
    assert model.is_delta and model.rnn.quantized and model.task == "classify"
    assert model.rnn.layer_sizes() == [(12, 128)]
    assert model.metadata["command"].startswith("edgedrnn train --")
    assert model.metadata["data"]["source"] == "japanese-vowels"
    program = edgedrnn.Program.load(JAPANESE_VOWELS_PROGRAM)
    assert program.to_bytes() == compile_program(model.rnn).to_bytes()
    x = torch.randn(20, 12)
    with torch.no_grad():
        y, _ = model.rnn.eval()(x)
    ref = edgedrnn.run(program, x.numpy().astype("float64"), backend="reference")
    assert (ref.outputs_q == (y.double().numpy() * 256).round().astype("int16")).all()


def test_shipped_model_reaches_its_documented_accuracy_on_the_cpu_backend():
    pytest.importorskip("aeon", reason="needs aeon's JapaneseVowels files (edgedrnn[uea])")
    pytest.importorskip("numba", reason="the cpu backend needs numba")
    from edgedrnn.train.datasets import evaluation_data

    model = load_model(JAPANESE_VOWELS_MODEL)
    test = evaluation_data(model.metadata)  # the archive's 370 test series, normalised
    assert len(test) == 370
    steps = sum(len(x) for x, _ in test)
    for theta, (right, columns) in DOCUMENTED.items():
        program = compile_program(model.rnn, theta_x=theta, theta_h=theta)
        got_right = got_columns = 0
        for x, label in test:
            res = edgedrnn.run(program, x, backend="cpu")
            scores = model.head(torch.as_tensor(res.outputs, dtype=torch.float32)[None])
            got_right += int(model.predict(scores, torch.tensor([len(x)]))[0] == label)
            got_columns += int(res.nonzero.sum())
        assert (got_right, got_columns) == (right, columns), theta
        # the target: >= 97 % with >= 5x fewer weight columns than a dense GRU
        assert got_right / len(test) >= 0.97
        assert DENSE_COLUMNS * steps / got_columns >= 5.0
