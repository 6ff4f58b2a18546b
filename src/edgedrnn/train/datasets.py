"""Data for training: the spoken-digits corpus, users' ``.npz`` files, synthetic tasks.

Everything is reduced to lists of ``(x (T, I) float32, target)`` pairs (an
:class:`edgedrnn.data.SequenceDataset` is one) plus a description: the task, the head size,
the vocabulary and the feature normalisation, which is stored in the model's metadata so that
evaluation and the demo prepare new inputs exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import synthetic

#: SequenceDataset ``kind`` → training task.
KIND_TO_TASK = {"ctc": "ctc", "sequence": "classify", "regression": "regress"}

Sample = tuple[np.ndarray, Any]


@dataclass
class TaskData:
    """Train/validation/test splits with what a model needs to know about them."""

    task: str
    num_outputs: int
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    metadata: dict[str, Any] = field(default_factory=dict)


def normalization(samples: list[Sample]) -> dict[str, list[float]]:
    """Per-feature mean and standard deviation over all frames of ``samples``."""
    frames = np.concatenate([np.asarray(x, dtype=np.float64) for x, _ in samples])
    std = frames.std(axis=0)
    return {"mean": frames.mean(axis=0).tolist(), "std": np.maximum(std, 1e-3).tolist()}


def normalize(x: np.ndarray, norm: dict[str, list[float]] | None) -> np.ndarray:
    """Apply stored normalisation (``None``: unchanged) to one (T, I) array."""
    if not norm:
        return np.asarray(x, dtype=np.float32)
    mean = np.asarray(norm["mean"], dtype=np.float64)
    std = np.asarray(norm["std"], dtype=np.float64)
    return ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)


def _apply(samples: list[Sample], norm: dict | None) -> list[Sample]:
    return [(normalize(x, norm), y) for x, y in samples]


def _split(samples: list[Sample], frac: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    idx = np.random.default_rng(seed).permutation(len(samples))
    n_val = max(1, round(frac * len(samples)))
    return [samples[i] for i in idx[n_val:]], [samples[i] for i in idx[:n_val]]


def _outputs(task: str, samples: list[Sample]) -> int:
    if task == "ctc":
        return int(max(max(y) if len(y) else 0 for _, y in samples)) + 1
    if task == "classify":
        return int(max(int(y) for _, y in samples)) + 1
    return int(np.asarray(samples[0][1]).reshape(len(samples[0][0]), -1).shape[1])


def from_npz_files(train: str, val: str | None, test: str | None, seed: int = 0) -> TaskData:
    """Users' data: ``.npz`` files in :func:`edgedrnn.data.from_npz`'s layouts (kind stored)."""
    from ..data.sequences import from_npz

    tr = from_npz(train)
    task = KIND_TO_TASK.get(tr.kind)
    if task is None:
        raise ValueError(
            f"{train}: kind {tr.kind!r} is not trainable here; use one of {', '.join(KIND_TO_TASK)}"
        )
    train_s = list(tr)
    val_s = list(from_npz(val, tr.kind)) if val else None
    if val_s is None:
        train_s, val_s = _split(train_s, 0.1, seed)
    test_s = list(from_npz(test, tr.kind)) if test else list(val_s)
    norm = normalization(train_s)
    meta = {"data": {"source": "npz", "train": str(train)}, "normalization": norm}
    return TaskData(
        task,
        _outputs(task, train_s),
        _apply(train_s, norm),
        _apply(val_s, norm),
        _apply(test_s, norm),
        meta,
    )


def synthetic_data(task: str, n: int = 256, seed: int = 0) -> TaskData:
    """One of the :mod:`~edgedrnn.train.synthetic` tasks (no normalisation needed)."""
    meta: dict[str, Any] = {"data": {"source": f"synthetic-{task}", "n": n, "seed": seed}}
    if task == "ctc":
        meta["vocabulary"] = ["<blank>", "a", "b", "c", "d"]
    return TaskData(
        task,
        synthetic.num_outputs(task),
        synthetic.make_task(task, n, seed=seed),
        synthetic.make_task(task, max(n // 4, 8), seed=seed + 1),
        synthetic.make_task(task, max(n // 4, 8), seed=seed + 2),
        meta,
    )


def load_task_data(source: str, **options: Any) -> TaskData:
    """``spoken-digits``, ``synthetic-{ctc,classify,regress}`` or a path to a ``.npz`` file."""
    if source == "spoken-digits":
        from .digits import spoken_digits_data

        return spoken_digits_data(**options)
    if source.startswith("synthetic-"):
        return synthetic_data(source.split("-", 1)[1], seed=options.get("seed", 0))
    if Path(source).suffix == ".npz":
        return from_npz_files(
            source, options.get("val"), options.get("test"), options.get("seed", 0)
        )
    raise ValueError(
        f"unknown data source {source!r}: use spoken-digits, synthetic-ctc, "
        "synthetic-classify, synthetic-regress or a .npz file"
    )
