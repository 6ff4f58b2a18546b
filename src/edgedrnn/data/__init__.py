"""Data sets for edgedrnn.

* :mod:`edgedrnn.data.spoken_digits`: connected spoken digits synthesized with espeak-ng
  (``spoken_digits.load("train")``), 40 log-mel features per 10 ms frame, CTC labels.
* :mod:`edgedrnn.data.sequences`: your own (T, I) arrays with frame, CTC, sequence or
  regression targets (:class:`SequenceDataset`, :func:`collate`, :func:`from_arrays`,
  :func:`from_npz`).
* :mod:`edgedrnn.data.normalization`: per-feature normalisation with training statistics
  (:class:`Normalization`), stored with a trained model.

See ``docs/data.md``.
"""

from __future__ import annotations

from . import spoken_digits
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
    "from_arrays",
    "from_npz",
    "spoken_digits",
]
