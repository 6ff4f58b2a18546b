"""Several trained models over (weight sparsity γ, threshold Θ): the spatial and temporal
sparsity trade-off side by side.

Each model is swept with :func:`~edgedrnn.tradeoff.evaluate.evaluate`; :func:`grid_result`
puts their rows in one JSON-able dict (a row per (model, Θ) with γ, the task metric,
columns and DRAM weight bytes per step and the bytes against a dense GRU step), ordered by
γ. The bytes are what the accelerator fetches from DRAM per step: passed-on columns times
the column size of the model's own weight image (sparse for a pruned model), so they
combine both kinds of sparsity; the reduction is against every column of a dense image.
:func:`render_grid` shows the rows as a table, :func:`plot_grid` the metric against bytes
per step, one curve per model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .evaluate import metric_label, save_figure

#: The row fields a grid row keeps from a sweep's row (plus the metric's own fields).
ROW_FIELDS = (
    "theta",
    "columns_per_step",
    "columns_reduction",
    "bytes_per_step",
    "bytes_dense_step",
    "bytes_reduction",
    "occupancy",
    "overflow",
)


def _metric_fields(task: str) -> tuple[str, ...]:
    return {"ctc": ("wer",), "classify": ("accuracy", "error"), "regress": ("rmse", "mae")}[task]


def grid_result(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The (γ, Θ) grid of sweeps of one task (each from
    :func:`~edgedrnn.tradeoff.evaluate.evaluate`, with ``"model"`` set).

    Raises
    ------
    ValueError
        No sweeps, or sweeps of different tasks.
    """
    if not results:
        raise ValueError("no sweeps to put in a grid")
    tasks = {r["task"] for r in results}
    if len(tasks) != 1:
        raise ValueError(f"sweeps of different tasks: {sorted(tasks)}")
    task = tasks.pop()
    fields = ROW_FIELDS + _metric_fields(task)
    models, rows = [], []
    order = sorted(range(len(results)), key=lambda k: results[k].get("weight_sparsity", 0.0))
    for k in order:
        res = results[k]
        gamma = float(res.get("weight_sparsity", 0.0))
        models.append(
            {
                "model": res.get("model"),
                "weight_sparsity": gamma,
                "layer_sizes": res["layer_sizes"],
                "baseline": {f: res["baseline"].get(f) for f in ("name", *_metric_fields(task))},
                "test_sequences": res["test_sequences"],
            }
        )
        for row in res["rows"]:
            rows.append(
                {"model": res.get("model"), "weight_sparsity": gamma}
                | {f: row[f] for f in fields if f in row}
            )
    return {
        "task": task,
        "metric": results[0]["metric"],
        "units": results[0].get("units"),
        "models": models,
        "rows": rows,
    }


def _metric_cell(task: str, row: dict[str, Any]) -> str:
    if task == "classify":
        return f"{row['accuracy']:.2f}"
    if task == "ctc":
        return f"{row['wer']:.2f}"
    return f"{row['rmse']:.4g}/{row['mae']:.4g}"


def render_grid(grid: dict[str, Any]):
    """A rich Table: one row per (model, Θ), γ ascending, with each model's float baseline."""
    from rich.table import Table

    head = {"classify": "accuracy (%)", "ctc": "WER (%)", "regress": "RMSE/MAE"}[grid["task"]]
    table = Table(title="weight sparsity γ × threshold Θ: DRAM weight bytes per step")
    for name in ("model", "γ", "Θ", head, "cols/step", "KiB/step", "vs dense step"):
        table.add_column(name, justify="left" if name == "model" else "right", no_wrap=True)
    for m in grid["models"]:
        name = Path(str(m["model"])).parent.name or str(m["model"])
        base = m["baseline"]
        table.add_row(
            name,
            f"{m['weight_sparsity']:g}",
            base["name"],
            _metric_cell(grid["task"], base),
            "-",
            "-",
            "-",
            style="dim",
        )
        for r in grid["rows"]:
            if r["model"] != m["model"]:
                continue
            table.add_row(
                name,
                f"{r['weight_sparsity']:g}",
                f"{r['theta']:g}" + (" (overflow)" if r.get("overflow") else ""),
                _metric_cell(grid["task"], r),
                f"{r['columns_per_step']:.1f}",
                f"{r['bytes_per_step'] / 1024:.1f}",
                f"{r['bytes_reduction']:.1f}x fewer",
            )
    return table


def plot_grid(grid: dict[str, Any], path: str | Path) -> Path:
    """The task metric against DRAM weight bytes per step (log scale), one curve per model
    labelled with its γ, each point with its Θ; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = {"ctc": "wer", "classify": "error", "regress": "rmse"}[grid["task"]]
    label = metric_label(metric, grid.get("units"))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for m in grid["models"]:
        rows = [r for r in grid["rows"] if r["model"] == m["model"]]
        xs = [r["bytes_per_step"] / 1024 for r in rows]
        ys = [r[metric] for r in rows]
        (line,) = ax.plot(xs, ys, "o-", label=f"γ = {m['weight_sparsity']:g}")
        for x, y, r in zip(xs, ys, rows, strict=True):
            ax.annotate(
                f"{r['theta']:g}",
                (x, y),
                textcoords="offset points",
                xytext=(3, 3),
                fontsize="x-small",
                color=line.get_color(),
            )
    ax.set_xscale("log")
    ax.set_xlabel("DRAM weight KiB per step (points: Θ)")
    ax.set_ylabel(label)
    ax.set_title("weight sparsity γ and threshold Θ")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return save_figure(fig, path)
