"""The jobs that run a model: accuracy at Θ of a trained checkpoint (seconds), and the RTL's
cycles (slow: builds a Verilator model)."""

from __future__ import annotations

import pytest

from edgedrnn.sweep import ResultCache, parse_spec, run_sweep

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from training import tiny_regression_model

    out = tmp_path_factory.mktemp("model")
    tiny_regression_model(out)
    return out / "model.pt"


def test_accuracy_and_estimates_of_a_checkpoint_over_theta(local_ray, checkpoint, tmp_path):
    spec = parse_spec(
        {
            "sweep": {"jobs": ["estimate", "accuracy"]},
            "model": {"checkpoint": str(checkpoint)},
            "workload": {"random": {"steps": 20, "seed": 0}, "data": "synthetic-regress"},
            "grid": {"num_pe": [4, 8], "theta": [0.0, 0.3]},
        }
    )
    result = run_sweep(spec, workers=2, cache=ResultCache(tmp_path))
    assert result.counts() == {"done": 6, "points_ok": 4}  # 4 estimates, 2 accuracies
    rows = {(r["num_pe"], r["theta"]): r for r in result.rows}
    assert all(r["metric"] == "rmse" and r["error"] >= 0 for r in rows.values())
    assert rows[(4, 0.0)]["error"] == rows[(8, 0.0)]["error"]  # accuracy is per Θ
    assert rows[(4, 0.3)]["latency_us"] < rows[(4, 0.0)]["latency_us"]
    assert [o[0] for o in result.objectives] == ["latency_us", "luts", "error"]


@pytest.mark.slow
def test_rtl_cycles_of_a_seeded_network(local_ray, tmp_path):
    spec = parse_spec(
        {
            "sweep": {"jobs": ["estimate", "cycles"]},
            "model": {"input_size": 8, "hidden_sizes": [16]},
            "workload": {"random": {"steps": 10, "seed": 0}},
            "hardware": {"max_layers": 1, "max_input_size": 16, "max_hidden_size": 16},
            "grid": {"num_pe": [4], "theta": [0.0]},
        }
    )
    result = run_sweep(spec, workers=2, cache=ResultCache(tmp_path))
    (row,) = result.rows
    assert row["status"] == "ok", row
    assert row["latency_source"] == "rtl" and row["rtl_mean_cycles"] > 0
    # the perf model is the RTL's cycle model (docs/perf-model.md): close on a dense run
    assert row["rtl_latency_us"] == pytest.approx(row["est_latency_us"], rel=0.25)
