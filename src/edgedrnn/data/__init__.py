"""Data sets for edgedrnn.

* :mod:`edgedrnn.data.spoken_digits`: connected spoken digits synthesized with espeak-ng
  (``spoken_digits.load("train")``), 40 log-mel features per 10 ms frame, CTC labels.
* :mod:`edgedrnn.data.uea`: real recordings that ship with aeon (the ``uea`` extra):
  ``japanese-vowels`` and ``basic-motions`` (UEA classification, the archive's split) and
  ``daphnet-gait`` (a per-frame regression on a Daphnet recording).
* :mod:`edgedrnn.data.csv_table`: your own recording as a CSV table: named input and target
  columns, a time-ordered split, windows, normalisation from the training rows.
* :mod:`edgedrnn.data.sequences`: your own (T, I) arrays with frame, CTC, sequence or
  regression targets (:class:`SequenceDataset`, :func:`collate`, :func:`from_arrays`,
  :func:`from_npz`).
* :mod:`edgedrnn.data.normalization`: per-feature normalisation with training statistics
  (:class:`Normalization`), stored with a trained model.

See ``docs/data.md``.
"""

from __future__ import annotations

from . import csv_table, spoken_digits, uea
from .normalization import Normalization
from .sequences import (
    FRAME_PAD,
    KINDS,
    Batch,
    DataError,
    Sample,
    SequenceDataset,
    collate,
    from_arrays,
    from_npz,
)

__all__ = [
    "FRAME_PAD",
    "KINDS",
    "Batch",
    "DataError",
    "Normalization",
    "Sample",
    "SequenceDataset",
    "collate",
    "csv_table",
    "from_arrays",
    "from_npz",
    "spoken_digits",
    "uea",
]
