"""The report's Markdown sections, and the inputs they read besides the model: the synthesis
reports ``edgedrnn synth`` wrote, and the model's validation against RTL co-simulation.

Each section is a function returning its lines. An input that is missing or cannot be read
does not stop the report: its section says what was skipped and why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .rows import CLOCK_MHZ, HIDDEN, LAYERS, PAPER, RowTable
from .sparsity import MeasuredSparsity

__all__ = [
    "at_fmax",
    "dram_section",
    "instance_section",
    "measured_section",
    "memory_section",
    "paper_section",
    "read_synthesis",
    "read_validation",
    "synthesis_section",
    "validation_section",
]

#: Fields of a synthesis report.json the table needs.
_SYNTH_KEYS = ("target", "part", "params", "lut", "ff", "dsp", "bram", "capacity")
#: Fields of each validation case the table needs.
_CASE_KEYS = ("network", "theta", "num_pe", "bus_bits", "steps", "rtl_mean_cycles")
_CASE_KEYS += ("model_mean_cycles", "mean_error")


def _fmt(v: float, digits: int = 1) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.1f} k"
    return f"{v:.{digits}f}"


def _missing(d: Any, keys: tuple[str, ...]) -> list[str]:
    return list(keys) if not isinstance(d, dict) else [k for k in keys if k not in d]


# ------------------------------------------------------------------ inputs
def read_synthesis(synth_dir: Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``<run>/report.json`` files under ``synth_dir``, and a note for each one skipped.

    Parameters
    ----------
    synth_dir : Path or None
        Where ``edgedrnn synth`` wrote its runs (None: no synthesis section).
    """
    if synth_dir is None or not synth_dir.is_dir():
        return [], []
    reports, skipped = [], []
    for path in sorted(synth_dir.glob("*/report.json")):
        try:
            rep = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            skipped.append(f"`{path}` skipped: it could not be read ({exc})")
            continue
        if missing := _missing(rep, _SYNTH_KEYS):
            skipped.append(f"`{path}` skipped: it has no {', '.join(missing)}")
            continue
        reports.append(rep)
    return reports, skipped


def read_validation(path: Path | None) -> tuple[dict[str, Any] | None, str]:
    """The model-vs-RTL JSON of ``benchmarks/perf_model.py``, or None and why it is not used.

    Parameters
    ----------
    path : Path or None
        The JSON file.
    """
    if path is None or not path.is_file():
        return None, "no validation data; run `python benchmarks/perf_model.py`"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"validation data `{path}` could not be read ({exc})"
    cases = data.get("cases", []) if isinstance(data, dict) else None
    if not isinstance(cases, list) or any(_missing(c, _CASE_KEYS) for c in cases):
        return None, f"validation data `{path}` is not in the format of benchmarks/perf_model.py"
    return data, ""


# ------------------------------------------------------------------ sections
def paper_section(table: RowTable, occ_paper: float, label: str) -> list[str]:
    """The paper's 2L-768H figures next to the original's model and ours, at the occupancy
    that reproduces the paper's throughput (row label ``label``)."""
    headline = table.get("2L-768H", 8, 64, label)
    at_01 = table.get("2L-768H", 8, 64, "0.1")
    return [
        "## Against the paper (2L-768H, 8 PEs, 64-bit bus, 125 MHz)",
        "",
        f"Assumed occupancy **{occ_paper:.4f}** (temporal sparsity {100 * (1 - occ_paper):.2f}%): "
        "the occupancy at which the model of the original design reproduces the paper's measured "
        "20.2 GOp/s, i.e. the sparsity its TIDIGITS measurement implies (the paper reports ~90% "
        "temporal sparsity of Δx and Δh; at exactly 90% the weight stream alone, 540 kB per step "
        "at 1 GB/s, takes 540 µs).",
        "",
        "| | weights | time/step, back to back | latency, paced inputs | effective GOp/s | "
        "DRAM bytes/step | DRAM reduction |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| paper (measured) | {PAPER['weights']} | ~500 µs ({PAPER['latency_us']:.0f} µs "
        f"from 20.2 GOp/s) | – | {PAPER['effective_gops']} | – | up to 10x |",
        f"| original design (model) | {headline['weights'] / 1e6:.2f} M | "
        f"{headline['original_latency_us']:.1f} µs ({headline['original_cycles']:.0f} cycles) | "
        f"{headline['original_paced_latency_us']:.1f} µs | "
        f"{headline['original_gops']:.1f} | {_fmt(headline['dram_bytes_per_step'])} | "
        f"{headline['dram_reduction']:.1f}x |",
        f"| **ours (model)** | {headline['weights'] / 1e6:.2f} M | "
        f"**{headline['latency_us']:.1f} µs** ({headline['mean_cycles']:.0f} cycles) | "
        f"**{headline['paced_latency_us']:.1f} µs** | "
        f"**{headline['effective_gops']:.1f}** | {_fmt(headline['dram_bytes_per_step'])} | "
        f"{headline['dram_reduction']:.1f}x |",
        "",
        f"Back to back, ours takes {1 / headline['speedup_vs_original']:.4f}x the original's "
        "time on the same delta counts "
        f"({headline['mean_cycles'] - headline['original_cycles']:+.0f} cycles per step); "
        "with inputs arriving at a frame rate, ours answers "
        f"{headline['original_paced_latency_us'] / headline['paced_latency_us']:.2f}x sooner "
        "(it adds a step's hidden columns before the step's input arrives; the original starts "
        "nothing before it). A dense step (Θ = 0) would take "
        f"{headline['dense_latency_us']:.0f} µs ({headline['dense_gops']:.2f} GOp/s). "
        "At occupancy 0.1 (90% sparsity): "
        f"{at_01['latency_us']:.1f} µs, {at_01['effective_gops']:.1f} GOp/s, DRAM "
        f"{at_01['dram_reduction']:.1f}x less than dense.",
        "",
    ]


