"""``edgedrnn data/train/evaluate`` with aeon's data sets; without aeon, how to install it."""

from __future__ import annotations

import json
import sys

import pytest

from edgedrnn.cli import main


@pytest.mark.parametrize(
    "argv",
    [["data", "japanese-vowels"], ["train", "--data", "basic-motions", "--out", "{tmp}/t"]],
    ids=lambda v: v[0],
)
def test_without_aeon_the_error_names_the_extra(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "aeon", None)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "the UEA data sets needs 'aeon'" in err and "pip install 'edgedrnn[uea]'" in err


aeon = pytest.importorskip("aeon", reason="needs aeon (pip install 'edgedrnn[uea]')")


def test_data_summaries(capsys):
    assert main(["data", "japanese-vowels"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "243" in out and "27" in out and "370" in out
    assert "12 features per frame, 9 classes" in out
    assert main(["data", "daphnet-gait"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "4928" in out and "per-frame regression at 64 Hz: 6 inputs" in out


def test_train_and_evaluate_basic_motions(tmp_path):
    argv = ["train", "--data", "basic-motions", "--hidden", "8", "--layers", "1"]
    argv += ["--dense-epochs", "1", "--delta-epochs", "1", "--device", "cpu", "--threads", "1"]
    argv += ["--quiet", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    argv = ["evaluate", str(tmp_path / "run" / "model.pt"), "--thetas", "0,0.1"]
    argv += ["--reference", "1", "--out", str(tmp_path / "eval"), "--quiet", "--threads", "1"]
    assert main(argv) == 0
    res = json.loads((tmp_path / "eval" / "tradeoff.json").read_text())
    assert res["task"] == "classify" and res["metric"] == "error"
    assert res["test_sequences"] == 40 and res["test_frames"] == 4000
    assert all(r["reference"]["equal"] for r in res["rows"])


def test_evaluate_takes_a_shipped_model_by_name(tmp_path):
    argv = ["evaluate", "japanese-vowels", "--thetas", "0,0.5", "--reference", "1"]
    argv += ["--out", str(tmp_path / "eval"), "--quiet", "--threads", "1"]
    assert main(argv) == 0
    res = json.loads((tmp_path / "eval" / "tradeoff.json").read_text())
    assert res["model"].endswith("japanese_vowels.pt") and res["test_sequences"] == 370
    assert [round(r["accuracy"], 2) for r in res["rows"]] == [98.11, 97.57]  # docs/tradeoff.md
