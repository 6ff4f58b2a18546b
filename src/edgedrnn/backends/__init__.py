"""Backends: each runs a :class:`~edgedrnn.Program` to the same integers.

A backend module exposes ``run_program(program, x_q, theta_x_q, theta_h_q, **options)``
taking the validated raw inputs (int16 (T, I)) and per-step per-layer raw thresholds
(int64 (T, L) each) and returning a :class:`~edgedrnn.result.Result`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Backend name -> module that implements it (imported on first use).
BACKENDS = {
    "reference": "edgedrnn.backends.reference",
    "torch": "edgedrnn.backends.torch_backend",
    "cpu": "edgedrnn.backends.cpu",
    "rtl": "edgedrnn.backends.rtl",
}


def get_backend(name: str) -> ModuleType:
    """Import and return the module of backend ``name``."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(BACKENDS[name])
    except ModuleNotFoundError as exc:
        if exc.name == BACKENDS[name]:
            raise ValueError(f"backend {name!r} is not available in this build") from exc
        raise
