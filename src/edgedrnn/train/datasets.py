"""Data for training: spoken digits, aeon's real data sets, users' ``.csv``/``.npz`` files,
synthetic tasks.

Everything is reduced to lists of :data:`~edgedrnn.data.Sample` pairs ``(x (T, I) float32,
target)`` (an :class:`edgedrnn.data.SequenceDataset` is one) plus a description: the task,
the head size, the vocabulary and the feature normalisation
(:class:`~edgedrnn.data.Normalization`), which is stored in the model's metadata so that
evaluation (:func:`evaluation_data`) and the demo (:func:`featurize`) prepare new inputs exactly as
training did.

Regression targets (of a CSV table, ``daphnet-gait`` or a ``.npz`` file) are normalised too,
with the training rows' statistics (``metadata["target_normalization"]``); after training,
:func:`fold_target_normalization` folds them into the linear head, so the saved model
predicts in the targets' own units and evaluation scores it against the raw targets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.normalization import Normalization
from ..data.sequences import Sample

if TYPE_CHECKING:  # pragma: no cover
    from ..data.csv_table import CsvData, CsvSpec
    from .heads import SequenceModel
from . import synthetic
from .heads import TASK_OF_KIND


@dataclass
class TaskData:
    """Train/validation/test splits with what a model needs to know about them."""

    task: str
    num_outputs: int
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    metadata: dict[str, Any] = field(default_factory=dict)


def normalized(samples: list[Sample], metadata: dict[str, Any]) -> list[Sample]:
    """``samples`` normalised as a model with ``metadata`` was trained (none stored: as is)."""
    norm = Normalization.from_dict(metadata.get("normalization"))
    return norm.samples(samples) if norm else list(samples)


def _split(samples: list[Sample], frac: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    idx = np.random.default_rng(seed).permutation(len(samples))
    n_val = max(1, round(frac * len(samples)))
    return [samples[i] for i in idx[n_val:]], [samples[i] for i in idx[:n_val]]


def _outputs(task: str, samples: list[Sample]) -> int:
    if task == "ctc":
        return int(max(max(y) if len(y) else 0 for _, y in samples)) + 1
    if task == "classify":
        return int(max(int(y) for _, y in samples)) + 1
    return int(np.asarray(samples[0][1]).reshape(len(samples[0][0]), -1).shape[1])


def from_npz_files(train: str, val: str | None, test: str | None, seed: int = 0) -> TaskData:
    """Users' data: ``.npz`` files in :func:`edgedrnn.data.from_npz`'s layouts (kind stored)."""
    from ..data.sequences import from_npz

    tr = from_npz(train)
    task = TASK_OF_KIND.get(tr.kind)
    if task is None:
        raise ValueError(
            f"{train}: kind {tr.kind!r} is not trainable here; use one of {', '.join(TASK_OF_KIND)}"
        )
    train_s = list(tr)
    val_s = list(from_npz(val, tr.kind)) if val else None
    if val_s is None:
        train_s, val_s = _split(train_s, 0.1, seed)
    test_s = list(from_npz(test, tr.kind)) if test else []
    norm = Normalization.fit(x for x, _ in train_s)
    meta: dict[str, Any] = {
        "data": {"source": "npz", "train": str(train)},
        "normalization": norm.to_dict(),
    }
    if test:
        meta["data"]["test"] = str(test)
    train_s, val_s, test_s = norm.samples(train_s), norm.samples(val_s), norm.samples(test_s)
    if task == "regress":
        tnorm = Normalization.fit(_target_rows(x, y) for x, y in train_s)
        meta["target_normalization"] = tnorm.to_dict()
        train_s, val_s, test_s = (normalized_targets(s, tnorm) for s in (train_s, val_s, test_s))
    return TaskData(task, _outputs(task, train_s), train_s, val_s, test_s, meta)


def _target_rows(x: np.ndarray, y: Any) -> np.ndarray:
    """A regression target as (T, O) rows."""
    return np.asarray(y).reshape(len(x), -1)


def normalized_targets(samples: list[Sample], tnorm: Normalization) -> list[Sample]:
    """Regression ``samples`` with their targets scaled by ``tnorm`` (shapes kept)."""
    return [(x, tnorm(_target_rows(x, y)).reshape(np.shape(y))) for x, y in samples]


def synthetic_data(task: str, n: int = 256, seed: int = 0) -> TaskData:
    """One of the :mod:`~edgedrnn.train.synthetic` tasks (no normalisation needed)."""
    meta: dict[str, Any] = {"data": {"source": f"synthetic-{task}", "n": n, "seed": seed}}
    if task == "ctc":
        meta["vocabulary"] = ["<blank>", "a", "b", "c", "d"]
    return TaskData(
        task,
        synthetic.num_outputs(task),
        synthetic.make_task(task, n, seed=seed),
        synthetic.make_task(task, max(n // 4, 8), seed=seed + 1),
        synthetic.make_task(task, max(n // 4, 8), seed=seed + 2),
        meta,
    )


#: aeon's data sets (:mod:`edgedrnn.data.uea`) -> their task.
UEA_SOURCES = {
    "japanese-vowels": "classify",
    "basic-motions": "classify",
    "daphnet-gait": "regress",
}
#: Fraction of each class's training series held out for validation (UEA sets).
UEA_VAL_FRACTION = 0.1


def uea_data(name: str, seed: int = 0) -> TaskData:
    """A UEA classification set (the archive's train/test split, validation carved from
    train, stratified and seeded) normalised with the training series' statistics."""
    from ..data import uea

    if name == "daphnet-gait":
        return _table_data(uea.gait(), {"source": name})
    d = uea.load(name, UEA_VAL_FRACTION, seed)
    norm = Normalization.fit(x for x, _ in d.train)
    meta = {
        "data": {
            "source": name,
            "archive": uea.CLASSIFICATION[name][0],
            "seed": seed,
            "val_fraction": UEA_VAL_FRACTION,
        },
        "normalization": norm.to_dict(),
        "classes": d.classes,
    }
    return TaskData(
        "classify",
        len(d.classes),
        norm.samples(d.train),
        norm.samples(d.val),
        norm.samples(d.test),
        meta,
    )


