"""edgedrnn: the EdgeDRNN delta-network GRU accelerator, end to end.

DeltaGRU (PyTorch) → :func:`compile` → :class:`Program` → :func:`run` on a backend
("reference", "torch", "cpu", "rtl", "soc"), all equal to the integer.

``import edgedrnn`` needs only NumPy: the names that need PyTorch (:class:`DeltaGRU`,
:func:`compile`) and the streaming :class:`Session` are imported on first use, and a missing
extra is named in the error (see :mod:`edgedrnn.support.extras`).
"""

from __future__ import annotations

from typing import Any

from .config import VERSION as __version__
from .config import HardwareConfig, HardwareLimitError
from .program import Program, ProgramFormatError
from .result import Result
from .runner import InputClippedWarning, run

#: Public names imported on first use: name -> (module, what needs it).
_LAZY = {
    "DeltaGRU": ("edgedrnn.model", "DeltaGRU"),
    "DeltaGRUState": ("edgedrnn.model", "DeltaGRU"),
    "compile": ("edgedrnn.compiler", "compile"),
    "QuantizationWarning": ("edgedrnn.compiler", "compile"),
    "Session": ("edgedrnn.session", "Session"),
    "prune": ("edgedrnn.sparse.pruning", "prune"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgedrnn' has no attribute {name!r}")
    module, purpose = _LAZY[name]
    from .support.extras import require

    value = getattr(require(module, f"edgedrnn.{purpose}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DeltaGRU",
    "DeltaGRUState",
    "HardwareConfig",
    "HardwareLimitError",
    "InputClippedWarning",
    "Program",
    "ProgramFormatError",
    "QuantizationWarning",
    "Result",
    "Session",
    "__version__",
    "compile",
    "prune",
    "run",
]
