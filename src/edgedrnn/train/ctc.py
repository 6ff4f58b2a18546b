"""CTC helpers: greedy decoding, edit distance and word error rate (WER)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def greedy_decode(logits: torch.Tensor | np.ndarray, length: int | None = None, blank: int = 0):
    """Best-path CTC decoding of one sequence of per-step scores (T, C).

    Takes the arg-max class per step, merges repeats and drops blanks. Returns a list of
    label indices (blank excluded).
    """
    if isinstance(logits, torch.Tensor):
        best = logits.detach().argmax(dim=-1).cpu().numpy()
    else:
        best = np.asarray(logits).argmax(axis=-1)
    if length is not None:
        best = best[:length]
    out: list[int] = []
    prev = -1
    for k in best.tolist():
        if k != prev and k != blank:
            out.append(int(k))
        prev = k
    return out


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    n, m = len(ref), len(hyp)
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        cur = [i] + [0] * m
        for j in range(1, m + 1):
            cost = 0 if ref[i - 1] == hyp[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        prev = cur
    return prev[m]


def word_error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """Corpus WER in percent: total edit distance over total reference words."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    words = sum(len(r) for r in refs)
    errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True))
    return 100.0 * errors / max(words, 1)