def memory_section(data: dict[str, Any], occ_paper: float) -> list[str]:
    """The paper's point behind each memory system, and the bandwidth for its latency
    (:func:`edgedrnn.report.rows.memory_rows`)."""
    need, target = data["need_bytes_per_cycle"], PAPER["latency_us"]
    md = [
        "## The paper's point behind a DRAM controller",
        "",
        f"2L-768H at occupancy {occ_paper:.4f}, 8 PEs, {CLOCK_MHZ:.0f} MHz, back to back, with "
        "the memory-system term of the model (`edgedrnn.perf.memory`, docs/perf-model.md): the "
        "ideal port of the rows above, and the DRAMs the SoC simulation is built with "
        "(docs/soc.md), calibrated on its runs at 100 MHz (at "
        f"{CLOCK_MHZ:.0f} MHz the DRAM's timings take more cycles: an estimate). *Stream* is "
        "the most a column stream sustains behind that memory, min(bus, peak) × efficiency "
        "(refresh and row changes).",
        "",
        "| memory | bus | peak B/cycle | stream B/cycle | time/step | effective GOp/s | "
        f"weights drawn | ≤ {target:.0f} µs |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in data["rows"]:
        m = r["memory"]
        peak = m["peak_bytes_per_cycle"]
        peak_s = "= bus" if peak is None else f"{peak:g}"
        md.append(
            f"| {m['name']} | {r['bus_bits']} | {peak_s} | {r['stream_bytes_per_cycle']:.2f} | "
            f"{r['latency_us']:.1f} µs ({r['mean_cycles']:.0f} cycles) | "
            f"{r['effective_gops']:.1f} | {r['bytes_per_cycle']:.2f} B/cycle "
            f"({r['gb_per_s']:.2f} GB/s) | {'yes' if r['reaches_paper'] else 'no'} |"
        )
    md.append("")
    reach = ", ".join(
        f"{r['memory']['name']} on a {r['bus_bits']}-bit bus"
        for r in data["rows"][1:]
        if r["reaches_paper"]
    )
    if math.isinf(need):
        md += [f"Even the ideal 64-bit port does not reach {target:.0f} µs here.", ""]
        return md
    md += [
        f"**Bandwidth for ~0.5 ms**: the paper's {target:.0f} µs per step needs a weight "
        f"stream of **{need:.2f} bytes per cycle ({data['need_gb_per_s']:.2f} GB/s at "
        f"{CLOCK_MHZ:.0f} MHz)** sustained into the 8-PE, 64-bit instance, "
        f"{need / 8:.1%} of what its bus carries, so a 64-bit bus leaves room for "
        f"{1 - need / 8:.1%} of refresh and row-change stalls. Of the simulated memories, "
        f"{reach or 'none'} reach it. Below 0.5 ms the instance itself is the limit at this "
        "clock.",
        "",
    ]
    return md


def sparsity_section(rows: list[dict[str, Any]], paper_label: str) -> list[str]:
    """Weight sparsity on top of temporal sparsity: 2L-768H with a sparse weight image
    (:func:`edgedrnn.report.rows.sparsity_rows`), the paper's point first."""
    md = [
        "## Weight sparsity on top of temporal sparsity (sparse weight image)",
        "",
        "2L-768H, 8 PEs, 64-bit bus, with the weights pruned column-balanced to γ "
        "(`edgedrnn.prune`) and compiled to a sparse weight image (docs/program-format.md): "
        "a passed-on column streams only its non-zeros, (value, row) pairs, one per PE lane "
        "per slot (`edgedrnn.perf.sparse`, the model, which the sparse RTL build follows "
        "within a cycle per step: docs/performance.md). *Back to back*: cycles per step with the "
        "next input queued; *paced*: the latency of a step whose input arrives after its "
        "hidden part; *bytes*: weight bytes read per step and a dense GRU step's bytes over "
        "them.",
        "",
        "| occupancy | γ | slots | back to back | paced latency | bytes/step | vs dense GRU |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    order = {paper_label: -1.0}
    for r in sorted(rows, key=lambda r: (order.get(r["occupancy"], r["occ"]), r["gamma"])):
        label = r["occupancy"]
        occ = f"{r['occ']:.4f} ({label})" if label == paper_label else label
        gamma = "dense" if r["gamma"] == 0 else f"{r['gamma']:.4g}"
        slots = "–" if r["slots"] is None else "/".join(str(n) for n in r["slots"])
        md.append(
            f"| {occ} | {gamma} | {slots} | {r['time_us']:.1f} µs ({r['mean_cycles']:.0f}) | "
            f"{r['latency_us']:.1f} µs ({r['latency_cycles']:.0f}) | "
            f"{r['dram_bytes']:,.0f} | {r['dram_reduction']:.1f}x |"
        )
    paper = {r["gamma"]: r for r in rows if r["occupancy"] == paper_label}
    if paper:
        dense = paper[0.0]
        md += [""]
        for g in sorted(paper):
            if g == 0:
                continue
            r = paper[g]
            md.append(
                f"* At the paper's point, γ = {g:.4g}: **{r['time_us']:.1f} µs per step** "
                f"back to back ({dense['mean_cycles'] / r['mean_cycles']:.1f}x faster than the "
                f"dense image's {dense['time_us']:.1f} µs), {r['latency_us']:.1f} µs paced, "
                f"**{r['dram_reduction']:.0f}x fewer weight bytes** than a dense GRU step."
            )
    md.append("")
    return md


def at_fmax(
    row: dict[str, Any], pe: int, bus: int, synth_reports: list[dict[str, Any]]
) -> list[str]:
    """Sentences giving ``row``'s step (a model row of the ``pe``/``bus`` instance) at the
    post-route Fmax of each synthesis report of that instance that stays below 125 MHz."""
    out = []
    for r in synth_reports:
        if (r["params"].get("num_pe"), r["params"].get("bus_bits")) != (pe, bus):
            continue
        fmax = r.get("fmax_mhz")
        if not fmax or fmax >= CLOCK_MHZ:
            continue
        us = row["mean_cycles"] / fmax
        gops = 2 * row["weights"] / (us * 1e3)
        out += [
            f"At the post-route Fmax of our {pe}-PE build on {r['part']} ({fmax:.1f} MHz, "
            f"synthesis table below) {row['network']} at the paper's occupancy takes "
            f"**{us:.1f} µs** per step ({gops:.1f} GOp/s).",
            "",
        ]
    return out


def measured_section(
    table: RowTable,
    measured: MeasuredSparsity | None,
    occupancy: tuple[float, float] | None,
    why_not: str,
) -> list[str]:
    """The 2L-768H step at the bundled trained model's occupancy (row label ``measured``),
    or why there is none (``why_not``)."""
    if measured is None or occupancy is None:
        return [
            f"_No measured sparsity of the bundled trained model: {why_not}. "
            "The rows below use fixed occupancies and the paper's._",
            "",
        ]
    m = table.get("2L-768H", 8, 64, "measured")
    return [
        "## At the measured sparsity of the bundled trained model",
        "",
        f"Source: `{measured.source}` {measured.notes}; occupancy Δx "
        f"{occupancy[0]:.4f}, Δh {occupancy[1]:.4f} (mean over layers). "
        f"2L-768H at 8 PEs / 64-bit: {m['latency_us']:.1f} µs, "
        f"{m['effective_gops']:.1f} GOp/s, DRAM {m['dram_reduction']:.1f}x less than dense.",
        "",
    ]


def instance_section(
    table: RowTable,
    labels: list[str],
    paper_label: str,
    pe: int,
    bus: int,
    synth_reports: list[dict[str, Any]],
) -> list[str]:
    """Latency and GOp/s of every network on one instance at every occupancy ``labels``,
    with the original's latency at the paper's occupancy."""
    md = [
        f"## {pe} PEs, {bus}-bit bus, 125 MHz",
        "",
        "Latency per step in µs (effective GOp/s); last column: the original design's "
        "modelled latency at the paper's occupancy (8 PEs scaled to this instance).",
        "",
        "| network | weights | " + " | ".join(f"occ {x}" for x in labels) + " | original @paper |",
        "|---|---:|" + "---:|" * len(labels) + "---:|",
    ]
    for nl in LAYERS:
        for h in HIDDEN:
            net = f"{nl}L-{h}H"
            cells = []
            for lab in labels:
                r = table.get(net, pe, bus, lab)
                cells.append(f"{r['latency_us']:.1f} ({r['effective_gops']:.1f})")
            r = table.get(net, pe, bus, paper_label)
            md.append(
                f"| {net} | {_fmt(r['weights'])} | "
                + " | ".join(cells)
                + f" | {r['original_latency_us']:.1f} |"
            )
    md.append("")
    if (pe, bus) != (8, 64):  # the paper's instance: in the paper's section
        md += at_fmax(table.get("2L-768H", pe, bus, paper_label), pe, bus, synth_reports)
    return md


def dram_section(table: RowTable, labels: list[str], paper_label: str) -> list[str]:
    """Weight bytes per step of every network on 8 PEs / 64-bit at every occupancy."""
    md = [
        "## DRAM traffic (weights) per step, 8 PEs / 64-bit",
        "",
        "| network | dense bytes | " + " | ".join(f"occ {x}" for x in labels) + " |",
        "|---|---:|" + "---:|" * len(labels),
    ]
    for nl in LAYERS:
        for h in HIDDEN:
            net = f"{nl}L-{h}H"
            cells = []
            for lab in labels:
                r = table.get(net, 8, 64, lab)
                cells.append(f"{_fmt(r['dram_bytes_per_step'])} ({r['dram_reduction']:.1f}x)")
            dense = table.get(net, 8, 64, paper_label)["dense_dram_bytes_per_step"]
            md.append(f"| {net} | {_fmt(dense)} | " + " | ".join(cells) + " |")
    md.append("")
    return md


def validation_section(data: dict[str, Any] | None, why_not: str) -> list[str]:
    """The model's mean cycles per step against the RTL's, per validation case."""
    md = ["## Model against RTL co-simulation", ""]
    if data is None:
        return [*md, f"_({why_not})_", ""]
    cases = data.get("cases", [])
    md += [
        "| network | Θ | PEs | bus | steps | RTL cycles/step | model | error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cases:
        md.append(
            f"| {c['network']} | {c['theta']:g} | {c['num_pe']} | {c['bus_bits']} | {c['steps']}"
            f" | {c['rtl_mean_cycles']:.1f} | {c['model_mean_cycles']:.1f}"
            f" | {100 * c['mean_error']:+.2f}% |"
        )
    if cases:
        worst = max(abs(c["mean_error"]) for c in cases)
        md += ["", f"Largest mean error: **{100 * worst:.2f}%** (target ≤ 2%)."]
    return [*md, ""]


def _synthesis_row(r: dict[str, Any]) -> str:
    cap = r["capacity"]

    def cell(key: str) -> str:
        v = r[key]
        return f"{v:g} / {cap[key]} ({100 * v / cap[key]:.0f}%)"

    fmax = f"{r['fmax_mhz']:.1f}" if r.get("fmax_mhz") else "n/a"
    if r.get("pnr_error"):
        fmax = f"P&R failed: {r['pnr_error'].removeprefix('ERROR: ')}"
    pe, bus = r["params"].get("num_pe", "?"), r["params"].get("bus_bits", "?")
    return (
        f"| {r['target']} | {pe} | {bus}"
        f" | {cell('lut')} | {cell('ff')} | {cell('dsp')} | {cell('bram')} | {fmax} | "
        f"{'yes' if r.get('fits') else 'no'} |"
    )


def synthesis_section(reports: list[dict[str, Any]], skipped: list[str]) -> list[str]:
    """Resources and post-route Fmax of every synthesis report, and how to make them."""
    md = ["## Synthesis (open-source: Yosys, nextpnr-ecp5)", ""]
    if not reports:
        md.append("_(no synthesis reports found; run `edgedrnn synth`, see below)_")
    else:
        md += [
            "| target | PEs | bus | LUT | FF | DSP | BRAM | Fmax (MHz) | fits |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        order = sorted(
            reports,
            key=lambda r: (r["target"], r["params"].get("num_pe", 0), r["params"].get("bus_bits")),
        )
        md += [_synthesis_row(r) for r in order]
    if skipped:
        md += ["", *(f"- {note}" for note in skipped)]
    return [
        *md,
        "",
        "Reproduce: `edgedrnn synth --target xc7z007s ecp5-25k --num-pe 8 --bus-bits 64`; "
        "`edgedrnn synth --target ecp5-85k --num-pe 16 --bus-bits 128` (and 32 / 256).",
        "",
    ]
