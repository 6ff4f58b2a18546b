"""The sweep spec: grids and lists of points, and the errors of bad specs."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn.sweep.spec import Point, SpecError, load_spec, parse_spec

BASE = {
    "model": {"input_size": 8, "hidden_sizes": [16]},
    "workload": {"occupancy": 0.5},
}


def spec_of(**tables):
    return parse_spec({**BASE, **tables})


def test_grid_is_every_combination_with_defaults():
    spec = spec_of(grid={"num_pe": [4, 8], "bus_bits": [64, 128], "theta": [0, 0.25]})
    assert len(spec.points) == 8
    assert spec.points[0] == Point(num_pe=4, bus_bits=64, theta=0.0)
    assert {p.device for p in spec.points} == {"ecp5-25k"}
    assert spec.jobs == ("estimate",)


def test_list_after_grid_without_repeats_and_scalar_axes():
    spec = spec_of(
        grid={"num_pe": 8, "device": ["xc7z007s"]},
        points=[{"num_pe": 8, "device": "xc7z007s"}, {"num_pe": 16, "clock_mhz": 100}],
    )
    assert [(p.num_pe, p.device, p.clock_mhz) for p in spec.points] == [
        (8, "xc7z007s", 125.0),
        (16, "ecp5-25k", 100.0),
    ]


def test_jobs_in_schedule_order_estimate_always(tmp_path):
    spec = spec_of(
        sweep={"name": "x", "jobs": ["synth"]}, grid={"num_pe": [4]}, hardware={"max_layers": 2}
    )
    assert spec.jobs == ("estimate", "synth")
    assert spec.hardware_config(spec.points[0]).max_layers == 2


def test_load_resolves_files_next_to_the_spec(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((5, 8)))
    (tmp_path / "s.toml").write_text(
        '[sweep]\njobs = ["cycles"]\n[model]\ninput_size = 8\nhidden_sizes = [16]\n'
        '[workload]\ninput = "x.npy"\n[grid]\nnum_pe = [4, 8]\n'
    )
    spec = load_spec(tmp_path / "s.toml")
    assert spec.name == "s"
    assert spec.workload.input == str((tmp_path / "x.npy").resolve())
    assert len(spec.points) == 2


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"grid": {"num_pe": [4], "pes": [1]}}, r"\[grid\] pes: unknown key"),
        ({"grid": {"device": ["ice40"]}}, "unknown device 'ice40'"),
        ({"grid": {"num_pe": [6]}}, "num_pe must be a power of two"),
        ({"grid": {"theta": [200]}}, r"theta: must be in \[0, 128\)"),
        ({"grid": {"num_pe": []}}, "an empty list gives no points"),
        ({}, "no points"),
        ({"grid": {"num_pe": 8}, "sweep": {"jobs": ["train"]}}, "unknown job 'train'"),
        (
            {"grid": {"num_pe": 8}, "sweep": {"jobs": ["cycles"]}},
            "the cycles job runs the RTL on inputs",
        ),
        ({"grid": {"num_pe": 8}, "sweep": {"jobs": ["accuracy"]}}, "needs a trained checkpoint"),
        ({"grid": {"num_pe": 8}, "hardware": {"max_layers": 0}}, "max_layers must be in"),
        ({"grid": {"num_pe": 8}, "synth": {"place_and_route": "yes"}}, "true or false"),
        ({"grid": {"num_pe": 8}, "model": {"program": "nope.edrnn"}}, "no such file"),
        ({"grid": {"num_pe": 8}, "workload": {}}, "give exactly one of occupancy"),
        (
            {"grid": {"num_pe": 8}, "model": {"input_size": 8, "program": "a.edrnn"}},
            "give exactly one of program",
        ),
    ],
)
def test_bad_specs_are_refused_with_the_key(tables, message):
    with pytest.raises(SpecError, match=message):
        spec_of(**tables)


def test_missing_and_non_toml_files(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\nnum_pe = 4")
    with pytest.raises(SpecError, match="not a TOML file"):
        load_spec(bad)
