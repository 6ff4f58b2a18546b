"""The spoken-digits corpus (:mod:`edgedrnn.data.spoken_digits`) as training data."""

from __future__ import annotations

import dataclasses
from typing import Any

from .datasets import TaskData


def spoken_digits_data(
    n_train: int = 2000,
    n_val: int = 300,
    n_test: int = 300,
    seed: int = 0,
    progress: bool = True,
    **_: Any,
) -> TaskData:
    """Connected spoken digits (CTC, 12 outputs), normalised with training statistics.

    The metadata records the feature configuration, the normalisation (``mean``/``std`` of
    the raw log-mel features), the vocabulary and the sizes, so that new utterances can be
    prepared exactly as the training data (see :func:`featurize`).
    """
    from ..data import spoken_digits as sd

    splits = sd.load_splits(n_train, n_val, n_test, seed=seed, progress=progress)
    tr = splits["train"]
    meta = {
        "data": {
            "source": "spoken-digits",
            "seed": seed,
            "n_train": n_train,
            "n_val": n_val,
            "n_test": n_test,
            "generator_version": sd.GENERATOR_VERSION,
        },
        "features": dataclasses.asdict(tr.config),
        "normalization": {"mean": tr.mean.tolist(), "std": tr.std.tolist()},
        "vocabulary": ["<blank>", *sd.VOCAB],
    }
    return TaskData(
        "ctc",
        sd.NUM_CLASSES,
        list(tr),
        list(splits["val"]),
        list(splits["test"]),
        meta,
    )


def featurize(audio, metadata: dict[str, Any]):
    """Normalised features of a 16 kHz waveform as the model with ``metadata`` was trained on."""
    import numpy as np

    from ..data import spoken_digits as sd

    fields = {f.name for f in dataclasses.fields(sd.SpokenDigitsConfig)}
    cfg = sd.SpokenDigitsConfig(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in metadata["features"].items()
            if k in fields
        }
    )
    raw = sd.logmel(audio, cfg)
    norm = metadata["normalization"]
    mean = np.asarray(norm["mean"], dtype=np.float32)
    std = np.asarray(norm["std"], dtype=np.float32)
    return ((raw - mean) / std).astype(np.float32)
