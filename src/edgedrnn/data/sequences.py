"""Your own sequence data: (T, I) feature arrays with targets, validated and batched.

A :class:`SequenceDataset` holds a list of float feature arrays, one ``(T_n, I)`` array per
sequence (every sequence has the same ``I``, lengths ``T_n`` may differ), and one target per
sequence. ``kind`` says what the targets are:

============== ============================================ ===================================
kind           one target per sequence                      batched by :func:`collate` as
============== ============================================ ===================================
``"frame"``    int array ``(T_n,)``: a class per frame       ``y`` int64 ``(B, T_max)``, padded
                                                            with ``-100`` (``ignore_index`` of
                                                            ``torch.nn.CrossEntropyLoss``)
``"ctc"``      int array ``(S_n,)`` of labels ``>= 1``       ``y`` int64 ``(B, S_max)`` padded
               (0 is the CTC blank), ``S_n <= T_n``          with 0, ``y_lengths`` ``(B,)``
``"sequence"`` an int: one class for the whole sequence      ``y`` int64 ``(B,)``
``"regression"`` float array ``(T_n,)`` or ``(T_n, O)``:     ``y`` float32 ``(B, T_max, O)``
               a value per frame                            padded with 0 (mask with lengths)
============== ============================================ ===================================

Batches are batch-first (``x`` is ``(B, T_max, I)``), as :class:`edgedrnn.DeltaGRU` with
``batch_first=True`` takes them, and carry ``lengths`` so padded frames can be masked::

    ds = SequenceDataset(features, labels, kind="ctc")
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, collate_fn=ds.collate)
    for batch in loader:
        y, _ = model(batch.x)   # then use batch.lengths / batch.y / batch.y_lengths

Every problem is reported when the data set is built, with the index of the offending
sequence: ragged feature widths, NaN or infinite values, wrong dimensionality, targets whose
length does not match the sequence, CTC labels that are negative, blank or too long.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

Kind = Literal["frame", "ctc", "sequence", "regression"]
KINDS: tuple[str, ...] = ("frame", "ctc", "sequence", "regression")

#: One sequence and its target: ``(features (T, I) float32, target)`` (``ds[i]`` of a data set).
Sample = tuple[np.ndarray, Any]

#: Padding value of frame targets: ``torch.nn.CrossEntropyLoss``'s default ``ignore_index``.
FRAME_PAD = -100


class DataError(ValueError):
    """A data set's features or targets are malformed (the message says which and how)."""


@dataclass
class Batch:
    """A padded batch made by :func:`collate` (all torch tensors, batch first).

    Attributes
    ----------
    x
        float32 ``(B, T_max, I)`` features, zero-padded after each sequence's end.
    lengths
        int64 ``(B,)`` number of valid frames of each sequence.
    y
        Targets, shaped by the data set's ``kind`` (see the module docstring).
    y_lengths
        int64 ``(B,)`` label-sequence lengths for ``"ctc"``, else ``None``.
    """

    x: torch.Tensor
    lengths: torch.Tensor
    y: torch.Tensor
    y_lengths: torch.Tensor | None = None

    def to(self, device: Any) -> Batch:
        """Return the batch with every tensor moved to ``device``."""
        return Batch(
            self.x.to(device),
            self.lengths.to(device),
            self.y.to(device),
            None if self.y_lengths is None else self.y_lengths.to(device),
        )


def _check_features(features: Sequence[Any]) -> list[np.ndarray]:
    if isinstance(features, np.ndarray) and features.ndim == 3:
        features = list(features)
    if not isinstance(features, Sequence) or isinstance(features, (str, bytes)):
        raise DataError(f"features must be a list of (T, I) arrays, got {type(features).__name__}")
    if len(features) == 0:
        raise DataError("features is empty: a data set needs at least one sequence")
    out: list[np.ndarray] = []
    width: int | None = None
    for n, f in enumerate(features):
        a = np.asarray(f)
        if a.ndim == 1:
            raise DataError(
                f"sequence {n}: features have shape {a.shape}; expected (T, I) — for a single "
                "input per frame use a.reshape(-1, 1)"
            )
        if a.ndim != 2:
            raise DataError(f"sequence {n}: features have shape {a.shape}; expected (T, I)")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise DataError(f"sequence {n}: features have dtype {a.dtype}; expected float")
        if a.shape[0] == 0:
            raise DataError(f"sequence {n}: has no frames (T = 0)")
        if width is None:
            width = a.shape[1]
        elif a.shape[1] != width:
            raise DataError(
                f"sequence {n}: has {a.shape[1]} features per frame but sequence 0 has "
                f"{width}; every sequence needs the same input size I"
            )
        a = a.astype(np.float32, copy=False)
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise DataError(
                f"sequence {n}: features contain NaN or inf (first at frame {bad[0]}, "
                f"feature {bad[1]})"
            )
        out.append(a)
    return out


