"""Task heads: CTC (connected digits), sequence classification and per-step regression.

A :class:`SequenceModel` is a recurrent core (``torch.nn.GRU`` while training dense, then an
:class:`edgedrnn.DeltaGRU`) followed by a float ``torch.nn.Linear`` head that runs on the host,
as in the paper: only the GRU layers go to the accelerator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .ctc import greedy_decode, word_error_rate

TASKS = ("ctc", "classify", "regress")


@dataclass
class Batch:
    """A padded batch: x (B, T, I) float, lengths (B,), and the task's targets."""

    x: torch.Tensor
    lengths: torch.Tensor
    targets: Any

    def to(self, device: torch.device | str) -> Batch:
        tg = self.targets
        if isinstance(tg, torch.Tensor):
            tg = tg.to(device)
        return Batch(self.x.to(device), self.lengths.to(device), tg)


def collate(samples: list[tuple[np.ndarray, Any]], task: str) -> Batch:
    """Pad a list of ``(x (T, I), target)`` samples into a :class:`Batch`.

    Targets: ``ctc`` a sequence of label ids (1..C-1; 0 is the blank), ``classify`` an int,
    ``regress`` a float array (T, O).
    """
    lengths = torch.tensor([len(x) for x, _ in samples], dtype=torch.long)
    t_max, feat = int(lengths.max()), samples[0][0].shape[1]
    x = torch.zeros(len(samples), t_max, feat, dtype=torch.float32)
    for i, (xi, _) in enumerate(samples):
        x[i, : len(xi)] = torch.as_tensor(np.asarray(xi, dtype=np.float32))
    if task == "ctc":
        targets = [list(map(int, y)) for _, y in samples]
    elif task == "classify":
        targets = torch.tensor([int(y) for _, y in samples], dtype=torch.long)
    elif task == "regress":
        out = np.asarray(samples[0][1]).reshape(len(samples[0][0]), -1).shape[1]
        targets = torch.zeros(len(samples), t_max, out, dtype=torch.float32)
        for i, (xi, yi) in enumerate(samples):
            targets[i, : len(xi)] = torch.as_tensor(
                np.asarray(yi, dtype=np.float32).reshape(len(xi), out)
            )
    else:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return Batch(x, lengths, targets)


def valid_mask(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    """(B, T) boolean mask of the steps inside each sequence."""
    return torch.arange(t_max, device=lengths.device)[None, :] < lengths[:, None]


class SequenceModel(nn.Module):
    """A GRU core (``nn.GRU`` or ``DeltaGRU``, batch-first) and a float linear head.

    Args:
        rnn: the recurrent core.
        head: ``nn.Linear(H_last, num_outputs)``.
        task: ``"ctc"``, ``"classify"`` or ``"regress"``.
        metadata: JSON-able description (features, normalisation, vocabulary, command...).
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
            tg = batch.targets
            flat = torch.tensor([k for t in tg for k in t], dtype=torch.long)
            tlen = torch.tensor([len(t) for t in tg], dtype=torch.long)
            return F.ctc_loss(
                logp.float().cpu() if logp.device.type == "mps" else logp,
                flat.to(logp.device),
                batch.lengths,
                tlen.to(logp.device),
                blank=0,
                zero_infinity=True,
            )
        if self.task == "classify":
            return F.cross_entropy(pooled(scores, mask), batch.targets)
        err = (scores - batch.targets) ** 2
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
