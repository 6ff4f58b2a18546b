"""``edgedrnn demo``: the shipped pretrained model on unseen utterances, backends equal."""

from __future__ import annotations

import json
import shutil

import pytest

from edgedrnn.cli import main as cli_main

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


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
