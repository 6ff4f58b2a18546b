"""Argument types and checks shared by the subcommands: each refuses bad input up front.

An argparse ``type=`` function raises :class:`argparse.ArgumentTypeError`, which argparse
turns into ``edgedrnn CMD: error: argument --x: <message>`` and exit code 2. Checks that
need several arguments or the file system raise :class:`UsageError`, which
:func:`edgedrnn.cli.main` prints the same way, also with exit code 2. Both run before any
long work starts.
"""

from __future__ import annotations

import argparse
import math
import os
import zipfile
from pathlib import Path

#: Thresholds are Q8.8 values below 128 (docs/datapath.md).
THETA_MAX = 128.0


class UsageError(Exception):
    """The command line asks for something that cannot be done; the message says the fix."""


def positive_int(text: str) -> int:
    """An int of at least 1 (sizes, counts, epochs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An int of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite float above 0 (learning rates, clock targets)."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def threshold(text: str) -> float:
    """One threshold Θ in real units: finite, 0 <= Θ < 128."""
    value = _float(text)
    if not 0 <= value < THETA_MAX:
        raise argparse.ArgumentTypeError(
            f"a threshold must be in [0, {THETA_MAX:g}) (Q8.8), got {text}"
        )
    return value


def thresholds(text: str) -> list[float]:
    """A comma-separated list of thresholds, e.g. ``0,0.05,0.1`` (at least one)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(p == "" for p in parts):
        raise argparse.ArgumentTypeError(
            f"give comma-separated thresholds such as 0,0.05,0.1; got {text!r}"
        )
    return [threshold(p) for p in parts]


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def output_dir(path: str | Path) -> Path:
    """Create ``path`` (and its parents) if needed and check it is a writable folder.

    Raises
    ------
    UsageError
        It is a file, or cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create output folder {path} ({exc.strerror}); choose another --out"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {path} is not writable; choose another --out")
    return path


def input_file(path: str | Path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """An existing regular file; with ``suffixes``, one of those kinds.

    Parameters
    ----------
    path : str or Path
        The file named on the command line.
    what : str
        What it should be, for the message (e.g. "a model checkpoint (.pt)").
    suffixes : tuple of str
        Accepted suffixes; ``.pt`` files are also checked to be PyTorch files.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file; expected {what}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; expected {what}")
    if suffixes and path.suffix not in suffixes:
        raise UsageError(f"{path} is not {what}")
    if path.suffix == ".pt" and not _is_torch_file(path):
        raise UsageError(f"{path} is not a PyTorch file; expected {what}")
    return path


def _is_torch_file(path: Path) -> bool:
    """A torch.save file: a zip archive (current format) or a legacy pickle."""
    if zipfile.is_zipfile(path):
        return True
    with path.open("rb") as f:
        return f.read(2) == b"\x80\x02"


def torch_device(name: str) -> str:
    """``auto``, ``cpu`` or ``cuda`` (only where CUDA is available)."""
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {name!r}")
    if name.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available here; use --device cpu")
    return name
