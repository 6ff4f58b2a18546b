"""A sweep's results shown: a table, JSON for scripts, and plots with the Pareto points marked.

* :func:`table`: a rich table, one row per point (Pareto-optimal ones starred);
* :func:`write_json`: ``sweep.json`` (:meth:`~edgedrnn.sweep.result.SweepResult.to_dict`);
* :func:`plot`: latency against LUTs (and against the error where accuracy ran), every
  finished point in grey, the Pareto front in colour and joined (needs the ``plot`` extra).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..support.extras import require
from .result import SweepResult

__all__ = ["plot", "table", "write_json", "write_outputs"]

#: Where a figure came from, as the table shows it.
_SOURCE = {"estimate": "est", "rtl": "rtl", "synth": "syn"}


def _fmt(value: Any, spec: str = ".3g") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def table(result: SweepResult) -> Any:
    """A :class:`rich.table.Table` of the points."""
    from rich.table import Table

    t = Table(
        title=f"sweep {result.name}: {len(result.rows)} points, "
        f"{len(result.pareto)} Pareto-optimal (*)"
    )
    cols = [
        "",
        "device",
        "PE",
        "bus",
        "MHz",
        "seed",
        "Θ",
        "latency µs",
        "src",
        "LUT",
        "src",
        "Fmax",
        "error",
        "status",
    ]
    for c in cols:
        t.add_column(c, justify="left" if c in ("device", "src", "status") else "right")
    for row in result.rows:
        status = row["status"] + (f": {row['reason']}" if row.get("reason") else "")
        t.add_row(
            "*" if row.get("pareto") else "",
            row["device"],
            str(row["num_pe"]),
            str(row["bus_bits"]),
            _fmt(row["clock_mhz"], "g"),
            str(row["seed"]),
            _fmt(row["theta"], "g") if row["theta"] is not None else "model",
            _fmt(row.get("latency_us")),
            _SOURCE.get(row.get("latency_source"), "-"),
            _fmt(row.get("luts"), ".0f"),
            _SOURCE.get(row.get("luts_source"), "-"),
            _fmt(row.get("fmax_mhz"), ".1f"),
            _fmt(row.get("error")),
            status[:60],
        )
    return t


def write_json(result: SweepResult, path: str | Path) -> Path:
    """Write the result as JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=1, default=str) + "\n")
    return path


def _labels(rows: list[dict[str, Any]], key: str) -> dict[tuple[float, float], str]:
    """One label per plotted position: equal points share it, e.g. ``8 PE × 64|128 bit``."""
    groups: dict[tuple[float, float], dict[int, list[str]]] = {}
    for r in rows:
        buses = groups.setdefault((r[key], r["latency_us"]), {}).setdefault(r["num_pe"], [])
        if str(r["bus_bits"]) not in buses:
            buses.append(str(r["bus_bits"]))
    return {
        pos: "; ".join(f"{pe} PE × {'|'.join(b)} bit" for pe, b in by_pe.items())
        for pos, by_pe in groups.items()
    }


def plot(result: SweepResult, path: str | Path) -> Path | None:
    """Latency vs LUTs (and vs error, where accuracy ran), Pareto points marked; None when
    no point has both figures."""
    matplotlib = require("matplotlib", "the sweep's plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result.rows if r["status"] == "ok"]
    pairs = [("luts", "LUTs"), ("error", "error (task metric, lower is better)")]
    pairs = [(k, lab) for k, lab in pairs if any(r.get(k) is not None for r in rows)]
    if not rows or not pairs:
        return None
    fig, axes = plt.subplots(1, len(pairs), figsize=(6 * len(pairs), 4.5), squeeze=False)
    front = [result.rows[i] for i in result.pareto]
    for ax, (key, label) in zip(axes[0], pairs, strict=True):
        pts = [r for r in rows if r.get(key) is not None and r.get("latency_us") is not None]
        ax.scatter([r[key] for r in pts], [r["latency_us"] for r in pts], c="0.6", label="points")
        fp = sorted((r for r in front if r.get(key) is not None), key=lambda r: r[key])
        ax.scatter(
            [r[key] for r in fp],
            [r["latency_us"] for r in fp],
            c="C3",
            s=60,
            marker="*",
            label="Pareto-optimal",
            zorder=3,
        )
        for (x, y), text in _labels(fp, key).items():
            ax.annotate(
                text,
                (x, y),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xlabel(label)
        ax.set_ylabel("latency per step (µs)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"sweep {result.name}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(result: SweepResult, out: str | Path, plots: bool = True) -> dict[str, str]:
    """``sweep.json`` and (with matplotlib) ``sweep.png`` in ``out``; their paths."""
    out = Path(out)
    files = {"json": str(write_json(result, out / "sweep.json"))}
    if plots:
        png = plot(result, out / "sweep.png")
        if png is not None:
            files["plot"] = str(png)
    return files
