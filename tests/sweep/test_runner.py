"""The sweep on a local Ray with 2 workers: estimates, pruning, resume from the cache, retries
of failed jobs and of killed workers."""

from __future__ import annotations

import os
import time

import pytest

from edgedrnn.sweep import Job, ResultCache, parse_spec, run_jobs, run_sweep

SPEC = {
    "sweep": {"name": "tiny"},
    "model": {"input_size": 16, "hidden_sizes": [32, 32]},
    "workload": {"occupancy": 0.2},
    "grid": {"num_pe": [4, 8, 16], "bus_bits": [64, 128], "device": ["ecp5-25k"]},
}


def test_tiny_grid_of_estimates_then_resume_from_cache(local_ray, tmp_path):
    spec = parse_spec(SPEC)
    cache = ResultCache(tmp_path / "cache")
    seen = []
    result = run_sweep(spec, workers=2, cache=cache, on_update=lambda s: seen.append(s.running))
    assert result.counts() == {"done": 6, "points_ok": 6}
    assert max(seen) <= 2
    assert all(r["latency_us"] > 0 and r["luts_source"] == "estimate" for r in result.rows)
    assert result.pareto and all(result.rows[i]["pareto"] for i in result.pareto)
    # a second run runs nothing: every job from the cache, without starting Ray's workers
    t0 = time.monotonic()
    again = run_sweep(spec, workers=2, cache=cache)
    assert time.monotonic() - t0 < 5
    assert again.counts() == {"cached": 6, "points_ok": 6}
    assert [r["latency_us"] for r in again.rows] == [r["latency_us"] for r in result.rows]
    assert again.pareto == result.pareto


def test_pruning_by_latency_and_device_fit(local_ray, tmp_path):
    spec = parse_spec(SPEC)
    result = run_sweep(
        spec, workers=2, cache=ResultCache(tmp_path), max_latency_us=4.5, device_fit=True
    )
    status = {(r["num_pe"], r["bus_bits"]): r["status"] for r in result.rows}
    assert status[(4, 64)] == "pruned"  # slow: ~5.7 µs (8 PEs: ~3.5 µs)
    assert status[(16, 128)] == "pruned"  # ~28k LUTs on a 24k device
    assert status[(8, 64)] == "ok"
    reasons = {r["reason"] for r in result.rows if r["status"] == "pruned"}
    assert any("µs >" in r for r in reasons) and any("LUT >" in r for r in reasons)


def test_a_job_failing_once_is_retried_and_one_always_failing_is_recorded(local_ray, tmp_path):
    def flaky(inputs, log):
        marker = inputs["marker"]
        log("starting the flaky job")
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("first attempt fails")
        return {"value": inputs["n"]}

    def broken(inputs, log):
        log("line one of the log")
        log("the last words before the failure")
        raise ValueError("always fails")

    jobs = [
        Job("flaky", {"marker": str(tmp_path / "m"), "n": 3}),
        Job("broken", {"n": 1}),
        Job("flaky", {"marker": str(tmp_path / "m2"), "n": 4}),
    ]
    cache = ResultCache(tmp_path / "cache")
    recs = run_jobs(jobs, cache=cache, functions={"flaky": flaky, "broken": broken}, workers=2)
    by = sorted(recs.values(), key=lambda r: (r.kind, r.result and r.result["value"]))
    broken_rec, flaky3, flaky4 = by
    assert flaky3.status == "done" and flaky3.result == {"value": 3} and flaky3.attempts == 2
    assert flaky3.errors == ["RuntimeError: first attempt fails"]
    assert flaky4.result == {"value": 4}
    assert broken_rec.status == "failed" and broken_rec.attempts == 2
    assert broken_rec.error == "ValueError: always fails"
    assert "the last words before the failure" in broken_rec.log_tail
    assert "ValueError: always fails" in broken_rec.log_tail
    # successes are cached, the failure is not: a rerun tries it again
    again = run_jobs(jobs, cache=cache, functions={"flaky": flaky, "broken": broken})
    assert sorted(r.status for r in again.values()) == ["cached", "cached", "failed"]


def test_a_worker_killed_mid_job_is_retried_and_nothing_is_lost(local_ray, tmp_path):
    def fragile(inputs, log):
        if inputs["n"] == 2 and not os.path.exists(inputs["marker"]):
            open(inputs["marker"], "w").close()
            os._exit(1)  # the worker process dies mid-job
        time.sleep(0.2)
        return {"n": inputs["n"], "pid": os.getpid()}

    marker = str(tmp_path / "killed")
    jobs = [Job("fragile", {"n": n, "marker": marker}) for n in range(5)]
    recs = run_jobs(jobs, cache=ResultCache(tmp_path), functions={"fragile": fragile}, workers=2)
    assert os.path.exists(marker)
    assert sorted(r.result["n"] for r in recs.values()) == [0, 1, 2, 3, 4]
    (killed,) = [r for r in recs.values() if r.result["n"] == 2]
    assert killed.status == "done" and killed.attempts == 2
    assert len(killed.errors) == 1
    assert "WorkerCrashedError" in killed.errors[0] or "died" in killed.errors[0]


def test_failed_estimates_mark_the_point_failed(local_ray, tmp_path):
    def no_estimate(inputs, log):
        raise RuntimeError("no model")

    spec = parse_spec({**SPEC, "grid": {"num_pe": [4]}})
    result = run_sweep(
        spec, workers=2, cache=ResultCache(tmp_path), functions={"estimate": no_estimate}
    )
    assert result.rows[0]["status"] == "failed" and "no model" in result.rows[0]["reason"]
    assert result.pareto == []
    assert result.to_dict()["failures"][0]["kind"] == "estimate"


@pytest.mark.slow
def test_multi_node_cluster_of_two_raylets(tmp_path):
    """Two raylets on this machine (ray.cluster_utils.Cluster): the same code, by address."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        pytest.skip("needs its own Ray (run this test alone)")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        result = run_sweep(parse_spec(SPEC), address=cluster.address, cache=ResultCache(tmp_path))
        assert result.counts() == {"done": 6, "points_ok": 6}
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_an_interrupted_sweep_continues_where_it_stopped(local_ray, tmp_path):
    def slow(inputs, log):
        time.sleep(0.1)
        return {"n": inputs["n"]}

    jobs = [Job("slow", {"n": n}) for n in range(6)]
    cache = ResultCache(tmp_path)

    def interrupt(status, records):
        if status.done >= 2:
            raise KeyboardInterrupt  # Ctrl-C in the driver

    with pytest.raises(KeyboardInterrupt):
        run_jobs(jobs, cache=cache, functions={"slow": slow}, workers=2, on_update=interrupt)
    again = run_jobs(jobs, cache=cache, functions={"slow": slow}, workers=2)
    statuses = [r.status for r in again.values()]
    assert statuses.count("cached") >= 2 and statuses.count("done") >= 1
    assert sorted(r.result["n"] for r in again.values()) == list(range(6))
