"""Per-feature normalisation with training statistics: the one implementation.

Features are shifted and scaled per feature, ``(x - mean) / std``, with the mean and standard
deviation of the *training* frames; validation, test and new inputs (the demo's utterances)
use the same statistics. The statistics travel with a trained model in its metadata
(``{"normalization": {"mean": [...], "std": [...]}}``, see :meth:`Normalization.to_dict`),
so evaluation and the demo prepare new inputs exactly as training did.

The arithmetic is float32 throughout (statistics rounded to float32, then ``(x - mean) /
std`` in float32), so a stored model and a cached data set give the same features bit for
bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .sequences import Sample

__all__ = ["STD_FLOOR", "Normalization"]

#: Smallest standard deviation used: a (nearly) constant feature is scaled by at most 1/STD_FLOOR.
STD_FLOOR = 1e-3


@dataclass(frozen=True, eq=False)
class Normalization:
    """Per-feature statistics and their application.

    Parameters
    ----------
    mean, std:
        float32 ``(I,)`` arrays (anything array-like is converted).
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", np.asarray(self.mean, dtype=np.float32))
        object.__setattr__(self, "std", np.asarray(self.std, dtype=np.float32))

    @classmethod
    def fit(cls, features: Iterable[np.ndarray], floor: float = STD_FLOOR) -> Normalization:
        """The mean and standard deviation over all frames of ``features`` (float64 sums).

        Parameters
        ----------
        features:
            ``(T_n, I)`` arrays.
        floor:
            Lower bound of the standard deviation.
        """
        frames = np.concatenate([np.asarray(f, dtype=np.float64) for f in features], axis=0)
        return cls(frames.mean(axis=0), np.maximum(frames.std(axis=0), floor))

    @classmethod
    def from_dict(cls, stored: Mapping[str, Sequence[float]] | None) -> Normalization | None:
        """The statistics stored by :meth:`to_dict` (``None``/empty: no normalisation)."""
        if not stored:
            return None
        return cls(stored["mean"], stored["std"])

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-able form (the ``"normalization"`` entry of a model's metadata)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Normalised float32 copy of one ``(T, I)`` array."""
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def samples(self, samples: Iterable[Sample]) -> list[Sample]:
        """``(x, target)`` pairs with every ``x`` normalised."""
        return [(self(x), y) for x, y in samples]