def _check_targets(kind: str, features: list[np.ndarray], targets: Sequence[Any]) -> list[Any]:
    if kind not in KINDS:
        raise DataError(f"kind must be one of {KINDS}, got {kind!r}")
    if targets is None:
        raise DataError(f"targets are missing: kind={kind!r} needs one target per sequence")
    if len(targets) != len(features):
        raise DataError(
            f"{len(features)} feature sequences but {len(targets)} targets; "
            "give exactly one target per sequence"
        )
    out: list[Any] = []
    for n, (f, t) in enumerate(zip(features, targets, strict=True)):
        T = f.shape[0]
        a = np.asarray(t)
        if kind == "sequence":
            if a.ndim != 0 or not np.issubdtype(a.dtype, np.integer):
                raise DataError(
                    f"sequence {n}: kind='sequence' takes one integer class per sequence, "
                    f"got {a.dtype} of shape {a.shape}"
                )
            if a < 0:
                raise DataError(f"sequence {n}: class {int(a)} is negative")
            out.append(int(a))
            continue
        if kind in ("frame", "ctc"):
            if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
                raise DataError(
                    f"sequence {n}: kind={kind!r} takes a 1-D integer array, "
                    f"got {a.dtype} of shape {a.shape}"
                )
            a = a.astype(np.int64)
            if kind == "frame":
                if a.shape[0] != T:
                    raise DataError(
                        f"sequence {n}: {a.shape[0]} frame targets for {T} frames; "
                        "kind='frame' needs exactly one class per frame"
                    )
                if a.size and a.min() < 0:
                    raise DataError(f"sequence {n}: frame class {int(a.min())} is negative")
            else:
                if a.size and a.min() < 1:
                    raise DataError(
                        f"sequence {n}: CTC label {int(a.min())} found; labels must be >= 1 "
                        "(0 is the CTC blank)"
                    )
                if a.shape[0] > T:
                    raise DataError(
                        f"sequence {n}: {a.shape[0]} CTC labels for only {T} frames; "
                        "CTC cannot emit more labels than frames"
                    )
            out.append(a)
            continue
        # regression
        if a.ndim not in (1, 2) or a.shape[0] != T:
            raise DataError(
                f"sequence {n}: regression targets have shape {a.shape} for {T} frames; "
                "expected (T,) or (T, O)"
            )
        a = a.astype(np.float32).reshape(T, -1)
        if not np.all(np.isfinite(a)):
            raise DataError(f"sequence {n}: regression targets contain NaN or inf")
        if out and a.shape[1] != out[0].shape[1]:
            raise DataError(
                f"sequence {n}: {a.shape[1]} regression outputs but sequence 0 has "
                f"{out[0].shape[1]}"
            )
        out.append(a)
    return out


