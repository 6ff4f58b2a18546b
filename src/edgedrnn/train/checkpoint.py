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


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> SequenceModel:
    """Load a model saved by :func:`save_model` (or the ``model`` of a training checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if "model" in payload and payload.get("format") != FORMAT:  # a training checkpoint
        payload = payload["model"]
    return model_from_payload(payload, base=path.parent)


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
