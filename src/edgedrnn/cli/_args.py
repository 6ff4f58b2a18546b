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
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # pragma: no cover
    from ..config import HardwareConfig
    from ..train.heads import SequenceModel

#: Thresholds are Q8.8 values below 128 (docs/datapath.md).
THETA_MAX = 128.0


class UsageError(Exception):
    """The command line asks for something that cannot be done; the message says the fix."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the help already names it.

    Flags (default False) and options without a default (None) show none.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


class RawDescriptionHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """:class:`HelpFormatter` that keeps the description's own line breaks."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``PROG: error: MESSAGE (see PROG --help)``.

    Subparsers made with ``add_subparsers`` are of this class too; their help shows defaults
    (:class:`HelpFormatter`) unless another ``formatter_class`` is given.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print one line (no usage block) and exit with code 2."""
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


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


def seed(text: str) -> int:
    """A random seed: an int of at least 0."""
    return non_negative_int(text)


def power_of_two(text: str) -> int:
    """A power of two of at least 1 (sizes the CONFIG register reports as log2)."""
    value = positive_int(text)
    if value & (value - 1):
        up = 1 << (value - 1).bit_length()
        raise argparse.ArgumentTypeError(f"must be a power of two, got {value}; e.g. {up}")
    return value


def non_negative_float(text: str) -> float:
    """A finite float of at least 0 (penalty weights)."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def weight_sparsity(text: str) -> float:
    """A weight sparsity γ: a finite float in [0, 1)."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), e.g. 0.875, got {text}")
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


def identifier(text: str) -> str:
    """A Verilog/C identifier: a letter or ``_``, then letters, digits and ``_``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise argparse.ArgumentTypeError(
            f"must be an identifier (letters, digits, _; not starting with a digit), got {text!r}"
        )
    return text


def backends(text: str) -> list[str]:
    """A comma-separated list of backend names, e.g. ``reference,cpu`` (at least one)."""
    from ..backends import BACKENDS

    names = [p.strip() for p in text.split(",")]
    if not text.strip() or any(n == "" for n in names):
        raise argparse.ArgumentTypeError(
            f"give comma-separated backends from {','.join(BACKENDS)}; got {text!r}"
        )
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}"
        )
    return list(dict.fromkeys(names))


#: Named data sources (besides ``.csv`` and ``.npz`` files) and the task each one trains.
DATA_SOURCES = {
    "spoken-digits": "ctc",
    "japanese-vowels": "classify",
    "basic-motions": "classify",
    "daphnet-gait": "regress",
    "synthetic-ctc": "ctc",
    "synthetic-classify": "classify",
    "synthetic-regress": "regress",
}
#: Feature width of the synthetic tasks (:func:`edgedrnn.train.synthetic.make_task`).
SYNTHETIC_INPUT_SIZE = 8
#: Feature width of aeon's data sets (:mod:`edgedrnn.data.uea`).
UEA_INPUT_SIZE = {"japanese-vowels": 12, "basic-motions": 6, "daphnet-gait": 6}


def data_source(text: str) -> str:
    """A data source: one of :data:`DATA_SOURCES` or an existing ``.csv`` or ``.npz`` file."""
    if text in DATA_SOURCES:
        return text
    suffix = Path(text).suffix
    if suffix not in (".npz", ".csv"):
        raise argparse.ArgumentTypeError(
            f"unknown data source {text!r}; use {', '.join(DATA_SOURCES)}, a .csv or a .npz file"
        )
    what = "a data set (.npz)" if suffix == ".npz" else "a CSV table (.csv)"
    try:
        input_file(text, what, (suffix,))
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def column_names(text: str) -> list[str]:
    """A comma-separated list of column names, e.g. ``hip,knee`` (at least one)."""
    names = [p.strip() for p in text.split(",")]
    if not text.strip() or any(n == "" for n in names):
        raise argparse.ArgumentTypeError(
            f"give comma-separated column names such as hip_angle,knee_angle; got {text!r}"
        )
    return names


