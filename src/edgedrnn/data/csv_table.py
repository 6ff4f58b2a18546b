"""Your own recordings as a CSV table: named input and target columns, split in time, windowed.

A long recording (one row per time step, a header naming the columns) becomes training data
in four steps, all described by a :class:`CsvSpec` that a trained model keeps in its
metadata, so that evaluation cuts the same test part in the same way:

1. **read** (:func:`read_table`): the named columns only; every input cell must be a finite
   number. Errors name the file, the line and the column: a missing column (with the
   columns the file has), an empty, non-numeric, NaN or infinite cell, too few rows.
2. **split in time** (:func:`split_rows`): the first ``train`` fraction of the rows trains,
   the next ``val`` fraction validates, the last ``test`` fraction tests (no shuffling across
   the split: consecutive rows are correlated, a random split would leak the test part).
3. **window** (:func:`windows`): each part is cut into sequences of ``window`` rows. The
   training part takes a window every ``stride`` rows (overlapping when ``stride <
   window``) plus one ending at the last row; validation and test parts are cut into
   consecutive windows (the last one shorter), so every row is scored exactly once.
4. **normalise** with the statistics of the *training rows* only
   (:class:`~edgedrnn.data.Normalization`): the inputs always, the targets of a regression.

A regression's targets may first be smoothed (``CsvSpec.target_lowpass``, :func:`lowpass`):
a causal low-pass filter run over the whole recording, as a streaming filter would, so the
target of a row depends on that row and the ones before it only.

Targets: ``task="regress"`` takes one or more numeric columns, a value per row (a
``"regression"`` data set, ``(T, O)`` targets per window). ``task="classify"`` takes one
column of class labels (numbers or names); a window's class is the one most of its rows
have, and the classes, sorted, are numbered from 0 (:attr:`CsvTable.classes`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .normalization import Normalization
from .sequences import DataError, Sample

__all__ = [
    "MIN_PART_ROWS",
    "TASKS",
    "CsvData",
    "CsvSpec",
    "CsvTable",
    "load",
    "lowpass",
    "read_header",
    "read_table",
    "split_rows",
    "windows",
]

#: Tasks a CSV table trains: per-row regression or windowed classification.
TASKS = ("regress", "classify")
#: Fewest rows each part of the split (train, validation, test) must get.
MIN_PART_ROWS = 8


@dataclass(frozen=True)
class CsvSpec:
    """How a table becomes data: columns, task, split and windowing (stored with a model).

    Parameters
    ----------
    inputs
        Names of the input columns (the features, in this order).
    targets
        Names of the target columns: one or more for ``regress``, one for ``classify``.
    task
        ``"regress"`` or ``"classify"``.
    split
        Fractions ``(train, val, test)`` of the rows, in time order; each above 0, sum 1.
    window
        Rows per sequence.
    stride
        Rows between the starts of consecutive training windows (default: ``window``).
    target_lowpass
        Regression only: filter each target column with a causal 2nd-order Butterworth
        low-pass of this cutoff (:func:`lowpass`), in cycles per row (the cutoff in Hz over
        the rows per second; 2 Hz at 64 rows/s is 0.03125), before splitting. Default: the
        targets as they are.
    """

    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    task: str = "regress"
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    window: int = 256
    stride: int | None = None
    target_lowpass: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "split", tuple(float(f) for f in self.split))
        if self.task not in TASKS:
            raise DataError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if not self.inputs:
            raise DataError("give at least one input column")
        if not self.targets:
            raise DataError("give at least one target column")
        if self.task == "classify" and len(self.targets) != 1:
            raise DataError(
                f"task classify takes one target column of class labels, got "
                f"{len(self.targets)}: {', '.join(self.targets)}"
            )
        both = sorted(set(self.inputs) & set(self.targets))
        if both:
            raise DataError(f"column {both[0]!r} is both an input and a target")
        for names in (self.inputs, self.targets):
            seen = [n for i, n in enumerate(names) if n in names[:i]]
            if seen:
                raise DataError(f"column {seen[0]!r} is named twice")
        if len(self.split) != 3 or any(not (0 < f < 1) for f in self.split):
            raise DataError(
                f"split needs three fractions (train, val, test), each above 0 and below 1; "
                f"got {','.join(f'{f:g}' for f in self.split)}"
            )
        if not math.isclose(sum(self.split), 1.0, abs_tol=1e-6):
            raise DataError(
                f"split fractions must add up to 1, got "
                f"{'+'.join(f'{f:g}' for f in self.split)} = {sum(self.split):g}"
            )
        if self.window < 1:
            raise DataError(f"window must be at least 1 row, got {self.window}")
        if self.stride is not None and self.stride < 1:
            raise DataError(f"stride must be at least 1 row, got {self.stride}")
        if self.target_lowpass is not None:
            if self.task != "regress":
                raise DataError("target_lowpass filters regression targets; task is classify")
            if not (0 < self.target_lowpass < 0.5):
                raise DataError(
                    f"target_lowpass is a cutoff in cycles per row, above 0 and below 0.5 "
                    f"(the Nyquist frequency); got {self.target_lowpass:g}"
                )

    @property
    def train_stride(self) -> int:
        """Rows between training windows."""
        return self.stride or self.window

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (lists for tuples)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CsvSpec:
        """The spec stored by :meth:`to_dict` (other keys ignored)."""
        names = cls.__dataclass_fields__
        return cls(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names}
        )


@dataclass
class CsvTable:
    """The columns a :class:`CsvSpec` names, read from one file.

    Attributes
    ----------
    path
        The file.
    inputs
        float64 ``(N, I)``, one row per data row of the file.
    targets
        float64 ``(N, O)`` (regression) or int64 ``(N,)`` class ids (classification).
    classes
        Classification: the label of each class id (sorted); empty for regression.
    """

    path: Path
    inputs: np.ndarray
    targets: np.ndarray
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """The column names of the file's first line.

    Raises
    ------
    DataError
        The file is empty or its header has an empty or repeated name.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise DataError(f"{path}: empty file; expected a header line naming the columns")
    names = [h.strip() for h in header]
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {i + 1} of the header has no name")
        if name in names[:i]:
            raise DataError(f"{path}: the header names column {name!r} twice")
    return names


