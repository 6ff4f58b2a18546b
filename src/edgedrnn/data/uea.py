"""Real recordings that ship with ``aeon`` (the ``uea`` extra): read offline, no download.

``pip install 'edgedrnn[uea]'`` installs `aeon <https://www.aeon-toolkit.org>`_, whose wheel
bundles a few data sets of the UEA/UCR archives and one Daphnet recording. Three tasks are
built from them:

================= ========================================================================
name              task
================= ========================================================================
japanese-vowels   UEA ``JapaneseVowels``: 9 male speakers saying /ae/; 12 LPC cepstrum
                  coefficients per frame, 7-29 frames per utterance (lengths kept as they
                  are); classify the speaker. The archive's split: 270 train, 370 test.
basic-motions     UEA ``BasicMotions``: a wrist watch's 3-axis accelerometer and gyroscope
                  (6 channels, 100 frames at 10 Hz); classify standing, walking, running,
                  badminton. The archive's split: 40 train, 40 test.
daphnet-gait      Daphnet freezing-of-gait, recording S06R02E0 (64 Hz, 7040 frames, 110 s):
                  a streaming per-frame regression, a "virtual thigh sensor": the thigh's
                  3-axis acceleration, low-pass filtered at 2 Hz (causal), from the raw
                  3-axis accelerations of the ankle (shank) and the trunk (6 inputs,
                  3 targets). Time-ordered split 70/15/15 %, windows of 256 frames (4 s),
                  training windows every 64 frames (:mod:`~edgedrnn.data.csv_table`).
================= ========================================================================

The classification sets keep the archive's own train/test split; a validation split is
carved from the training series only, stratified by class and seeded
(:func:`load`). Labels are numbered in sorted order (:attr:`UeaData.classes`).

The Daphnet recording aeon ships has no freezing episode (its ``is_anomaly`` column is 0 on
every row), so freeze detection cannot be trained or scored on it; the per-frame task
above uses the same real sensors instead. Its targets are the thigh's slow acceleration
(below 2 Hz: the direction of gravity in the sensor's frame, i.e. the thigh's inclination,
and the stride's fundamental), what a knee or hip prosthesis controller estimates. The
trunk's acceleration from the legs' (tried first) is barely learnable from this one
recording: a GRU's test RMSE stays at 0.8 of predicting the training mean (0.64 with the
targets low-passed), against 0.43 for this task (docs/tradeoff.md, "Daphnet").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..support.extras import require
from .csv_table import CsvData, CsvSpec
from .sequences import Sample

__all__ = [
    "CLASSIFICATION",
    "DAPHNET_FILE",
    "DAPHNET_RATE",
    "DAPHNET_SPEC",
    "NAMES",
    "UeaData",
    "data_folder",
    "gait",
    "load",
    "read_split",
]

#: Our name -> (aeon's name, features per frame, number of classes).
CLASSIFICATION: dict[str, tuple[str, int, int]] = {
    "japanese-vowels": ("JapaneseVowels", 12, 9),
    "basic-motions": ("BasicMotions", 6, 4),
}
#: The Daphnet recording, inside aeon's data folder.
DAPHNET_FILE = "Daphnet_S06R02E0/S06R02E0.csv"
_AXES = ("horiz_fwd", "vert", "horiz_lateral")
#: Frames per second of the Daphnet recordings.
DAPHNET_RATE = 64
#: The per-frame task on it: ankle and trunk in, the thigh ("leg") below 2 Hz out.
DAPHNET_SPEC = CsvSpec(
    inputs=tuple(f"{place}_{axis}" for place in ("ankle", "trunk") for axis in _AXES),
    targets=tuple(f"leg_{axis}" for axis in _AXES),
    task="regress",
    split=(0.7, 0.15, 0.15),
    window=256,
    stride=64,
    target_lowpass=2 / DAPHNET_RATE,
)
#: Every name this module loads, with its task.
NAMES: dict[str, str] = {
    **dict.fromkeys(CLASSIFICATION, "classify"),
    "daphnet-gait": "regress",
}


def data_folder() -> Path:
    """aeon's bundled data folder.

    Raises
    ------
    edgedrnn.support.extras.MissingExtraError
        aeon is not installed (the message says ``pip install 'edgedrnn[uea]'``).
    """
    datasets = require("aeon.datasets", "the UEA data sets")
    return Path(datasets.__file__).parent / "data"


def read_split(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """One split (``"train"`` or ``"test"``) of a classification set as aeon ships it.

    Returns
    -------
    features : list of float32 ``(T, I)`` arrays
        One per series (frames first; lengths as in the file).
    labels : ndarray of str
        The class label of each series.
    """
    if name not in CLASSIFICATION:
        raise ValueError(
            f"unknown UEA data set {name!r}; choose one of {', '.join(CLASSIFICATION)}"
        )
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    loaders = require("aeon.datasets", "the UEA data sets")
    aeon_name = CLASSIFICATION[name][0]
    path = data_folder() / aeon_name / f"{aeon_name}_{split.upper()}.ts"
    X, y = loaders.load_from_ts_file(str(path))
    features = [np.ascontiguousarray(np.asarray(x, dtype=np.float32).T) for x in X]
    return features, np.asarray(y).astype(str)


@dataclass
class UeaData:
    """A classification set's splits (raw features) with its class labels.

    ``train``, ``val`` and ``test`` are :data:`~edgedrnn.data.Sample` lists ``(x (T, I)
    float32, class id)``; ``classes[k]`` is the archive's label of class id ``k``.
    """

    name: str
    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]

    @property
    def input_size(self) -> int:
        """Features per frame."""
        return int(self.train[0][0].shape[1])


def _stratified(labels: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, val): ``fraction`` of each class (at least one) to validation."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    val: list[int] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(1, round(fraction * len(idx))) if len(idx) > 1 else 0
        val += rng.permutation(idx)[:k].tolist()
    val_set = set(val)
    return [i for i in range(len(labels)) if i not in val_set], sorted(val)


def load(name: str, val_fraction: float = 0.1, seed: int = 0) -> UeaData:
    """A classification set: the archive's train/test split, validation carved from train.

    Parameters
    ----------
    name
        ``"japanese-vowels"`` or ``"basic-motions"``.
    val_fraction
        Fraction of each class's training series held out for validation (at least one).
    seed
        Seed of that choice.
    """
    x_train, y_train = read_split(name, "train")
    x_test, y_test = read_split(name, "test")
    classes = sorted(set(y_train.tolist()) | set(y_test.tolist()), key=_label_key)
    ids = {c: i for i, c in enumerate(classes)}
    train_ids = [ids[c] for c in y_train]
    keep, val = _stratified(train_ids, val_fraction, seed)
    return UeaData(
        name,
        classes,
        [(x_train[i], train_ids[i]) for i in keep],
        [(x_train[i], train_ids[i]) for i in val],
        [(x, ids[c]) for x, c in zip(x_test, y_test, strict=True)],
    )


def _label_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def gait(**options: Any) -> CsvData:
    """The Daphnet per-frame task (:data:`DAPHNET_SPEC`), read with :func:`csv_table.load`.

    ``options`` go to :func:`edgedrnn.data.csv_table.load` (stored statistics, ...).
    """
    from .csv_table import load as load_csv

    return load_csv(data_folder() / DAPHNET_FILE, DAPHNET_SPEC, **options)
