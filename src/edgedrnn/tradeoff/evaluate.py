"""The accuracy-latency trade-off: a trained model evaluated over a sweep of thresholds Θ.

For each Θ (Θx = Θh = Θ in every layer), on the test set:

* the task metric (WER for CTC, error/accuracy for classification, RMSE for regression),
  from the quantized model's eval forward: the fast batched PyTorch path, which computes the
  accelerator's integers exactly (float64, datapath.md);
* temporal sparsity per layer for Δx and Δh (fraction of elements *not* passed on);
* weight columns fetched per step (one column per passed-on delta; the bias column, fetched
  once per sequence, is not counted), absolute, in bytes, and relative to Θ = 0;
* the reference backend's outputs on a handful of test sequences (``n_reference``): the
  compiled Program run by the integer golden model must give the same integers (outputs and
  delta counts) as the PyTorch path; the reference is a pure-Python loop, so only a few
  sequences are run on it.

:func:`evaluate` returns a JSON-able dict; :func:`render_table` and :func:`plot` show it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler import compile as compile_program
from ..data.sequences import Sample
from ..runner import run
from ..support.progress import Bars
from ..train.heads import SequenceModel, metric_name, score
from ..train.recipe import infer


def _columns(model: SequenceModel, nonzero: Sequence[np.ndarray]) -> dict[str, Any]:
    program = compile_program(model.rnn)
    strides = np.array([lay.column_stride for lay in program.layers], dtype=np.float64)
    allnz = np.concatenate(nonzero, axis=0).astype(np.float64)  # (sum T, L, 2)
    mean = allnz.mean(axis=0)  # (L, 2)
    sizes = model.rnn.layer_sizes()
    return {
        "layers": [
            {
                "dx_passed": float(mean[k, 0]),
                "dh_passed": float(mean[k, 1]),
                "sparsity_dx": float(1.0 - mean[k, 0] / i),
                "sparsity_dh": float(1.0 - mean[k, 1] / h),
            }
            for k, (i, h) in enumerate(sizes)
        ],
        "columns_per_step": float(mean.sum()),
        "bytes_per_step": float((mean.sum(axis=1) * strides).sum()),
        "columns_dense": int(sum(i + h for i, h in sizes)),
    }


def reference_check(
    model: SequenceModel, samples: Sequence[Sample], theta: float, fast: dict[str, Any]
) -> dict[str, Any]:
    """Run the compiled Program on the reference backend for ``samples`` at Θ and compare
    with the fast path's outputs and delta counts (``fast`` from :func:`infer`)."""
    program = compile_program(model.rnn, theta_x=theta, theta_h=theta)
    equal = []
    preds = []
    t0 = time.time()
    for i, (x, _) in enumerate(samples):
        res = run(program, x, backend="reference")
        same_out = np.array_equal(res.outputs_q, np.rint(fast["outputs"][i] * 256).astype(np.int16))
        same_nz = np.array_equal(res.nonzero, fast["nonzero"][i])
        equal.append(bool(same_out and same_nz))
        import torch

        scores = model.head(torch.as_tensor(res.outputs, dtype=torch.float32)[None])
        preds.append(model.predict(scores, torch.tensor([len(x)]))[0])
    return {
        "sequences": len(samples),
        "equal": all(equal),
        "equal_count": int(sum(equal)),
        "predictions_equal": [p == q for p, q in zip(preds, fast["predictions"], strict=False)]
        if model.task != "regress"
        else None,
        "seconds": round(time.time() - t0, 2),
    }


def evaluate(
    model: SequenceModel,
    test: Sequence[Sample],
    thetas: Sequence[float],
    n_reference: int = 2,
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, Any]:
    """Sweep ``thetas`` on ``test``; see the module docstring. The model must be a DeltaGRU."""
    if not model.is_delta:
        raise ValueError("evaluate needs a DeltaGRU model (train it with `edgedrnn train`)")
    rnn = model.rnn
    saved = (rnn.theta_x, rnn.theta_h)
    name = metric_name(model.task)
    targets = [y for _, y in test]
    rows = []
    try:
        with Bars(progress, verbose=False) as bars:
            for theta in thetas:
                rnn.set_thresholds(theta, theta)
                t0 = time.time()
                res = infer(model, test, batch_size, "cpu", bars, f"Θ = {theta:g}")
                row: dict[str, Any] = {"theta": float(theta)}
                row.update(score(model.task, res["predictions"], targets))
                row.update(_columns(model, res["nonzero"]))
                row["overflow"] = False
                row["seconds"] = round(time.time() - t0, 2)
                if n_reference > 0:
                    k = min(n_reference, len(test))
                    sub = {key: res[key][:k] for key in ("outputs", "nonzero", "predictions")}
                    row["reference"] = reference_check(model, test[:k], theta, sub)
                rows.append(row)
    finally:
        rnn.set_thresholds(*saved)
    base = rows[0]["columns_per_step"] if rows and rows[0]["theta"] == 0.0 else None
    for row in rows:
        if base:
            row["columns_relative"] = row["columns_per_step"] / base
            row["columns_reduction"] = base / max(row["columns_per_step"], 1e-12)
    result = {
        "task": model.task,
        "metric": name,
        "test_sequences": len(test),
        "test_frames": int(sum(len(x) for x, _ in test)),
        "layer_sizes": [list(s) for s in rnn.layer_sizes()],
        "quantized": bool(rnn.quantized),
        "rows": rows,
        "fast_path": "quantized DeltaGRU eval forward in PyTorch (float64, exact integers)",
        "reference_path": f"reference backend on the first {n_reference} test sequences",
    }
    result["target"] = target_check(result)
    return result


