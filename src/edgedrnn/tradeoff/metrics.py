"""Task metrics in the units a user reads: WER, accuracy, RMSE and MAE per target.

A regression model trained on normalised targets predicts them in its training units until
:func:`~edgedrnn.train.datasets.fold_target_normalization` folds the statistics into the
head (``edgedrnn train`` does, before saving); :func:`task_metrics` undoes the
normalisation still stored unfolded in a model's metadata, on predictions and targets alike,
so RMSE and MAE are always in the targets' own units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.normalization import Normalization
from ..train.heads import score


def target_names(metadata: dict[str, Any], count: int) -> list[str]:
    """The regression targets' names: a CSV table's columns, else ``y0``, ``y1``..."""
    names = metadata.get("data", {}).get("csv", {}).get("targets")
    if isinstance(names, list) and len(names) == count:
        return [str(n) for n in names]
    return [f"y{k}" for k in range(count)]


def _denormalizer(metadata: dict[str, Any]) -> Normalization | None:
    """The target statistics to undo (stored and not yet folded into the head), if any."""
    stored = metadata.get("target_normalization")
    if not stored or stored.get("folded", False):
        return None
    return Normalization.from_dict(stored)


def task_metrics(
    task: str,
    predictions: Sequence[Any],
    targets: Sequence[Any],
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The task's metrics of ``predictions`` (:meth:`SequenceModel.predict`'s) on ``targets``.

    Parameters
    ----------
    task : str
        ``"ctc"``, ``"classify"`` or ``"regress"``.
    predictions, targets : sequence
        One entry per sequence: label lists (ctc), class ids (classify), (T, O) arrays
        (regress).
    metadata : dict, optional
        The model's metadata: target names and any unfolded target normalisation.

    Returns
    -------
    dict
        ``wer`` (%) for ctc; ``accuracy`` and ``error`` (%) for classify; for regress
        ``rmse`` and ``mae`` over all targets and steps, and ``per_target``: one
        ``{"name", "rmse", "mae"}`` per target, all in the targets' own units.
    """
    if task != "regress":
        return score(task, list(predictions), list(targets))
    metadata = metadata or {}
    denorm = _denormalizer(metadata)
    preds = [np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in predictions]
    refs = [
        np.asarray(t, dtype=np.float64).reshape(p.shape)
        for p, t in zip(preds, targets, strict=True)
    ]
    if denorm is not None:
        scale = denorm.std.astype(np.float64)
        shift = denorm.mean.astype(np.float64)
        preds = [p * scale + shift for p in preds]
        refs = [t * scale + shift for t in refs]
    err = np.concatenate([p - t for p, t in zip(preds, refs, strict=True)], axis=0)  # (N, O)
    names = target_names(metadata, err.shape[1])
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "per_target": [
            {
                "name": name,
                "rmse": float(np.sqrt(np.mean(err[:, k] ** 2))),
                "mae": float(np.mean(np.abs(err[:, k]))),
            }
            for k, name in enumerate(names)
        ],
    }


def split_metrics(model: Any, samples: Sequence[Any], dense: Any = None) -> dict[str, Any]:
    """A trained model's metrics on one split (``edgedrnn train``'s test report).

    Parameters
    ----------
    model : SequenceModel
        The final model (a DeltaGRU at its training thresholds, or a dense GRU).
    samples : sequence of Sample
        The split, prepared as the training data.
    dense : SequenceModel, optional
        The dense float GRU of the dense phase, reported beside it.

    Returns
    -------
    dict
        ``sequences``, ``frames``; ``model``: the task metrics (:func:`task_metrics`) and,
        for a DeltaGRU, its thresholds, ``columns_per_step`` and ``occupancy`` (the fraction
        of weight columns fetched); ``dense``: the dense GRU's metrics, when given.
    """
    from ..train.recipe import infer

    # Targets prepared for ``model``'s head; each head may or may not have the target
    # statistics folded in (a resumed run's dense.pt has): both are scored in the units.
    targets = in_units([y for _, y in samples], model.metadata)
    names = {"data": model.metadata.get("data", {})}
    res = infer(model, samples)
    preds = in_units(res["predictions"], model.metadata)
    row: dict[str, Any] = task_metrics(model.task, preds, targets, names)
    if res["nonzero"] is not None:
        nz = np.concatenate(res["nonzero"], axis=0).astype(np.float64)  # (sum T, L, 2)
        dense_cols = sum(i + h for i, h in model.rnn.layer_sizes())
        row.update(
            theta_x=list(model.rnn.theta_x),
            theta_h=list(model.rnn.theta_h),
            quantized=bool(model.rnn.quantized),
            columns_per_step=float(nz.sum(axis=(1, 2)).mean()),
            occupancy=float(nz.sum(axis=(1, 2)).mean() / dense_cols),
            overflow=bool(res["overflow"]),
        )
    out: dict[str, Any] = {
        "sequences": len(samples),
        "frames": int(sum(len(x) for x, _ in samples)),
        "model": row,
    }
    if dense is not None:
        pred = in_units(infer(dense, samples)["predictions"], dense.metadata)
        out["dense"] = task_metrics(dense.task, pred, targets, names)
    return out


def in_units(values: list[Any], metadata: dict[str, Any]) -> list[Any]:
    """Regression values with ``metadata``'s unfolded target statistics undone (others as
    they are)."""
    denorm = _denormalizer(metadata)
    if denorm is None:
        return list(values)
    scale, shift = denorm.std.astype(np.float64), denorm.mean.astype(np.float64)
    out = []
    for v in values:
        arr = np.asarray(v, dtype=np.float64)
        out.append((arr.reshape(len(arr), -1) * scale + shift).reshape(arr.shape))
    return out
