"""On-disk caches shared between processes: one root, an exclusive lock, atomic writes.

Every cache of the toolkit (Verilator builds, generated data sets, synthesis runs) lives
under :func:`cache_home` and is filled with the same two steps: take :func:`locked` on the
entry, check again whether another process filled it meanwhile, then publish the result
with :func:`write_atomic` (a file) or :func:`publish_dir` (a folder), so a reader never
sees a half-written entry.

Example::

    root = cache_home("verilator")
    with locked(root / f"{key}.lock"):
        if not (root / key).exists():
            tmp = make_temp_dir(root, key)
            build_into(tmp)
            publish_dir(tmp, root / key)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Environment variable that moves the whole cache (default ``~/.cache/edgedrnn``).
CACHE_ENV = "EDGEDRNN_CACHE"


def cache_home(*parts: str) -> Path:
    """The cache folder ``$EDGEDRNN_CACHE/<parts...>`` (default ``~/.cache/edgedrnn``)."""
    env = os.environ.get(CACHE_ENV)
    base = Path(env) if env else Path.home() / ".cache" / "edgedrnn"
    return base.joinpath(*parts)


@contextlib.contextmanager
def locked(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created with its parents) for the block."""
    path = Path(lock_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # open() honours the umask
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def make_temp_dir(root: str | os.PathLike[str], key: str) -> Path:
    """A fresh private folder beside the entry ``root/key``, for building it."""
    Path(root).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{key}.tmp-", dir=root))


def publish_dir(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Rename the built folder ``tmp`` to ``final`` (removing ``tmp`` if ``final`` exists)."""
    tmp, final = Path(tmp), Path(final)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.exists():
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
