"""A tiny trained model for the tests of evaluation and its CLI (seconds on one thread)."""

from __future__ import annotations

from pathlib import Path

import torch

from edgedrnn.train import TrainConfig, train
from edgedrnn.train.heads import SequenceModel
from edgedrnn.train.synthetic import make_task, num_outputs


def tiny_config(task: str, **overrides) -> TrainConfig:
    """A 2L-16H configuration that trains in seconds on one thread (``overrides`` replace
    any field)."""
    base = dict(
        task=task,
        num_outputs=num_outputs(task),
        hidden_size=16,
        num_layers=2,
        dense_epochs=3,
        delta_epochs=1,
        batch_size=16,
        delta_batch_size=32,
        lr=1e-2,
        theta_x=0.05,
        theta_h=0.05,
        threads=1,
        device="cpu",
    )
    base.update(overrides)
    return TrainConfig(**base)


def tiny_regression_model(out: Path) -> SequenceModel:
    """A 2L-16H DeltaGRU (Θ = 0.05, QAT) trained on the synthetic regression task; writes
    ``out/model.pt`` with metadata that names its data (``synthetic-regress``, seed 0)."""
    torch.set_num_threads(1)
    cfg = tiny_config("regress")
    meta = {"data": {"source": "synthetic-regress", "seed": 0}}
    tr, va = make_task("regress", 64, seed=0), make_task("regress", 16, seed=1)
    model = train(cfg, tr, va, out, meta, progress=False)
    assert model is not None
    return model
