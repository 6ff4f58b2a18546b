"""``edgedrnn evaluate``: JSON and plot of the sweep for a trained model file."""

from __future__ import annotations

import json

from edgedrnn.cli import main as cli_main
from training import tiny_regression_model


def test_cli_evaluate_writes_json_and_plot(tmp_path, capsys):
    tiny_regression_model(tmp_path / "run")
    rc = cli_main(
        [
            "evaluate",
            str(tmp_path / "run" / "model.pt"),
            "--thetas",
            "0,0.2",
            "--reference",
            "1",
            "--out",
            str(tmp_path / "eval"),
            "--quiet",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    res = json.loads((tmp_path / "eval" / "tradeoff.json").read_text())
    assert [r["theta"] for r in res["rows"]] == [0.0, 0.2]
    assert res["rows"][1]["reference"]["equal"]
    assert (tmp_path / "eval" / "tradeoff.png").exists()
    out = capsys.readouterr().out
    assert "PyTorch path equal to the reference backend on all 2 Θ checked" in out
    # without reference runs, nothing is claimed about them
    argv = ["evaluate", str(tmp_path / "run" / "model.pt"), "--thetas", "0.1", "--reference"]
    argv += ["0", "--out", str(tmp_path / "eval0"), "--quiet", "--threads", "1"]
    assert cli_main(argv) == 0
    assert "exactness: not checked (--reference 0)" in capsys.readouterr().out
