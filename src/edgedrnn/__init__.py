"""edgedrnn: the EdgeDRNN delta-network GRU accelerator, end to end.

DeltaGRU (PyTorch) → :func:`compile` → :class:`Program` → :func:`run` on a backend
("reference", "torch", "cpu", "rtl"), all equal to the integer.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .compiler import QuantizationWarning, compile
from .model import DeltaGRU, DeltaGRUState
from .program import (
    HardwareConfig,
    HardwareLimitError,
    Program,
    ProgramFormatError,
)
from .result import Result
from .runner import InputClippedWarning, run


def __getattr__(name: str):
    if name == "Session":  # the streaming API lives with the cpu runtime
        from .session import Session

        return Session
    raise AttributeError(f"module 'edgedrnn' has no attribute {name!r}")


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
    "run",
]
