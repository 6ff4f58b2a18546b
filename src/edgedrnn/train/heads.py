"""Task heads: CTC (connected digits), sequence classification and per-step regression.

A :class:`SequenceModel` is a recurrent core (``torch.nn.GRU`` while training dense, then an
:class:`edgedrnn.DeltaGRU`) followed by a float ``torch.nn.Linear`` head that runs on the host,
as in the paper: only the GRU layers go to the accelerator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.sequences import Batch, Sample
from ..data.sequences import collate as collate_kind
from .ctc import greedy_decode, word_error_rate

TASKS = ("ctc", "classify", "regress")
#: Training task -> the :class:`~edgedrnn.data.SequenceDataset` ``kind`` of its targets.
KIND_OF_TASK = {"ctc": "ctc", "classify": "sequence", "regress": "regression"}
#: Data set ``kind`` -> the training task that learns it.
TASK_OF_KIND = {kind: task for task, kind in KIND_OF_TASK.items()}


def collate(samples: Sequence[Sample], task: str) -> Batch:
    """Pad ``(x (T, I), target)`` samples of ``task`` into a :class:`~edgedrnn.data.Batch`.

    Targets: ``ctc`` a sequence of label ids (1..C-1; 0 is the blank), ``classify`` an int,
    ``regress`` a float array (T, O); batched by :func:`edgedrnn.data.collate` with the
    task's kind.
    """
    if task not in KIND_OF_TASK:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return collate_kind(samples, kind=KIND_OF_TASK[task])  # type: ignore[arg-type]


def valid_mask(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    """(B, T) boolean mask of the steps inside each sequence."""
    return torch.arange(t_max, device=lengths.device)[None, :] < lengths[:, None]


class SequenceModel(nn.Module):
    """A GRU core (``nn.GRU`` or ``DeltaGRU``, batch-first) and a float linear head.

    Parameters
    ----------
    rnn
        The recurrent core.
    head
        ``nn.Linear(H_last, num_outputs)``.
    task
        ``"ctc"``, ``"classify"`` or ``"regress"``.
    metadata
        JSON-able description (features, normalisation, vocabulary, command...).
    """

    def __init__(self, rnn: nn.Module, head: nn.Linear, task: str, metadata: dict | None = None):
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        self.rnn = rnn
        self.head = head
        self.task = task
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def is_delta(self) -> bool:
        from ..model import DeltaGRU

        return isinstance(self.rnn, DeltaGRU)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The recurrent core's output (B, T, H_last)."""
        y, _ = self.rnn(x)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-step head outputs (B, T, C)."""
        return self.head(self.features(x))

    # --------------------------------------------------------------- losses
    def loss(self, scores: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The task's training loss for per-step ``scores`` (B, T, C)."""
        mask = valid_mask(batch.lengths, scores.shape[1])
        if self.task == "ctc":
            logp = F.log_softmax(scores, dim=-1).transpose(0, 1)  # (T, B, C)
            assert batch.y_lengths is not None
            tlen = batch.y_lengths
            flat = torch.cat([batch.y[b, : int(n)] for b, n in enumerate(tlen)])
            return F.ctc_loss(
                logp.float().cpu() if logp.device.type == "mps" else logp,
                flat.to(logp.device),
                batch.lengths,
                tlen.to(logp.device),
                blank=0,
                zero_infinity=True,
            )
        if self.task == "classify":
            return F.cross_entropy(pooled(scores, mask), batch.y)
        err = (scores - batch.y) ** 2
        return (err * mask[..., None]).sum() / (mask.sum() * scores.shape[-1]).clamp(min=1)

    def predict(self, scores: torch.Tensor, lengths: torch.Tensor) -> list[Any]:
        """Host-side decoding: label sequences (ctc), class ids (classify), arrays (regress)."""
        if self.task == "ctc":
            return [greedy_decode(s, int(n)) for s, n in zip(scores, lengths, strict=True)]
        if self.task == "classify":
            mask = valid_mask(lengths, scores.shape[1])
            return pooled(scores, mask).argmax(-1).tolist()
        return [s[: int(n)].detach().cpu().numpy() for s, n in zip(scores, lengths, strict=True)]


def pooled(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of per-step scores over the valid steps: (B, C)."""
    m = mask[..., None].to(scores.dtype)
    return (scores * m).sum(1) / m.sum(1).clamp(min=1)


def metric_name(task: str) -> str:
    """Name of the task's headline metric (lower is better for all three)."""
    return {"ctc": "wer", "classify": "error", "regress": "rmse"}[task]


def score(task: str, predictions: list[Any], targets: list[Any]) -> dict[str, float]:
    """Task metrics: ``wer`` (%), ``error``/``accuracy`` (%), or ``rmse``."""
    if task == "ctc":
        return {"wer": word_error_rate(targets, predictions)}
    if task == "classify":
        acc = 100.0 * np.mean([int(p) == int(t) for p, t in zip(predictions, targets, strict=True)])
        return {"accuracy": float(acc), "error": float(100.0 - acc)}
    sq = [
        np.mean((np.asarray(p) - np.asarray(t).reshape(np.shape(p))) ** 2) * len(p)
        for p, t in zip(predictions, targets, strict=True)
    ]
    frames = sum(len(p) for p in predictions)
    return {"rmse": float(np.sqrt(sum(sq) / max(frames, 1)))}
