"""Small synthetic sequence tasks (seconds to train): smoke tests and examples.

* ``ctc``: a few "words", each a noisy prototype vector held for 4-8 steps, separated by
  silence; the target is the word sequence.
* ``classify``: one word in silence; the target is its id.
* ``regress``: per-step target = an exponential moving average of two input features.
"""

from __future__ import annotations

import numpy as np

from ..data.sequences import Sample


def make_task(
    task: str, n: int, input_size: int = 8, vocab: int = 4, seed: int = 0
) -> list[Sample]:
    """``n`` samples of the synthetic ``task`` (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(1234).normal(0.0, 1.0, (vocab + 1, input_size))
    out: list[Sample] = []
    for _ in range(n):
        if task in ("ctc", "classify"):
            words = [int(rng.integers(1, vocab + 1)) for _ in range(rng.integers(2, 5))]
            if task == "classify":
                words = words[:1]
            frames = [np.zeros((int(rng.integers(2, 5)), input_size))]
            for w in words:
                frames.append(np.repeat(protos[w][None], int(rng.integers(4, 9)), axis=0))
                frames.append(np.zeros((int(rng.integers(2, 5)), input_size)))
            x = np.concatenate(frames)
            x = x + rng.normal(0.0, 0.1, x.shape)
            y: object = words if task == "ctc" else words[0] - 1
        elif task == "regress":
            t = int(rng.integers(20, 40))
            x = rng.normal(0.0, 1.0, (t, input_size))
            y_arr = np.zeros((t, 2))
            acc = np.zeros(2)
            for i in range(t):
                acc = 0.8 * acc + 0.2 * x[i, :2]
                y_arr[i] = acc
            y = y_arr
        else:
            raise ValueError(f"unknown synthetic task {task!r}")
        out.append((x.astype(np.float32), y))
    return out


def num_outputs(task: str, vocab: int = 4) -> int:
    """Head size for the synthetic ``task``."""
    return {"ctc": vocab + 1, "classify": vocab, "regress": 2}[task]