def csv_data(path: str, spec: CsvSpec) -> TaskData:
    """A CSV table (:mod:`edgedrnn.data.csv_table`): split in time, windowed, normalised
    with the training rows (inputs; regression targets too)."""
    from ..data.csv_table import load

    return _table_data(load(path, spec), {"source": str(path)})


def _table_data(d: CsvData, data_meta: dict[str, Any]) -> TaskData:
    meta: dict[str, Any] = {
        "data": {**data_meta, "csv": d.spec.to_dict(), "rows": list(d.rows)},
        "normalization": d.normalization.to_dict(),
    }
    if d.target_normalization is not None:
        meta["target_normalization"] = d.target_normalization.to_dict()
    if d.spec.task == "classify":
        meta["classes"] = d.table.classes
        outputs = len(d.table.classes)
    else:
        outputs = len(d.spec.targets)
    return TaskData(d.spec.task, outputs, d.train, d.val, d.test, meta)


def fold_target_normalization(model: SequenceModel) -> bool:
    """Fold the target statistics of ``model.metadata`` into its head (once).

    A model trained on normalised targets predicts ``(y - mean) / std``; afterwards its head
    computes ``y`` itself (``W' = std W``, ``b' = std b + mean``) and the metadata records
    ``"folded": true``. Returns whether the head changed.
    """
    import torch

    stored = model.metadata.get("target_normalization")
    if not stored or stored.get("folded"):
        return False
    std = torch.as_tensor(stored["std"], dtype=model.head.weight.dtype)
    mean = torch.as_tensor(stored["mean"], dtype=model.head.weight.dtype)
    with torch.no_grad():
        model.head.weight.mul_(std[:, None])
        model.head.bias.mul_(std).add_(mean)
    model.metadata["target_normalization"] = {**stored, "folded": True}
    return True