class SequenceDataset:
    """Variable-length (T, I) feature sequences with validated targets.

    Parameters
    ----------
    features
        One float array ``(T_n, I)`` per sequence (or a 3-D array ``(N, T, I)``).
    targets
        One target per sequence, as ``kind`` says (see the module docstring).
    kind
        ``"frame"``, ``"ctc"``, ``"sequence"`` or ``"regression"``.

    Raises
    ------
    DataError
        With the index of the offending sequence and what to change.

    ``len(ds)``, ``ds[i] -> (features, target)`` and iteration work as for any map-style
    dataset; :meth:`collate` makes padded torch batches for a ``DataLoader``.
    """

    def __init__(self, features: Sequence[Any], targets: Sequence[Any], kind: Kind = "ctc"):
        self.features: list[np.ndarray] = _check_features(features)
        self.kind: str = kind
        self.targets: list[Any] = _check_targets(kind, self.features, targets)

    @property
    def input_size(self) -> int:
        """Features per frame (I)."""
        return int(self.features[0].shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Number of frames of each sequence (int64, ``(N,)``)."""
        return np.array([f.shape[0] for f in self.features], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> Sample:
        return self.features[i], self.targets[i]

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def collate(self, items: Sequence[Sample]) -> Batch:
        """Pad a list of ``ds[i]`` items into a :class:`Batch` (``collate_fn`` for DataLoader)."""
        return collate(items, kind=self.kind)

    def subset(self, indices: Sequence[int]) -> SequenceDataset:
        """A new data set holding the sequences at ``indices`` (same kind)."""
        return SequenceDataset(
            [self.features[i] for i in indices], [self.targets[i] for i in indices], self.kind
        )

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        """Write the data set to ``path`` in the layout :func:`from_npz` reads."""
        arrays: dict[str, np.ndarray] = {
            "kind": np.array(self.kind),
            "features": np.concatenate(self.features, axis=0),
            "lengths": self.lengths,
        }
        if self.kind == "sequence":
            arrays["targets"] = np.asarray(self.targets, dtype=np.int64)
        else:
            arrays["targets"] = np.concatenate(self.targets, axis=0)
            arrays["target_lengths"] = np.array([len(t) for t in self.targets], dtype=np.int64)
        np.savez(path, **arrays)

    def __repr__(self) -> str:
        lengths = self.lengths
        return (
            f"{type(self).__name__}(n={len(self)}, kind={self.kind!r}, "
            f"input_size={self.input_size}, frames={lengths.min()}..{lengths.max()})"
        )


def collate(items: Sequence[Sample], kind: Kind = "ctc") -> Batch:
    """Pad ``(features, target)`` pairs of one ``kind`` into a batch-first :class:`Batch`."""
    import torch

    if len(items) == 0:
        raise DataError("collate got an empty batch")
    feats = [np.asarray(f, dtype=np.float32) for f, _ in items]
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.int64)
    T = int(lengths.max())
    x = torch.zeros(len(feats), T, feats[0].shape[1], dtype=torch.float32)
    for b, f in enumerate(feats):
        x[b, : f.shape[0]] = torch.from_numpy(f)
    targets = [t for _, t in items]
    y_lengths = None
    if kind == "frame":
        y = torch.full((len(items), T), FRAME_PAD, dtype=torch.int64)
        for b, t in enumerate(targets):
            y[b, : len(t)] = torch.as_tensor(np.asarray(t, dtype=np.int64))
    elif kind == "ctc":
        y_lengths = torch.tensor([len(t) for t in targets], dtype=torch.int64)
        y = torch.zeros(len(items), max(1, int(y_lengths.max())), dtype=torch.int64)
        for b, t in enumerate(targets):
            y[b, : len(t)] = torch.as_tensor(np.asarray(t, dtype=np.int64))
    elif kind == "sequence":
        y = torch.tensor([int(t) for t in targets], dtype=torch.int64)
    elif kind == "regression":
        tt = [np.asarray(t, dtype=np.float32).reshape(len(t), -1) for t in targets]
        y = torch.zeros(len(items), T, tt[0].shape[1], dtype=torch.float32)
        for b, t in enumerate(tt):
            y[b, : t.shape[0]] = torch.from_numpy(t)
    else:
        raise DataError(f"kind must be one of {KINDS}, got {kind!r}")
    return Batch(x, lengths, y, y_lengths)


def from_arrays(features: Sequence[Any], targets: Sequence[Any], kind: Kind) -> SequenceDataset:
    """Build a validated :class:`SequenceDataset` (same as the constructor; reads better)."""
    return SequenceDataset(features, targets, kind)


def from_npz(path: str | os.PathLike[str], kind: Kind | None = None) -> SequenceDataset:
    """Load a data set from an ``.npz`` file.

    Two layouts are read:

    * packed (what :meth:`SequenceDataset.save_npz` writes): ``features`` ``(sum T, I)`` with
      ``lengths`` ``(N,)``; ``targets`` concatenated along their first axis with
      ``target_lengths`` ``(N,)`` (or one per sequence for ``"sequence"``); optional ``kind``.
    * padded: ``features`` ``(N, T, I)`` with optional ``lengths``; ``targets`` ``(N,)``,
      ``(N, T)``/``(N, T, O)`` (cut to ``lengths``) or ``(N, S)`` with ``target_lengths``.

    ``kind`` overrides the kind stored in the file; one of them must be given.
    """
    with np.load(path, allow_pickle=False) as z:
        files = set(z.files)
        if "features" not in files or "targets" not in files:
            raise DataError(f"{path}: needs arrays 'features' and 'targets', has {sorted(files)}")
        if kind is None:
            if "kind" not in files:
                raise DataError(f"{path}: stores no 'kind'; pass kind= to from_npz")
            kind = str(z["kind"])  # type: ignore[assignment]
        feats_all = z["features"]
        targets_all = z["targets"]
        lengths = z["lengths"] if "lengths" in files else None
        tlen = z["target_lengths"] if "target_lengths" in files else None
    if feats_all.ndim == 3:
        n = feats_all.shape[0]
        if lengths is None:
            lengths = np.full(n, feats_all.shape[1], dtype=np.int64)
        features = [feats_all[i, : int(lengths[i])] for i in range(n)]
        if kind == "sequence":
            targets: list[Any] = list(targets_all)
        elif tlen is not None:
            targets = [targets_all[i, : int(tlen[i])] for i in range(n)]
        elif kind in ("frame", "regression"):
            targets = [targets_all[i, : int(lengths[i])] for i in range(n)]
        else:
            raise DataError(f"{path}: padded CTC targets need 'target_lengths'")
    elif feats_all.ndim == 2:
        if lengths is None:
            raise DataError(f"{path}: packed 2-D 'features' need 'lengths' to be split")
        if int(lengths.sum()) != feats_all.shape[0]:
            raise DataError(
                f"{path}: lengths sum to {int(lengths.sum())} but 'features' has "
                f"{feats_all.shape[0]} frames"
            )
        features = np.split(feats_all, np.cumsum(lengths)[:-1])
        if kind == "sequence":
            targets = list(targets_all)
        else:
            if tlen is None:
                tlen = lengths
            if int(np.sum(tlen)) != targets_all.shape[0]:
                raise DataError(
                    f"{path}: target lengths sum to {int(np.sum(tlen))} but 'targets' has "
                    f"{targets_all.shape[0]} rows"
                )
            targets = np.split(targets_all, np.cumsum(tlen)[:-1])
    else:
        raise DataError(f"{path}: 'features' has shape {feats_all.shape}; expected 2-D or 3-D")
    return SequenceDataset(features, targets, kind)  # type: ignore[arg-type]
