"""The occupancy of the bundled trained model: from metadata shipped with it, or measured by
running it on cached test data. The report adds a row for it next to the fixed occupancies.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..pretrained import DIGITS_PROGRAM, FOLDER

__all__ = [
    "MeasuredSparsity",
    "NotMeasuredError",
    "find_measured_sparsity",
    "measure_pretrained",
]

#: What loading the cached data set can raise when it is not usable here: an extra missing
#: (ImportError), espeak-ng missing or failing (RuntimeError, SubprocessError), unreadable
#: files (OSError), a cache that does not fit (ValueError).
_DATA_ERRORS = (ImportError, OSError, RuntimeError, ValueError, subprocess.SubprocessError)


class NotMeasuredError(RuntimeError):
    """The bundled model's occupancy could not be measured; the message says why."""


@dataclass
class MeasuredSparsity:
    """Occupancy measured by running a trained model on data.

    Attributes
    ----------
    source : str
        The model (or metadata file) the figures are of.
    occ_x, occ_h : list of float
        Δx and Δh occupancy per layer.
    theta_x, theta_h : float or None
        The model's thresholds.
    notes : str
        How it was measured.
    extra : dict
        Anything else the metadata gave.
    """

    source: str
    occ_x: list[float]
    occ_h: list[float]
    theta_x: float | None = None
    theta_h: float | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """The mean occupancy over layers and both streams."""
        vals = self.occ_x + self.occ_h
        return sum(vals) / len(vals)


def measure_pretrained(n: int = 10, backend: str = "reference") -> MeasuredSparsity:
    """Occupancy of the bundled trained model (``pretrained/digits.edrnn``) on test data.

    Runs the compiled program on the first ``n`` test utterances of the spoken-digits data
    set, if that data set is already in the cache (it is not generated here), and counts
    the deltas passed on per layer.

    Parameters
    ----------
    n : int
        Test utterances to run.
    backend : str
        The backend that runs them.

    Raises
    ------
    NotMeasuredError
        The model or the cached data set is missing, or the data set cannot be loaded here.
    """
    from ..program import Program
    from ..runner import run

    path = DIGITS_PROGRAM
    if not path.exists():
        raise NotMeasuredError(f"no bundled model at {path}")
    try:
        from ..data import spoken_digits as sd

        root = sd.cache_root()
        cached = root.is_dir() and any(root.iterdir())
        data = sd.load("test", n=n, progress=False, workers=1) if cached else None
    except _DATA_ERRORS as exc:
        raise NotMeasuredError(f"the spoken-digits test data could not be loaded: {exc}") from exc
    if data is None:
        raise NotMeasuredError(f"no spoken-digits data in the cache ({root})")
    program = Program.load(path)
    sizes = np.asarray([(lay.input_size, lay.hidden_size) for lay in program.layers], float)
    total = np.zeros_like(sizes)
    steps = 0
    for x in data.features[:n]:
        res = run(program, x, backend=backend)
        total += res.nonzero.sum(axis=0)
        steps += res.nonzero.shape[0]
    occ = total / (steps * sizes)
    return MeasuredSparsity(
        source="src/edgedrnn/pretrained/digits.edrnn",
        occ_x=occ[:, 0].tolist(),
        occ_h=occ[:, 1].tolist(),
        theta_x=program.theta_x[0],
        theta_h=program.theta_h[0],
        notes=(
            f"(2L-256H spoken digits, Θ = {program.theta_x[0]:.4f}; {len(data.features[:n])} "
            f"test utterances, {steps} steps, {backend} backend)"
        ),
    )


def find_measured_sparsity() -> MeasuredSparsity | None:
    """The measured occupancy of the bundled trained model, if ``edgedrnn/pretrained`` has one.

    Looks for ``*.json`` files next to the pretrained programs with a ``"sparsity"`` entry
    (``{"occupancy_x": [...], "occupancy_h": [...]}`` per layer, or ``temporal_sparsity``);
    None when there is none.
    """
    root = FOLDER
    if not root.is_dir():
        return None
    for path in sorted(root.glob("*.json")):
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        sp = meta.get("sparsity") if isinstance(meta, dict) else None
        if not isinstance(sp, dict):
            continue
        if "occupancy_x" in sp and "occupancy_h" in sp:
            ox, oh = sp["occupancy_x"], sp["occupancy_h"]
        elif "temporal_sparsity_x" in sp and "temporal_sparsity_h" in sp:
            ox = [1 - v for v in _as_list(sp["temporal_sparsity_x"])]
            oh = [1 - v for v in _as_list(sp["temporal_sparsity_h"])]
        else:
            continue
        repo = root.parent.parent.parent
        return MeasuredSparsity(
            source=str(path.relative_to(repo)) if repo in path.parents else str(path),
            occ_x=[float(v) for v in _as_list(ox)],
            occ_h=[float(v) for v in _as_list(oh)],
            theta_x=meta.get("theta_x"),
            theta_h=meta.get("theta_h"),
            notes=str(meta.get("dataset", "")),
        )
    return None


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else [v]
