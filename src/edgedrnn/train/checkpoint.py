"""Saving and loading trained models and training checkpoints.

A model file (``.pt``) holds only state dicts, plain numbers and a JSON string, so it loads
with ``torch.load(..., weights_only=True)``::

    {"format": "edgedrnn.SequenceModel", "version": 1, "task": "ctc",
     "rnn": {"kind": "dense" | "delta", "input_size", "hidden_size", "num_layers",
             "theta_x", "theta_h", "quantized"},
     "rnn_state": {...} | None,      # None: the GRU weights are the Program's (see below)
     "program_file": "model.edrnn" | None,
     "head_state": {...}, "metadata_json": "{...}"}

A shipped (exported) model stores the GRU only once, as the compiled
:class:`~edgedrnn.Program` beside the ``.pt`` (``program_file``): loading rebuilds the
DeltaGRU with :meth:`~edgedrnn.DeltaGRU.from_program`, exactly the quantized network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..program import Program
from .dense import DenseGRU
from .heads import SequenceModel

FORMAT = "edgedrnn.SequenceModel"
VERSION = 1


def rnn_config(model: SequenceModel) -> dict[str, Any]:
    """The constructor arguments of the model's recurrent core."""
    rnn = model.rnn
    if model.is_delta:
        return {
            "kind": "delta",
            "input_size": rnn.input_size,
            "hidden_size": list(rnn.hidden_sizes),
            "num_layers": rnn.num_layers,
            "theta_x": rnn.theta_x,
            "theta_h": rnn.theta_h,
            "quantized": bool(rnn.quantized),
        }
    return {
        "kind": "dense",
        "input_size": rnn.input_size,
        "hidden_size": rnn.hidden_size,
        "num_layers": rnn.num_layers,
    }


def build_rnn(cfg: dict[str, Any]) -> nn.Module:
    """A fresh recurrent core from :func:`rnn_config`'s description."""
    from ..model import DeltaGRU

    if cfg["kind"] == "delta":
        return DeltaGRU(
            cfg["input_size"],
            cfg["hidden_size"],
            cfg["num_layers"],
            theta_x=cfg["theta_x"],
            theta_h=cfg["theta_h"],
            quantized=cfg["quantized"],
        )
    if cfg["kind"] == "dense":
        return DenseGRU(cfg["input_size"], cfg["hidden_size"], cfg["num_layers"])
    raise ValueError(f"unknown recurrent core kind {cfg['kind']!r}")


def model_payload(model: SequenceModel, program_file: str | None = None) -> dict[str, Any]:
    """The weights-only-safe dictionary that describes ``model``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "task": model.task,
        "rnn": rnn_config(model),
        "rnn_state": None if program_file else _cpu_state(model.rnn),
        "program_file": program_file,
        "head_state": _cpu_state(model.head),
        "head_shape": [model.head.in_features, model.head.out_features],
        "metadata_json": json.dumps(model.metadata, sort_keys=True),
    }


def _cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def model_from_payload(payload: dict[str, Any], base: Path | None = None) -> SequenceModel:
    """Rebuild a :class:`SequenceModel` from :func:`model_payload`'s dictionary."""
    if payload.get("format") != FORMAT:
        raise ValueError(f"not an edgedrnn model file (format {payload.get('format')!r})")
    if int(payload.get("version", 0)) > VERSION:
        raise ValueError(
            f"model file version {payload['version']} is newer than this edgedrnn reads "
            f"({VERSION}); upgrade edgedrnn"
        )
    if payload.get("program_file"):
        from ..model import DeltaGRU

        program = Program.load((base or Path(".")) / payload["program_file"])
        rnn = DeltaGRU.from_program(program)
        cfg = payload["rnn"]
        rnn.set_thresholds(cfg["theta_x"], cfg["theta_h"])
    else:
        rnn = build_rnn(payload["rnn"])
        rnn.load_state_dict(payload["rnn_state"])
    fan_in, fan_out = payload["head_shape"]
    head = nn.Linear(fan_in, fan_out)
    head.load_state_dict(payload["head_state"])
    model = SequenceModel(rnn, head, payload["task"], json.loads(payload["metadata_json"]))
    model.eval()
    return model


def save_model(model: SequenceModel, path: str | Path, program: Program | None = None) -> Path:
    """Save ``model`` to ``path`` (``.pt``).

    With ``program`` (the model compiled by :func:`edgedrnn.compile`), the program is saved
    beside it (same stem, ``.edrnn``) and the ``.pt`` keeps only the head and metadata: the
    compact form that ships in the package.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program_file = None
    if program is not None:
        program_file = path.with_suffix(".edrnn").name
        program.save(path.with_suffix(".edrnn"))
    torch.save(model_payload(model, program_file), path)
    return path


def load_model(
    source: str | Path | Mapping[str, Any],
    map_location: str | torch.device = "cpu",
    base: str | Path | None = None,
) -> SequenceModel:
    """Load a model: a file saved by :func:`save_model` or a training checkpoint's model.

    Parameters
    ----------
    source : str, Path or dict
        A model file (``model.pt``, ``dense.pt``), a training checkpoint file (``last.pt``:
        its model is loaded), or either one already read: the dictionary
        :func:`model_payload` returns, or a checkpoint as :func:`load_checkpoint` returns it.
    map_location : str or torch.device
        Where tensors read from a file are put (the model is returned on the CPU anyway).
    base : str or Path, optional
        Folder of the compiled Program (``.edrnn``) that an exported model's dictionary
        names (default: the file's folder, or the current folder for a dictionary).

    Returns
    -------
    SequenceModel
        In eval mode.

    Raises
    ------
    FileNotFoundError
        No such file, or an exported model's Program is not beside it.
    IsADirectoryError
        ``source`` is a folder.
    ValueError
        The file is not a PyTorch file or not an edgedrnn model or checkpoint, or the
        dictionary is neither.
    TypeError
        ``source`` is neither a path nor a dictionary.
    """
    if isinstance(source, Mapping):
        return model_from_payload(_model_entry(source, "the dictionary"), _base(base))
    if not isinstance(source, (str, Path)):
        raise TypeError(
            "load_model takes a model file's path or a model/checkpoint dictionary, got "
            f"{type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file (.pt)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle, zip and runtime errors of many kinds
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(
            f"{path} is not an edgedrnn model file (a .pt written by edgedrnn train or "
            f"save_model): {reason}"
        ) from None
    if not isinstance(payload, Mapping):
        raise ValueError(
            f"{path} holds a {type(payload).__name__}, not an edgedrnn model or checkpoint"
        )
    return model_from_payload(_model_entry(payload, str(path)), _base(base, path.parent))


def _model_entry(payload: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The model dictionary of a model payload or of a checkpoint."""
    if payload.get("format") == FORMAT:
        return dict(payload)
    inner = payload.get("model")
    if isinstance(inner, Mapping) and inner.get("format") == FORMAT:
        return dict(inner)
    found = payload.get("format") or ", ".join(sorted(map(str, payload))[:6]) or "nothing"
    kind = "model" if what == "the dictionary" else "model file"
    raise ValueError(
        f"{what} is not an edgedrnn {kind} or training checkpoint (found {found}); give a "
        "model.pt or last.pt written by edgedrnn train"
    )


def _base(base: str | Path | None, default: Path | None = None) -> Path:
    return Path(base) if base is not None else (default or Path("."))


def save_checkpoint(path: str | Path, model: SequenceModel, **state: Any) -> Path:
    """Write a training checkpoint atomically: the model plus optimiser, epoch, RNG, ..."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model_payload(model), **state}, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights-only safe)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)
