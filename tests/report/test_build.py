"""``edgedrnn report``: the Markdown/JSON performance report."""

from __future__ import annotations

import json
import math

from edgedrnn.cli import main as cli_main
from edgedrnn.perf import Network, estimate
from edgedrnn.perf import original as orig
from edgedrnn.report import PAPER, build_report, paper_occupancy


def test_paper_occupancy_reproduces_the_papers_throughput():
    occ = paper_occupancy()
    assert 0.05 < occ < 0.15  # the paper's ~90 % temporal sparsity
    net = Network.stacked(40, 768, 2)
    est = estimate(net, occupancy=occ, design="original")
    assert math.isclose(est.effective_gops, PAPER["effective_gops"], rel_tol=1e-6)
    # and its cycles are the original model's on those counts
    counts = [[[40 * occ, 768 * occ], [768 * occ, 768 * occ]]]
    assert est.mean_cycles == orig.step_cycles(net, counts, from_reset=False)[0]


def _synth_report(root, target, part, counts, capacity, fmax_mhz, num_pe=8, bus_bits=64):
    """A ``build/synth/<run>/report.json`` as ``edgedrnn synth`` writes it."""
    run = root / f"{target}-pe{num_pe}-bus{bus_bits}"
    run.mkdir(parents=True)
    rep = {"target": target, "part": part, "params": {"num_pe": num_pe, "bus_bits": bus_bits}}
    rep |= dict(zip(("lut", "ff", "dsp", "bram"), counts, strict=True))
    rep |= {"capacity": capacity, "fmax_mhz": fmax_mhz, "fits": True}
    (run / "report.json").write_text(json.dumps(rep))


def test_report_numbers_and_targets(tmp_path):
    synth = tmp_path / "synth"
    xc7_cap = {"lut": 14400, "ff": 28800, "dsp": 66, "bram": 50}
    _synth_report(synth, "xc7z007s", "XC7Z007S", (100, 50, 9, 1.5), xc7_cap, None)
    ecp5_cap = {"lut": 24288, "ff": 24288, "dsp": 28, "bram": 56}
    _synth_report(synth, "ecp5-25k", "LFE5U-25F-6BG256", (200, 100, 0, 4), ecp5_cap, 100.0)
    cap85 = {"lut": 83640, "ff": 83640, "dsp": 156, "bram": 208}
    _synth_report(synth, "ecp5-85k", "LFE5U-85F-6BG381", (900, 400, 0, 16), cap85, 80.0, 32, 256)
    data = build_report(
        tmp_path / "out", synth_dir=tmp_path / "synth", validation=None, measure=False
    )
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| xc7z007s | 8 | 64 | 100 / 14400 (1%)" in md
    assert "| ecp5-25k | 8 | 64 | 200 / 24288 (1%)" in md and "| 100.0 |" in md
    # the paper's step at the build's post-route clock: the same cycles at 100 MHz
    at_fmax = data["headline"]["mean_cycles"] / 100.0
    line = "on LFE5U-25F-6BG256 (100.0 MHz, synthesis table below) 2L-768H at the paper's"
    line += " occupancy takes"
    assert f"{line} **{at_fmax:.1f} µs**" in md
    # and the 32-PE instance's 2L-768H step at its own post-route clock, in its section
    wide = next(
        r
        for r in data["rows"]
        if (r["network"], r["num_pe"], r["occupancy"]) == ("2L-768H", 32, "paper")
    )
    section = md[md.index("## 32 PEs, 256-bit bus") :]
    assert "| ecp5-85k | 32 | 256 | 900 / 83640 (1%)" in md and "| 80.0 |" in md
    line = "32-PE build on LFE5U-85F-6BG381 (80.0 MHz, synthesis table below) 2L-768H"
    assert f"{line} at the paper's occupancy takes **{wide['mean_cycles'] / 80:.1f} µs**" in section
    assert (
        "## The paper's point behind a DRAM controller" in md and len(data["memory"]["rows"]) == 5
    )
    assert {"latency_throughput.png", "occupancy_sweep.png", "weight_sparsity.png"} == set(
        data["plots"]
    )
    assert [r["gamma"] for r in data["weight_sparsity"][:3]] == [0.0, 0.875, 0.9375]
    for f in data["plots"]:
        assert (tmp_path / "out" / f).stat().st_size > 10_000
    # every network x instance x occupancy row, each matching the model directly
    labels = {r["occupancy"] for r in data["rows"]}
    assert "paper" in labels and "0.1" in labels
    assert len(data["rows"]) == 8 * 3 * len(labels)
    h = data["headline"]
    net = Network.stacked(40, 768, 2)
    occ = data["paper_occupancy"]
    ours = estimate(net, occupancy=occ, num_pe=8, bus_bits=64, clock_mhz=125)
    assert math.isclose(h["latency_us"], ours.latency_us)
    assert f"{ours.latency_us:.1f} µs" in md
    # the targets at the paper's operating point: no worse than the paper's latency,
    # strictly faster than the original design on the same delta counts back to back, and
    # with paced inputs at most half its latency (the hidden columns run before the input)
    assert h["latency_us"] <= PAPER["latency_us"]
    assert h["mean_cycles"] < h["original_cycles"]
    assert h["paced_latency_cycles"] <= 0.5 * h["original_cycles"]
    assert f"{h['paced_latency_us']:.1f} µs" in md
    assert h["dram_reduction"] > 9.5
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["headline"]["latency_us"] == h["latency_us"]