#: How far the metric may rise above Θ = 0's for the target: percentage points for the
#: percentage metrics (WER, classification error), a fraction of Θ = 0's value for RMSE,
#: whose unit is the task's own.
TOLERANCE: dict[str, tuple[str, float]] = {
    "wer": ("points", 1.0),
    "error": ("points", 1.0),
    "rmse": ("relative", 0.10),
}


def _limit(name: str, base: float) -> tuple[float, str]:
    """The largest metric value that meets the target, and the rule in words."""
    kind, amount = TOLERANCE[name]
    if kind == "points":
        return base + amount, f"{name.upper()} within {amount:g} points of Θ = 0's"
    return base * (1 + amount), f"{name.upper()} within {amount:.0%} of Θ = 0's"


def target_check(result: dict[str, Any], reduction: float = 5.0) -> dict:
    """The largest-reduction Θ with ≥ ``reduction``x fewer columns than Θ = 0 and a metric
    within the task's :data:`TOLERANCE` of Θ = 0's; ``met`` False when there is none.

    The returned ``rule`` states the target in words, for the task's metric.
    """
    rows = result["rows"]
    name = result["metric"]
    if not rows or rows[0]["theta"] != 0.0:
        return {"met": False, "why": "the sweep must start at Θ = 0"}
    base = rows[0][name]
    limit, words = _limit(name, base)
    rule = f"≥ {reduction:g}x fewer weight columns than Θ = 0, {words}"
    ok = [r for r in rows if r.get("columns_reduction", 0) >= reduction and r[name] <= limit]
    if not ok:
        return {"met": False, "baseline": base, "limit": limit, "rule": rule}
    best = max(ok, key=lambda r: r["columns_reduction"])
    return {
        "met": True,
        "theta": best["theta"],
        name: best[name],
        "baseline": base,
        "limit": limit,
        "columns_reduction": best["columns_reduction"],
        "rule": rule,
    }


def render_table(result: dict[str, Any]):
    """A rich Table of the sweep."""
    from rich.table import Table

    name = result["metric"]
    unit = "%" if name in ("wer", "error") else ""
    table = Table(
        title=f"trade-off on {result['test_sequences']} test sequences "
        f"({result['test_frames']} steps), layers {result['layer_sizes']}"
    )
    table.add_column("Θ", justify="right")
    table.add_column(f"{name.upper()}{' (%)' if unit else ''}", justify="right")
    nl = len(result["layer_sizes"])
    for k in range(nl):
        table.add_column(f"L{k} sparsity Δx/Δh", justify="right")
    table.add_column("columns/step", justify="right")
    table.add_column("vs Θ=0", justify="right")
    table.add_column("reduction", justify="right")
    table.add_column("reference", justify="right")
    for r in result["rows"]:
        ref = r.get("reference")
        ref_s = f"{ref['equal_count']}/{ref['sequences']} equal" if ref else "-"
        table.add_row(
            f"{r['theta']:g}",
            f"{r[name]:.2f}",
            *[f"{lay['sparsity_dx']:.2f}/{lay['sparsity_dh']:.2f}" for lay in r["layers"]],
            f"{r['columns_per_step']:.1f}",
            f"{r.get('columns_relative', float('nan')):.3f}",
            f"{r.get('columns_reduction', float('nan')):.1f}x",
            ref_s,
        )
    return table


def plot(result: dict[str, Any], path: str | Path) -> Path:
    """WER (or the task metric) and relative fetched columns against Θ, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = result["metric"]
    rows = result["rows"]
    th = [r["theta"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(th, [r[name] for r in rows], "o-", color="tab:red", label=name.upper())
    ax.set_xlabel("threshold Θ (Θx = Θh)")
    ax.set_ylabel(f"{name.upper()}{' (%)' if name in ('wer', 'error') else ''}", color="tab:red")
    ax2 = ax.twinx()
    ax2.plot(
        th,
        [r.get("columns_relative", np.nan) for r in rows],
        "s--",
        color="tab:blue",
        label="columns fetched vs Θ=0",
    )
    ax2.set_ylabel("weight columns fetched per step (relative to Θ = 0)", color="tab:blue")
    ax2.set_ylim(0, 1.05)
    ax2.axhline(0.2, color="tab:blue", lw=0.6, ls=":")
    ax.set_title(f"accuracy vs weight fetches, layers {result['layer_sizes']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
