"""``edgedrnn sweep``: a tiny estimate sweep end to end, and one-line errors for bad specs."""

from __future__ import annotations

import json

import pytest

from edgedrnn.cli import main

SPEC = """
[sweep]
name = "cli"
[model]
input_size = 16
hidden_sizes = [32]
[workload]
random = { steps = 12, seed = 3 }
backend = "reference"
[grid]
num_pe = [4, 8]
theta = [0.0, 0.5]
"""


def test_sweep_command_writes_json_and_plot(local_ray, tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    args = ["sweep", str(spec), "-o", str(out), "--cache-dir", str(tmp_path / "c"), "--quiet"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"done": 4, "points_ok": 4}
    rows = data["rows"]
    # Θ = 0.5 passes on fewer deltas than Θ = 0: faster on the same instance
    by = {(r["num_pe"], r["theta"]): r["latency_us"] for r in rows}
    assert by[(4, 0.5)] < by[(4, 0.0)] and by[(8, 0.5)] < by[(8, 0.0)]
    assert (out / "sweep.json").exists()
    pytest.importorskip("matplotlib")
    assert (out / "sweep.png").stat().st_size > 0
    # the table, from the cache
    assert main([*args, "--max-latency-us", "1000"]) == 0
    text = capsys.readouterr()
    assert "Pareto-optimal" in text.out and "4 from the cache, 0 retried" in text.err
    # with the progress display: the live Pareto front, each point with its figures
    loud = [a for a in args if a != "--quiet"]
    assert main(loud) == 0
    err = capsys.readouterr().err
    assert "Pareto front now:" in err and "pe4 bus64" in err and " µs" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[grid]\nnum_pe = [3]\n", "[model]: give exactly one of program"),
        ("not toml [", "not a TOML file"),
    ],
)
def test_bad_spec_is_one_line_exit_2(tmp_path, capsys, content, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(content)
    assert main(["sweep", str(spec), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgedrnn sweep: error:") and "\n" not in err
    assert message in err


def test_missing_spec_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "no such spec file" in capsys.readouterr().err