def test_skipped_inputs_are_named_in_the_report(tmp_path):
    synth = tmp_path / "synth"
    (synth / "broken").mkdir(parents=True)
    (synth / "broken" / "report.json").write_text("{not json")
    (synth / "partial").mkdir()
    (synth / "partial" / "report.json").write_text(json.dumps({"target": "xc7z007s"}))
    validation = tmp_path / "perf_model.json"
    validation.write_text("[1, 2]")
    data = build_report(
        tmp_path / "out", synth_dir=synth, validation=validation, plots=False, measure=False
    )
    md = (tmp_path / "out" / "report.md").read_text()
    assert data["synthesis"] == [] and data["validation"] is None
    assert "_(no synthesis reports found; run `edgedrnn synth`, see below)_" in md
    assert f"- `{synth / 'broken' / 'report.json'}` skipped: it could not be read" in md
    assert f"- `{synth / 'partial' / 'report.json'}` skipped: it has no part, params" in md
    assert f"validation data `{validation}` is not in the format" in md
    assert "measuring it was turned off (`--no-measure`)" in md
    assert len(data["skipped"]) == 4


def test_report_cli(tmp_path, capsys):
    rc = cli_main(
        ["report", "-o", str(tmp_path), "--no-plots", "--no-measure", "--synth-dir", "none"]
    )
    assert rc == 0
    assert "GOp/s" in capsys.readouterr().out
    assert (tmp_path / "report.md").exists() and (tmp_path / "report.json").exists()


def test_memory_section_paper_point_behind_each_memory():
    """The paper's point behind the ideal port and each simulated DRAM, and the bandwidth for
    the paper's latency (the model's memory-system term)."""
    from edgedrnn.perf.memory import PRESETS, MemorySystem
    from edgedrnn.report.rows import MEMORY_POINTS, memory_rows
    from edgedrnn.report.sections import memory_section

    occ = paper_occupancy()
    data = memory_rows(occ)
    rows = data["rows"]
    assert len(rows) == len(MEMORY_POINTS)
    net = Network.stacked(40, 768, 2)
    kw = {"occupancy": occ, "num_pe": 8, "clock_mhz": 125.0}
    ideal = rows[0]
    # the ideal port is the report's headline figure
    assert ideal["latency_us"] == estimate(net, bus_bits=64, **kw).latency_us
    for r, (key, bus) in zip(rows[1:], MEMORY_POINTS[1:], strict=True):
        got = estimate(net, bus_bits=bus, memory=PRESETS[key], **kw).latency_us
        assert r["latency_us"] == got >= ideal["latency_us"]
        assert r["reaches_paper"] == (got <= PAPER["latency_us"])
    sdr32 = rows[1]
    assert sdr32["memory"]["name"].startswith("MT48LC16M16 SDR, 32")
    assert sdr32["latency_us"] > 1.8 * ideal["latency_us"]  # half the bandwidth 8 PEs take
    # the sustained bandwidth it names gives the paper's latency
    need = data["need_bytes_per_cycle"]
    assert 7 < need < 8
    got = estimate(net, bus_bits=64, memory=MemorySystem("board", need), **kw).latency_us
    assert math.isclose(got, PAPER["latency_us"], rel_tol=1e-6)
    md = "\n".join(memory_section(data, occ))
    assert "## The paper's point behind a DRAM controller" in md
    assert f"**{need:.2f} bytes per cycle ({need * 0.125:.2f} GB/s at 125 MHz)**" in md
    assert "| MT48LC16M16 SDR, 32 pins | 64 | 4 | 3.84 |" in md


def test_weight_sparsity_rows_section_and_plot(tmp_path):
    """2L-768H with a sparse weight image at γ = 7/8 and 15/16 next to the dense image: the
    rows are the sparse model's (edgedrnn.perf.sparse), the paper's point at γ = 15/16 is
    under issue 15's 12,500 cycles with ≥ 50x fewer bytes than a dense GRU step, and the
    plot is drawn."""
    from edgedrnn.perf.sparse import sparse_step
    from edgedrnn.report.plots import plot_report
    from edgedrnn.report.rows import SPARSITIES, model_rows, sparsity_rows
    from edgedrnn.report.sections import sparsity_section

    occ = paper_occupancy()
    rows = sparsity_rows({"paper": occ, "0.1": 0.1})
    assert len(rows) == 2 * len(SPARSITIES)
    by = {(r["occupancy"], r["gamma"]): r for r in rows}
    net = Network.stacked(40, 768, 2)
    s = sparse_step(net, 15 / 16, occupancy=occ)
    fine = by["paper", 15 / 16]
    assert fine["mean_cycles"] == s.cycles.mean() and fine["slots"] == s.slots == [6, 6]
    assert fine["mean_cycles"] <= 12_500 and fine["dram_reduction"] >= 50
    dense = by["paper", 0.0]
    # the dense row is the report's headline step (the dense model on the same occupancy)
    assert dense["mean_cycles"] == estimate(net, occupancy=occ).mean_cycles
    assert dense["slots"] is None
    assert dense["mean_cycles"] > by["paper", 7 / 8]["mean_cycles"] > fine["mean_cycles"]
    md = "\n".join(sparsity_section(rows, "paper"))
    assert "| 0.0975 (paper) | 0.9375 | 6/6 |" in md.replace(f"{occ:.4f}", "0.0975")
    assert f"**{fine['time_us']:.1f} µs per step**" in md
    table = model_rows({"0.1": (0.1, 0.1), "paper": (occ, occ)})
    files = plot_report(table, "paper", tmp_path, rows)
    assert "weight_sparsity.png" in files and (tmp_path / "weight_sparsity.png").stat().st_size