def load_task_data(source: str, **options: Any) -> TaskData:
    """``spoken-digits``, a name of :data:`UEA_SOURCES`, ``synthetic-{ctc,classify,regress}``,
    a ``.csv`` file (``csv=`` a :class:`~edgedrnn.data.csv_table.CsvSpec`) or a ``.npz`` file."""
    if source == "spoken-digits":
        return spoken_digits_data(**options)
    if source in UEA_SOURCES:
        return uea_data(source, seed=options.get("seed", 0))
    if source.startswith("synthetic-"):
        return synthetic_data(source.split("-", 1)[1], seed=options.get("seed", 0))
    if Path(source).suffix == ".npz":
        return from_npz_files(
            source, options.get("val"), options.get("test"), options.get("seed", 0)
        )
    if Path(source).suffix == ".csv":
        if options.get("csv") is None:
            raise ValueError(f"{source}: a CSV table needs its columns and task (csv=CsvSpec)")
        return csv_data(source, options["csv"])
    raise ValueError(
        f"unknown data source {source!r}: use spoken-digits, {', '.join(UEA_SOURCES)}, "
        "synthetic-ctc, synthetic-classify, synthetic-regress, a .csv or a .npz file"
    )


def _table_test(metadata: dict[str, Any], source: str) -> list[Sample]:
    """The test windows of a table, prepared with the model's stored statistics."""
    from ..data import uea
    from ..data.csv_table import CsvSpec, load

    data_meta = metadata.get("data", {})
    if "csv" not in data_meta:
        raise ValueError(
            f"{source}: the model was trained on {data_meta.get('source', 'unknown data')}, "
            "not on a CSV table; its input and target columns are unknown"
        )
    spec = CsvSpec.from_dict(data_meta["csv"])
    stored = metadata.get("target_normalization")
    keep_units = not stored or stored.get("folded", False)
    path = uea.data_folder() / uea.DAPHNET_FILE if source == "daphnet-gait" else source
    return load(
        path,
        spec,
        normalization=Normalization.from_dict(metadata.get("normalization")),
        target_normalization=Normalization.from_dict(stored),
        normalize_targets=not keep_units,
        classes=metadata.get("classes"),
    ).test


def evaluation_data(
    metadata: dict[str, Any], source: str | None = None, n_test: int = 300
) -> list[Sample]:
    """Test sequences prepared as the training data of a model with ``metadata`` was.

    Parameters
    ----------
    metadata:
        The model's metadata (its ``"data"`` entry names the training data, its
        ``"normalization"`` the statistics).
    source:
        ``spoken-digits``, a UEA name, ``synthetic-*``, a ``.csv`` file (cut with the
        model's stored columns, split and windows: its test part) or a ``.npz`` file
        (default: the training source).
    n_test:
        Spoken-digits test utterances.
    """
    data_meta = metadata.get("data", {})
    source = source or data_meta.get("source", "spoken-digits")
    if source == "spoken-digits":
        return load_task_data(
            source,
            n_train=data_meta.get("n_train", 2000),
            n_val=1,
            n_test=n_test,
            seed=data_meta.get("seed", 0),
            progress=False,
        ).test
    if source.endswith(".npz"):
        from ..data.sequences import from_npz

        test = normalized(list(from_npz(source)), metadata)
        stored = metadata.get("target_normalization")
        tnorm = Normalization.from_dict(stored)
        if tnorm is not None and not stored.get("folded", False):  # as the head predicts
            test = normalized_targets(test, tnorm)
        return test
    if source.endswith(".csv") or source == "daphnet-gait":
        return _table_test(metadata, source)
    if source in UEA_SOURCES:
        from ..data import uea

        test = uea.load(source, UEA_VAL_FRACTION, data_meta.get("seed", 0)).test
        return normalized(test, metadata)
    return load_task_data(source, seed=data_meta.get("seed", 0)).test


# ------------------------------------------------------------------------------- spoken digits


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
        "normalization": Normalization(tr.mean, tr.std).to_dict(),
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


def featurize(audio: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    """Normalised features of a 16 kHz waveform as the model with ``metadata`` was trained on."""
    from ..data import spoken_digits as sd

    fields = {f.name for f in dataclasses.fields(sd.SpokenDigitsConfig)}
    cfg = sd.SpokenDigitsConfig(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in metadata["features"].items()
            if k in fields
        }
    )
    return Normalization(**metadata["normalization"])(sd.logmel(audio, cfg))