def fractions(text: str) -> tuple[float, float, float]:
    """Three fractions ``train,val,test`` above 0 that add up to 1, e.g. ``0.7,0.15,0.15``."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"give three fractions train,val,test such as 0.7,0.15,0.15; got {text!r}"
        )
    values = [_float(p) for p in parts]
    if any(not 0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"each fraction must be above 0 and below 1, got {text}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise argparse.ArgumentTypeError(f"the fractions must add up to 1, got {text}")
    return values[0], values[1], values[2]


def csv_table(path: str | Path, spec: Any, classes: list[str] | None = None) -> None:
    """Read the whole table as ``spec`` (:class:`~edgedrnn.data.csv_table.CsvSpec`) says.

    Raises
    ------
    UsageError
        A missing column (the file's columns listed), an empty, non-numeric, NaN or
        infinite cell (line and column), too few rows.
    """
    from ..data.csv_table import read_table
    from ..data.sequences import DataError

    try:
        read_table(path, spec, classes)
    except (DataError, UnicodeDecodeError) as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def npz_file(text: str) -> str:
    """An existing ``.npz`` file."""
    try:
        input_file(text, "a data set (.npz)", (".npz",))
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def output_dir(path: str | Path, flag: str = "--out") -> Path:
    """Create ``path`` (and its parents) if needed and check it is a writable folder.

    Parameters
    ----------
    path : str or Path
        The folder named on the command line.
    flag : str
        The option that named it, for the message.

    Raises
    ------
    UsageError
        It is a file, or cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"output folder {path} is a file; choose another {flag}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create output folder {path} ({exc.strerror}); choose another {flag}"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {path} is not writable; choose another {flag}")
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
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (only where that CUDA device exists)."""
    index = name.removeprefix("cuda:")
    if name not in ("auto", "cpu", "cuda") and not (name.startswith("cuda:") and index.isdigit()):
        raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA device is available here; use --device cpu")
        if index.isdigit() and int(index) >= torch.cuda.device_count():
            raise UsageError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA "
                "device(s); use --device cuda"
            )
    return name


#: The option that sets each :class:`~edgedrnn.HardwareConfig` field.
HARDWARE_FLAGS = {
    "num_pe": "--num-pe",
    "bus_bits": "--bus-bits",
    "max_layers": "--max-layers",
    "max_hidden_size": "--max-hidden",
    "max_input_size": "--max-input",
    "clock_mhz": "--freq",
    "sparse_weights": "--sparse-weights",
}


def hardware_config(**fields: Any) -> HardwareConfig:
    """``HardwareConfig(**fields)``; its complaint names the option (``--num-pe``...).

    Raises
    ------
    UsageError
        The configuration is out of range.
    """
    from ..config import HardwareConfig

    try:
        return HardwareConfig(**fields)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        for name in fields:
            text = re.sub(rf"\b(HardwareConfig\.)?{name}\b", HARDWARE_FLAGS[name], text)
        raise UsageError(text) from None


def model_file(path: str | Path) -> tuple[Path, SequenceModel]:
    """Load a model file (``.pt`` written by ``edgedrnn train``) or a shipped model by name
    (``digits``, ``japanese-vowels``: :data:`edgedrnn.pretrained.MODELS`, when no such
    file exists); refuse anything else.

    Raises
    ------
    UsageError
        Missing, a folder, another kind of file (a ``.edrnn`` Program, an image...), or a
        PyTorch file that is not an edgedrnn model.
    """
    from ..pretrained import MODELS
    from ..train.checkpoint import load_model

    what = "a model file (.pt, written by edgedrnn train)"
    if str(path) in MODELS and not Path(path).exists():
        path = MODELS[str(path)]
    path = Path(path)
    if path.suffix == ".edrnn" and path.is_file():
        raise UsageError(
            f"{path} is a compiled Program, not a model; give the model .pt saved beside it"
        )
    input_file(path, what, (".pt",))
    try:
        model = load_model(path)
    except FileNotFoundError as exc:  # an exported model's Program (.edrnn) is not beside it
        missing = f"no such file {exc.filename}" if exc.filename else str(exc)
        raise UsageError(
            f"{path}: {missing}; an exported model needs the Program (.edrnn) saved with it, "
            "in the same folder"
        ) from None
    except OSError:
        raise
    except ValueError as exc:  # load_model's own message names the file and the fix
        raise UsageError(" ".join(str(exc).split())) from None
    except Exception as exc:  # a damaged model file: a missing entry, wrong shapes...
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise UsageError(f"{path} is not {what}: {reason}") from exc
    return path, model


def data_task_and_width(source: str) -> tuple[str | None, int | None]:
    """The task (ctc / classify / regress) and feature width of a data source, if known.

    Reads only the headers of a ``.npz`` file; None where the source does not say.
    """
    import numpy as np

    if source in DATA_SOURCES:
        if source == "spoken-digits":
            from ..data.spoken_digits import SpokenDigitsConfig

            return "ctc", SpokenDigitsConfig().n_mels
        return DATA_SOURCES[source], UEA_INPUT_SIZE.get(source, SYNTHETIC_INPUT_SIZE)
    if Path(source).suffix == ".csv":  # columns chosen on the command line or by the model
        return None, None
    from ..train.heads import TASK_OF_KIND

    try:
        with np.load(source, allow_pickle=False) as z:
            kind = str(z["kind"]) if "kind" in z.files else None
            width = None
            if "features.npy" in z.zip.namelist():
                with z.zip.open("features.npy") as f:
                    fmt = np.lib.format
                    read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
                    header = read.get(fmt.read_magic(f))
                    shape = header(f)[0] if header else ()
                width = int(shape[-1]) if len(shape) >= 2 else None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{source} is not a readable .npz data set ({exc})") from None
    return (TASK_OF_KIND.get(kind) if kind else None), width


def check_data_for_model(model: SequenceModel, source: str) -> None:
    """Refuse a data source whose task or feature width differs from the model's.

    Raises
    ------
    UsageError
        E.g. a classification model on CTC data, 8 features for a 40-input model, a CSV
        table for a model not trained on one, or a table without the model's columns.
    """
    if Path(source).suffix == ".csv":
        from ..data.csv_table import CsvSpec

        stored = model.metadata.get("data", {})
        if "csv" not in stored:
            raise UsageError(
                f"{source} is a CSV table but the model was trained on "
                f"{stored.get('source', 'unknown data')}; its columns are unknown, give "
                "--data of the model's training source"
            )
        csv_table(source, CsvSpec.from_dict(stored["csv"]), model.metadata.get("classes"))
    task, width = data_task_and_width(source)
    if task is not None and task != model.task:
        raise UsageError(
            f"the model is a {model.task} model but {source} is {task} data; give --data "
            f"of the model's task (it was trained on "
            f"{model.metadata.get('data', {}).get('source', 'unknown data')})"
        )
    expected = int(model.rnn.input_size)
    if width is not None and width != expected:
        raise UsageError(
            f"the model takes {expected} features per step but {source} has {width}; "
            "give --data with the model's features"
        )


def cache_folder(cache_dir: str | Path | None, flag: str = "--cache-dir or $EDGEDRNN_DATA") -> Path:
    """The spoken-digits cache root (created, and checked writable: generation locks it)."""
    from ..data.spoken_digits import cache_root

    return output_dir(cache_root(cache_dir), flag)