def _missing(path: Path, wanted: Sequence[str], header: list[str]) -> None:
    missing = [c for c in wanted if c not in header]
    if missing:
        which = "column" if len(missing) == 1 else "columns"
        raise DataError(
            f"{path}: no {which} {', '.join(repr(c) for c in missing)}; "
            f"the file has {', '.join(header)}"
        )


def _number(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise DataError(f"{path}: line {line}, column {column!r} is empty")
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{path}: line {line}, column {column!r}: {text!r} is not a number"
        ) from None
    if math.isnan(value):
        raise DataError(f"{path}: line {line}, column {column!r} is NaN")
    if math.isinf(value):
        raise DataError(f"{path}: line {line}, column {column!r} is infinite")
    return value


def _class_key(label: str) -> tuple[int, float, str]:
    """Numbers in numeric order first, then names."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def read_table(
    path: str | os.PathLike[str], spec: CsvSpec, classes: Sequence[str] | None = None
) -> CsvTable:
    """Read the columns ``spec`` names from ``path``, checking every cell.

    Regression targets come out filtered when ``spec.target_lowpass`` is set
    (:func:`lowpass`, over all rows, before any split).

    Parameters
    ----------
    path
        A CSV file with a header line (comma-separated; a UTF-8 BOM is skipped).
    spec
        The columns and the task.
    classes
        Classification: the labels of the class ids (a trained model's); default: the
        file's labels, sorted.

    Raises
    ------
    DataError
        A label not in ``classes``; a column is missing (the message lists the file's
        columns); a cell is empty, not a number, NaN or infinite (the message gives the line
        and the column); a line has fewer cells than the header; the file has too few rows
        for the split.
    """
    path = Path(path)
    header = read_header(path)
    _missing(path, (*spec.inputs, *spec.targets), header)
    col_in = [header.index(c) for c in spec.inputs]
    col_out = [header.index(c) for c in spec.targets]
    need = max(col_in + col_out)
    xs: list[list[float]] = []
    ys: list[Any] = []
    classify = spec.task == "classify"
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue  # blank line
            if len(row) <= need:
                raise DataError(
                    f"{path}: line {line} has {len(row)} cells but the header names "
                    f"{len(header)} columns"
                )
            xs.append([_number(path, line, header[c], row[c]) for c in col_in])
            if classify:
                label = row[col_out[0]].strip()
                if not label:
                    raise DataError(f"{path}: line {line}, column {spec.targets[0]!r} is empty")
                ys.append(label)
            else:
                ys.append([_number(path, line, header[c], row[c]) for c in col_out])
    n = len(xs)
    least = min(spec.split)
    need_rows = max(3 * MIN_PART_ROWS, math.ceil(MIN_PART_ROWS / least))
    if n < need_rows:
        raise DataError(
            f"{path}: {n} data rows are too few; the split "
            f"{','.join(f'{f:g}' for f in spec.split)} needs at least {need_rows} "
            f"(each part {MIN_PART_ROWS} rows or more)"
        )
    inputs = np.asarray(xs, dtype=np.float64).reshape(n, len(col_in))
    if classify:
        found = sorted(set(ys), key=_class_key)
        classes = list(classes) if classes is not None else found
        ids = {c: i for i, c in enumerate(classes)}
        unknown = [c for c in found if c not in ids]
        if unknown:
            raise DataError(
                f"{path}: class {unknown[0]!r} of column {spec.targets[0]!r} is not one of "
                f"the model's classes {', '.join(classes)}"
            )
        return CsvTable(path, inputs, np.array([ids[y] for y in ys], np.int64), classes)
    targets = np.asarray(ys, dtype=np.float64).reshape(n, len(col_out))
    if spec.target_lowpass is not None:
        targets = lowpass(targets, spec.target_lowpass)
    return CsvTable(path, inputs, targets)


def lowpass(values: np.ndarray, cutoff: float) -> np.ndarray:
    """Filter the columns of ``values`` with a causal 2nd-order Butterworth low-pass.

    The filter is the bilinear transform of the analogue Butterworth prototype with the
    cutoff pre-warped (``scipy.signal.butter(2, 2 * cutoff)`` run by ``lfilter``), started in
    its steady state for the first row, so a constant column passes unchanged.

    Parameters
    ----------
    values
        ``(N, C)`` or ``(N,)`` samples, one row per time step.
    cutoff
        The -3 dB frequency in cycles per row, in (0, 0.5).

    Returns
    -------
    ndarray
        float64, the shape of ``values``; row ``t`` depends on rows ``0..t`` only.
    """
    x = np.asarray(values, dtype=np.float64)
    k = math.tan(math.pi * cutoff)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0 = k * k * norm
    b1, b2 = 2.0 * b0, b0
    a1 = 2.0 * (k * k - 1.0) * norm
    a2 = (1.0 - math.sqrt(2.0) * k + k * k) * norm
    y = np.empty_like(x)
    if x.shape[0] == 0:
        return y
    # transposed direct form II, in the steady state of the first row
    z2 = (b2 - a2) * x[0]
    z1 = (b1 - a1) * x[0] + z2
    for t in range(x.shape[0]):
        y[t] = b0 * x[t] + z1
        z1 = b1 * x[t] - a1 * y[t] + z2
        z2 = b2 * x[t] - a2 * y[t]
    return y


def split_rows(n: int, split: Sequence[float]) -> tuple[slice, slice, slice]:
    """Row ranges of the train, validation and test parts of ``n`` rows, in time order."""
    a = round(n * split[0])
    b = a + round(n * split[1])
    return slice(0, a), slice(a, b), slice(b, n)


def windows(n: int, window: int, stride: int | None) -> list[slice]:
    """Row ranges of the sequences cut from a part of ``n`` rows.

    With ``stride`` (training): full windows every ``stride`` rows, plus one ending at the
    last row if they miss it; without (validation, test): consecutive windows, the last one
    shorter, covering each row once. A part shorter than ``window`` is one sequence.
    """
    if n <= window:
        return [slice(0, n)]
    if stride is None:
        return [slice(s, min(s + window, n)) for s in range(0, n, window)]
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] + window < n:
        starts.append(n - window)
    return [slice(s, s + window) for s in starts]


@dataclass
class CsvData:
    """A table's train/validation/test sequences, normalised with the training rows.

    ``train``, ``val``, ``test`` are :data:`~edgedrnn.data.Sample` lists: ``(x (T, I)
    float32, target)``, target ``(T, O)`` float32 (normalised for regression) or a class id.
    """

    spec: CsvSpec
    table: CsvTable
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    normalization: Normalization
    target_normalization: Normalization | None
    rows: tuple[int, int, int]


def _cut(
    table: CsvTable,
    part: slice,
    spec: CsvSpec,
    stride: int | None,
    norm: Normalization,
    tnorm: Normalization | None,
) -> list[Sample]:
    x_all = norm(table.inputs[part])
    y_all = table.targets[part]
    out: list[Sample] = []
    for w in windows(x_all.shape[0], spec.window, stride):
        x = x_all[w]
        if spec.task == "classify":
            counts = np.bincount(y_all[w], minlength=len(table.classes))
            out.append((x, int(np.argmax(counts))))
        else:
            y = y_all[w].astype(np.float32)
            out.append((x, tnorm(y) if tnorm is not None else y))
    return out


def load(
    path: str | os.PathLike[str],
    spec: CsvSpec,
    normalization: Normalization | None = None,
    target_normalization: Normalization | None = None,
    normalize_targets: bool = True,
    classes: Sequence[str] | None = None,
) -> CsvData:
    """Read, split, window and normalise a table.

    Parameters
    ----------
    path
        The CSV file.
    spec
        Columns, task, split, windowing.
    normalization, target_normalization
        Statistics to use (a trained model's); default: fitted on the training rows.
    normalize_targets
        Regression only: scale the targets too (``False`` keeps them in their units).
    classes
        Classification: the labels of the class ids (default: the file's, sorted).

    Raises
    ------
    DataError
        See :func:`read_table`.
    """
    table = read_table(path, spec, classes)
    parts = split_rows(len(table), spec.split)
    norm = normalization or Normalization.fit([table.inputs[parts[0]]])
    tnorm = None
    if spec.task == "regress" and normalize_targets:
        tnorm = target_normalization or Normalization.fit([table.targets[parts[0]]])
    return CsvData(
        spec,
        table,
        _cut(table, parts[0], spec, spec.train_stride, norm, tnorm),
        _cut(table, parts[1], spec, None, norm, tnorm),
        _cut(table, parts[2], spec, None, norm, tnorm),
        norm,
        tnorm,
        tuple(p.stop - p.start for p in parts),  # type: ignore[arg-type]
    )
