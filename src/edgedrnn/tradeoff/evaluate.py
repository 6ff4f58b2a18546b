"""The accuracy-latency trade-off: a trained model evaluated over a sweep of thresholds Θ.

For each Θ (Θx = Θh = Θ in every layer), on the test set:

* the task metric (:func:`~edgedrnn.tradeoff.metrics.task_metrics`): WER for CTC, accuracy
  and error for classification, RMSE and MAE (overall and per target, in the targets' own
  units) for regression;
* occupancy and temporal sparsity per layer for Δx and Δh (the fractions of elements passed
  on and not passed on);
* weight columns fetched per step (one column per passed-on delta; the bias column, fetched
  once per sequence, is not counted), absolute, relative to Θ = 0, and in bytes of the
  model's weight image (sparse for a model trained with ``--weight-sparsity`` γ), also
  against a dense GRU step's bytes (every column of a dense image: temporal and weight
  sparsity together);
* whether anything saturated (the overflow flag).

The numbers come from one path, ``backend``: ``"torch"`` (default) is the quantized
DeltaGRU's eval forward in PyTorch, batched, which computes the accelerator's integers
exactly (float64, docs/datapath.md) and is fast enough for whole test sets; ``"reference"``,
``"cpu"`` and ``"rtl"`` run the compiled Program on that backend one sequence at a time
(:func:`edgedrnn.run`). The first ``n_reference`` test sequences are also run on a second
path, the reference backend (or, with ``backend="reference"``, the PyTorch path), and
compared integer for integer (outputs and delta counts).

Baselines, with no thresholds and no quantization: the dense float GRU trained in the dense
phase (``dense``, ``dense.pt`` beside ``model.pt``), and the DeltaGRU's own weights run as a
float GRU (what quantization and the thresholds cost the final network).

:func:`evaluate` returns a JSON-able dict; :func:`render_table` and :func:`plot` show it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..compiler import compile as compile_program
from ..config import HardwareConfig
from ..data.sequences import Sample
from ..runner import run
from ..support.progress import Bars
from ..train.dense import DenseGRU
from ..train.heads import SequenceModel, metric_name
from ..train.recipe import infer
from .metrics import in_units, task_metrics

#: Paths that :func:`evaluate` takes its numbers from (``backend``).
EVALUATION_BACKENDS = ("torch", "reference", "cpu", "rtl")


def model_hardware(model: SequenceModel) -> HardwareConfig:
    """The accelerator a trained model is compiled for: the default one, or, for a model
    trained with ``--weight-sparsity``, the sparse weight image for its PE count."""
    from ..train.recipe import TrainConfig, hardware

    return hardware(TrainConfig.from_dict(model.metadata.get("train_config", {})))


def weight_sparsity(model: SequenceModel) -> float:
    """γ the model was trained (pruned) with, 0 for a dense one."""
    return float(model.metadata.get("train_config", {}).get("weight_sparsity", 0.0))


def column_bytes(model: SequenceModel) -> tuple[np.ndarray, np.ndarray]:
    """Bytes of one weight column per layer: (the model's image, a dense image)."""
    hw = model_hardware(model)
    own = compile_program(model.rnn, hw)
    dense = compile_program(model.rnn, dataclasses.replace(hw, sparse_weights=False))
    return tuple(  # type: ignore[return-value]
        np.array([lay.column_stride for lay in p.layers], dtype=np.float64) for p in (own, dense)
    )


def _columns(
    model: SequenceModel, nonzero: Sequence[np.ndarray], strides: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    allnz = np.concatenate(nonzero, axis=0).astype(np.float64)  # (sum T, L, 2)
    mean = allnz.mean(axis=0)  # (L, 2)
    sizes = model.rnn.layer_sizes()
    dense = int(sum(i + h for i, h in sizes))
    own, dense_stride = strides
    dense_bytes = float(sum((i + h) * s for (i, h), s in zip(sizes, dense_stride, strict=True)))
    step_bytes = float((mean.sum(axis=1) * own).sum())
    return {
        "layers": [
            {
                "dx_passed": float(mean[k, 0]),
                "dh_passed": float(mean[k, 1]),
                "occupancy_dx": float(mean[k, 0] / i),
                "occupancy_dh": float(mean[k, 1] / h),
                "sparsity_dx": float(1.0 - mean[k, 0] / i),
                "sparsity_dh": float(1.0 - mean[k, 1] / h),
            }
            for k, (i, h) in enumerate(sizes)
        ],
        "columns_per_step": float(mean.sum()),
        "occupancy": float(mean.sum() / dense),
        "bytes_per_step": step_bytes,
        "bytes_dense_step": dense_bytes,
        "bytes_reduction": dense_bytes / max(step_bytes, 1e-12),
        "columns_dense": dense,
    }


def predict_outputs(model: SequenceModel, outputs: np.ndarray) -> Any:
    """The head on one sequence's core outputs (T, H), decoded (the host's part)."""
    with torch.no_grad():
        scores = model.head(torch.as_tensor(outputs, dtype=torch.float32)[None])
        return model.predict(scores, torch.tensor([len(outputs)]))[0]


def _fast(model: SequenceModel, samples: Sequence[Sample], batch_size: int, bars, what: str):
    """The PyTorch path at the model's thresholds, with raw Q8.8 outputs."""
    res = infer(model, samples, batch_size, "cpu", bars, what)
    res["outputs_q"] = [
        np.rint(o.astype(np.float64) * 256).astype(np.int16) for o in res["outputs"]
    ]
    return res


def _on_backend(
    model: SequenceModel, samples: Sequence[Sample], theta: float, backend: str, bars, what: str
) -> dict[str, Any]:
    """The compiled Program at Θ run on ``backend``, sequence by sequence, then the head."""
    program = compile_program(model.rnn, model_hardware(model), theta_x=theta, theta_h=theta)
    task = bars.add(what, len(samples)) if bars else None
    out: dict[str, Any] = {"predictions": [], "outputs_q": [], "nonzero": [], "overflow": False}
    for x, _ in samples:
        res = run(program, x, backend=backend)
        out["outputs_q"].append(res.outputs_q)
        out["nonzero"].append(res.nonzero)
        out["predictions"].append(predict_outputs(model, res.outputs))
        out["overflow"] = out["overflow"] or bool(res.overflow)
        if bars:
            bars.update(task)
    if bars:
        bars.remove(task)
    return out


def _results(model, samples, theta, backend, batch_size, bars, what) -> dict[str, Any]:
    if backend == "torch":
        return _fast(model, samples, batch_size, bars, what)
    return _on_backend(model, samples, theta, backend, bars, what)


def compare(
    model: SequenceModel,
    samples: Sequence[Sample],
    theta: float,
    got: dict[str, Any],
    against: str = "reference",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Run ``samples`` at Θ on the ``against`` path and compare with ``got``, integer for
    integer.

    Parameters
    ----------
    model : SequenceModel
        A DeltaGRU model, its thresholds set to Θ.
    samples : sequence of Sample
        The sequences ``got`` holds results of (in order).
    theta : float
        The threshold Θx = Θh.
    got : dict
        ``outputs_q`` (raw Q8.8 int16 (T, H) per sequence), ``nonzero`` and
        ``predictions``, from the evaluated path.
    against : str
        ``"reference"`` (the reference backend) or ``"torch"`` (the batched PyTorch path).
    """
    t0 = time.time()
    other = _results(model, samples, theta, against, batch_size, None, against)
    equal = [
        bool(np.array_equal(a, b) and np.array_equal(m, n))
        for a, b, m, n in zip(
            got["outputs_q"], other["outputs_q"], got["nonzero"], other["nonzero"], strict=True
        )
    ]
    same_pred = None
    if model.task != "regress":
        same_pred = [p == q for p, q in zip(got["predictions"], other["predictions"], strict=True)]
    return {
        "against": against,
        "sequences": len(samples),
        "equal": all(equal),
        "equal_count": int(sum(equal)),
        "predictions_equal": same_pred,
        "seconds": round(time.time() - t0, 2),
    }


def reference_check(
    model: SequenceModel, samples: Sequence[Sample], theta: float, fast: dict[str, Any]
) -> dict[str, Any]:
    """Run the compiled Program on the reference backend for ``samples`` at Θ and compare
    with the fast path's outputs and delta counts (``fast`` from :func:`infer`)."""
    got = dict(fast)
    got.setdefault(
        "outputs_q",
        [np.rint(np.asarray(o, np.float64) * 256).astype(np.int16) for o in fast["outputs"]],
    )
    return compare(model, samples, theta, got, "reference")


def float_gru(model: SequenceModel) -> SequenceModel:
    """The DeltaGRU's weights as a float GRU (no thresholds, no quantization), same head."""
    import copy

    rnn = model.rnn
    sizes = list(rnn.hidden_sizes)
    if len(set(sizes)) == 1:
        dense = DenseGRU(rnn.input_size, sizes[0], rnn.num_layers)
        with torch.no_grad():
            for k, layer in enumerate(dense.layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(layer, f"{name}_l0").copy_(getattr(rnn, f"{name}_l{k}"))
        core: torch.nn.Module = dense
    else:  # layers of different sizes: the DeltaGRU itself in float at Θ = 0
        core = copy.deepcopy(rnn)
        core.quantized = False
        core.set_thresholds(0.0, 0.0)
    return SequenceModel(core, model.head, model.task, model.metadata).eval()


#: Baseline kinds: (name, short label for the table).
BASELINES = {
    "dense": ("dense float GRU (dense.pt)", "float: dense.pt"),
    "float": ("float GRU with the DeltaGRU's weights", "float: own weights"),
}


def baseline(
    model: SequenceModel,
    test: Sequence[Sample],
    kind: str,
    batch_size: int = 64,
    bars: Bars | None = None,
    prepared_for: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metrics of a float model (``model``: a dense GRU, no thresholds) on ``test``.

    ``kind`` is one of :data:`BASELINES`: ``"dense"`` (the dense phase's GRU) or
    ``"float"`` (:func:`float_gru` of the DeltaGRU). ``prepared_for``: the metadata of the
    model ``test``'s targets were prepared for (default: ``model``'s); predictions and
    targets are both scored in the targets' own units.
    """
    t0 = time.time()
    name, label = BASELINES[kind]
    res = infer(model, test, batch_size, "cpu", bars, name)
    row: dict[str, Any] = {"kind": kind, "name": name, "label": label}
    targets = in_units([y for _, y in test], prepared_for or model.metadata)
    preds = in_units(res["predictions"], model.metadata)
    names = {"data": model.metadata.get("data", {})}
    row.update(task_metrics(model.task, preds, targets, names))
    row["seconds"] = round(time.time() - t0, 2)
    return row


def evaluate(
    model: SequenceModel,
    test: Sequence[Sample],
    thetas: Sequence[float],
    n_reference: int = 2,
    batch_size: int = 64,
    progress: bool = False,
    backend: str = "torch",
    dense: SequenceModel | None = None,
    max_sequences: int | None = None,
) -> dict[str, Any]:
    """Sweep ``thetas`` on ``test``; see the module docstring.

    Parameters
    ----------
    model : SequenceModel
        A DeltaGRU model (its thresholds are restored afterwards).
    test : sequence of Sample
        Test sequences prepared as the training data was
        (:func:`~edgedrnn.train.datasets.evaluation_data`).
    thetas : sequence of float
        Thresholds Θ (Θx = Θh), real units; start with 0 for the column reduction.
    n_reference : int
        Test sequences also run on the second path per Θ (0: none).
    batch_size : int
        Sequences per batch on the PyTorch path.
    progress : bool
        Show progress bars.
    backend : str
        One of :data:`EVALUATION_BACKENDS`.
    dense : SequenceModel, optional
        The dense float GRU (``dense.pt``) to report as the baseline.
    max_sequences : int, optional
        Only the first this many test sequences (for the slow backends).

    Returns
    -------
    dict
        ``rows`` (one per Θ), ``baselines`` (the float models), ``baseline`` (the first of
        them), ``target`` and a description of the run; JSON-able.
    """
    if not model.is_delta:
        raise ValueError("evaluate needs a DeltaGRU model (train it with `edgedrnn train`)")
    if backend not in EVALUATION_BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {EVALUATION_BACKENDS}")
    total = len(test)
    if max_sequences is not None:
        test = list(test[:max_sequences])
    rnn = model.rnn
    saved = (rnn.theta_x, rnn.theta_h)
    name = metric_name(model.task)
    targets = [y for _, y in test]
    against = "torch" if backend == "reference" else "reference"
    rows = []
    baselines = []
    strides = column_bytes(model)
    try:
        with Bars(progress, verbose=False) as bars:
            if dense is not None:
                baselines.append(baseline(dense, test, "dense", batch_size, bars, model.metadata))
            baselines.append(baseline(float_gru(model), test, "float", batch_size, bars))
            for theta in thetas:
                rnn.set_thresholds(theta, theta)
                t0 = time.time()
                res = _results(model, test, theta, backend, batch_size, bars, f"Θ = {theta:g}")
                row: dict[str, Any] = {"theta": float(theta)}
                row.update(task_metrics(model.task, res["predictions"], targets, model.metadata))
                row.update(_columns(model, res["nonzero"], strides))
                row["overflow"] = bool(res["overflow"])
                row["seconds"] = round(time.time() - t0, 2)
                if n_reference > 0:
                    k = min(n_reference, len(test))
                    sub = {key: res[key][:k] for key in ("outputs_q", "nonzero", "predictions")}
                    row["reference"] = compare(model, test[:k], theta, sub, against, batch_size)
                rows.append(row)
    finally:
        rnn.set_thresholds(*saved)
    base = rows[0]["columns_per_step"] if rows and rows[0]["theta"] == 0.0 else None
    for row in rows:
        if base:
            row["columns_relative"] = row["columns_per_step"] / base
            row["columns_reduction"] = base / max(row["columns_per_step"], 1e-12)
        row["vs_baseline"] = _versus(name, row[name], baselines[0][name])
    result = {
        "task": model.task,
        "metric": name,
        "units": _units(model),
        "backend": backend,
        "test_sequences": len(test),
        "test_sequences_available": total,
        "test_frames": int(sum(len(x) for x, _ in test)),
        "layer_sizes": [list(s) for s in rnn.layer_sizes()],
        "quantized": bool(rnn.quantized),
        "weight_sparsity": weight_sparsity(model),
        "baselines": baselines,
        "baseline": baselines[0],
        "rows": rows,
        "path": _path_words(backend),
        "check_path": f"{_path_words(against)}, on the first {min(n_reference, len(test))} "
        "test sequences per Θ",
    }
    result["target"] = target_check(result)
    if name == "rmse":
        result["float_target"] = float_target_check(result)
    return result


def _versus(name: str, value: float, base: float) -> float:
    """A row's metric against the float baseline: a ratio for RMSE, points otherwise."""
    if name == "rmse":
        return float(value / base) if base > 0 else float("inf")
    return float(value - base)


def _units(model: SequenceModel) -> str:
    if model.task != "regress":
        return "%"
    return "targets' own units"


def _path_words(backend: str) -> str:
    if backend == "torch":
        return "quantized DeltaGRU eval forward in PyTorch (float64, exact integers), batched"
    return f"the compiled Program on the {backend} backend, one sequence at a time"


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
        unit = "point" if amount == 1 else "points"
        return base + amount, f"{name.upper()} within {amount:g} {unit} of Θ = 0's"
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


#: Regression against the float baseline: the quantized DeltaGRU's RMSE may be this many
#: times the float GRU's (the project's target for regression tasks).
FLOAT_RMSE_RATIO = 1.5


def float_target_check(
    result: dict[str, Any], reduction: float = 5.0, ratio: float = FLOAT_RMSE_RATIO
) -> dict:
    """Regression only: the largest-reduction Θ with ≥ ``reduction``x fewer columns than
    Θ = 0 and an RMSE at most ``ratio`` times the float baseline's (``result["baseline"]``:
    the dense GRU when there is one); ``met`` False when there is none."""
    base = result["baseline"]
    rule = (
        f"≥ {reduction:g}x fewer weight columns than Θ = 0, RMSE within {ratio:g}x of the "
        f"{base['name']}'s"
    )
    out: dict[str, Any] = {"met": False, "baseline": base["rmse"], "rule": rule}
    ok = [
        r
        for r in result["rows"]
        if r.get("columns_reduction", 0) >= reduction and r["rmse"] <= ratio * base["rmse"]
    ]
    if ok:
        best = max(ok, key=lambda r: r["columns_reduction"])
        out.update(
            met=True,
            theta=best["theta"],
            rmse=best["rmse"],
            columns_reduction=best["columns_reduction"],
        )
    return out


def _metric_cells(result: dict[str, Any], row: dict[str, Any]) -> list[str]:
    if result["task"] == "classify":
        return [f"{row['accuracy']:.2f}"]
    if result["task"] == "ctc":
        return [f"{row['wer']:.2f}"]
    cells = [f"{row['rmse']:.4g}/{row['mae']:.4g}"]
    if len(row.get("per_target", [])) > 1:
        cells += [f"{t['rmse']:.4g}/{t['mae']:.4g}" for t in row["per_target"]]
    return cells


def _metric_headers(result: dict[str, Any]) -> list[str]:
    if result["task"] == "classify":
        return ["accuracy (%)"]
    if result["task"] == "ctc":
        return ["WER (%)"]
    heads = ["RMSE/MAE"]
    per = result["baseline"].get("per_target", [])
    if len(per) > 1:
        heads += [t["name"] for t in per]
    return heads


def render_table(result: dict[str, Any]):
    """A rich Table of the sweep: the float baselines first, then one row per Θ."""
    from rich.table import Table

    caption = None
    if result["task"] == "regress":
        caption = (
            f"RMSE / MAE in the {result.get('units', 'targets units')}, overall and per target"
        )
    table = Table(
        title=f"trade-off on {result['test_sequences']} test sequences "
        f"({result['test_frames']} steps), layers {result['layer_sizes']}, "
        f"{result.get('backend', 'torch')} backend",
        caption=caption,
    )
    table.add_column("Θ", justify="right")
    for head in _metric_headers(result):
        table.add_column(head, justify="right", no_wrap=True)
    nl = len(result["layer_sizes"])
    for k in range(nl):
        table.add_column(f"L{k} occup. Δx/Δh", justify="right")
    table.add_column("cols/step", justify="right")
    table.add_column("reduction", justify="right")
    table.add_column("vs float", justify="right")
    table.add_column("check", justify="right")
    dash = ["-"] * (nl + 4)
    for b in result.get("baselines", []):
        table.add_row(b["label"], *_metric_cells(result, b), *dash, style="dim")
    for r in result["rows"]:
        ref = r.get("reference")
        ref_s = f"{ref['equal_count']}/{ref['sequences']} equal" if ref else "-"
        vs = r.get("vs_baseline")
        vs_s = "-" if vs is None else (f"{vs:.2f}x" if result["metric"] == "rmse" else f"{vs:+.2f}")
        table.add_row(
            f"{r['theta']:g}" + (" (overflow)" if r.get("overflow") else ""),
            *_metric_cells(result, r),
            *[f"{lay['occupancy_dx']:.2f}/{lay['occupancy_dh']:.2f}" for lay in r["layers"]],
            f"{r['columns_per_step']:.1f}",
            f"{r.get('columns_reduction', float('nan')):.1f}x",
            vs_s,
            ref_s,
        )
    return table


def plot(result: dict[str, Any], path: str | Path) -> Path:
    """The task metric and the relative fetched columns against Θ, with the float
    baselines as horizontal lines, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = result["metric"]
    label = metric_label(name, result.get("units"))
    rows = result["rows"]
    th = [r["theta"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(th, [r[name] for r in rows], "o-", color="tab:red", label="quantized DeltaGRU")
    for b, style in zip(result.get("baselines", []), ("--", ":"), strict=False):
        ax.axhline(b[name], color="tab:red", lw=0.9, ls=style, label=b["name"])
    ax.set_xlabel("threshold Θ (Θx = Θh)")
    ax.set_ylabel(label, color="tab:red")
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
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax2.legend(handles=handles, loc="upper center", fontsize="small")  # above both curves
    ax.set_title(f"accuracy vs weight fetches, layers {result['layer_sizes']}")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def metric_label(name: str, units: str | None = None) -> str:
    """Axis label of a task metric (``"wer"``, ``"error"``, ``"rmse"`` in ``units``)."""
    label = {"wer": "WER (%)", "error": "classification error (%)", "rmse": "RMSE"}[name]
    return f"{label} ({units})" if name == "rmse" and units else label


def save_figure(fig, path: str | Path) -> Path:
    """Lay out ``fig``, write it as a PNG at ``path`` (folders made), close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
