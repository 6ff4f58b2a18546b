"""``load_model``: a path or a model/checkpoint dictionary, as its docstring says; clear
errors for anything else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edgedrnn.train.checkpoint import (
    load_checkpoint,
    load_model,
    model_payload,
    save_checkpoint,
    save_model,
)
from edgedrnn.train.dense import DenseGRU
from edgedrnn.train.heads import SequenceModel


@pytest.fixture
def model() -> SequenceModel:
    torch.manual_seed(0)
    return SequenceModel(DenseGRU(3, 8, 1), nn.Linear(8, 2), "regress", {"note": "x"})


def _same(a: SequenceModel, b: SequenceModel) -> None:
    x = torch.randn(1, 5, 3)
    torch.testing.assert_close(a.eval()(x), b(x))
    assert b.metadata == a.metadata and b.task == a.task


def test_a_path_a_model_dict_a_checkpoint_file_and_a_checkpoint_dict(model, tmp_path):
    save_model(model, tmp_path / "m.pt")
    _same(model, load_model(tmp_path / "m.pt"))
    _same(model, load_model(str(tmp_path / "m.pt")))
    _same(model, load_model(model_payload(model)))
    save_checkpoint(tmp_path / "last.pt", model, phase="dense", epoch=3, optimizer=None)
    _same(model, load_model(tmp_path / "last.pt"))
    ck = load_checkpoint(tmp_path / "last.pt")
    _same(model, load_model(ck))  # the dict the docstring means: a checkpoint's model
    _same(model, load_model(ck["model"]))


def test_an_exported_model_dict_finds_its_program_with_base(tmp_path):
    from edgedrnn import DeltaGRU
    from edgedrnn.compiler import compile as compile_program

    torch.manual_seed(1)
    rnn = DeltaGRU(3, 8, 1, theta_x=0.1, theta_h=0.1, quantized=True)
    m = SequenceModel(rnn, nn.Linear(8, 2), "regress")
    path = save_model(m, tmp_path / "ship" / "m.pt", compile_program(rnn))
    payload = torch.load(path, weights_only=True)
    with pytest.raises(FileNotFoundError):
        load_model(payload)  # the Program is not in the current folder
    again = load_model(payload, base=path.parent)
    assert again.is_delta and again.rnn.theta_x == [0.1]


@pytest.mark.parametrize(
    "make, error, fragment",
    [
        (lambda p: p / "missing.pt", FileNotFoundError, "no model file"),
        (lambda p: p, IsADirectoryError, "is a folder"),
        (lambda p: _write(p / "junk.pt", b"not a torch file"), ValueError, "not an edgedrnn"),
        (lambda p: _save(p / "t.pt", torch.zeros(3)), ValueError, "holds a Tensor"),
        (lambda p: _save(p / "d.pt", {"weights": torch.zeros(3)}), ValueError, "found weights"),
        (lambda p: _save(p / "f.pt", {"format": "other"}), ValueError, "found other"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, make, error, fragment):
    with pytest.raises(error, match=fragment):
        load_model(make(tmp_path))


def test_bad_dicts_and_types(model):
    with pytest.raises(ValueError, match="the dictionary is not an edgedrnn model"):
        load_model({"state_dict": {}})
    with pytest.raises(TypeError, match="a model file's path or a model/checkpoint dictionary"):
        load_model(model)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _save(path, obj):
    torch.save(obj, path)
    return path
