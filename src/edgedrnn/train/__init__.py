"""Training: the dense → DeltaGRU + QAT recipe, task heads, checkpoints and logs.

Quick use::

    from edgedrnn.train import TrainConfig, train, load_model
    model = train(TrainConfig(task="ctc", num_outputs=12), train_set, val_set, "build/run")
    model = load_model("build/run/model.pt")

See ``docs/training.md``.
"""

from __future__ import annotations

from .checkpoint import load_model, save_model
from .ctc import edit_distance, greedy_decode, word_error_rate
from .heads import SequenceModel
from .recipe import TrainConfig, infer, train

__all__ = [
    "SequenceModel",
    "TrainConfig",
    "edit_distance",
    "greedy_decode",
    "infer",
    "load_model",
    "save_model",
    "train",
    "word_error_rate",
]
