"""The shared on-disk cache: its root, the lock, atomic files and folders."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from edgedrnn.support.cache import (
    CACHE_ENV,
    cache_home,
    locked,
    make_temp_dir,
    publish_dir,
    write_atomic,
)


def test_cache_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_home("verilator") == tmp_path / "verilator"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_home("x") == Path.home() / ".cache" / "edgedrnn" / "x"


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "entry.bin"
    write_atomic(path, b"one")
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.bin"]


def test_publish_dir_keeps_the_first_entry(tmp_path):
    first = make_temp_dir(tmp_path, "key")
    (first / "lib").write_text("first")
    publish_dir(first, tmp_path / "key")
    second = make_temp_dir(tmp_path, "key")
    (second / "lib").write_text("second")
    publish_dir(second, tmp_path / "key")  # lost the race: dropped, no error
    assert (tmp_path / "key" / "lib").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def _append_under_lock(args: tuple[str, int]) -> None:
    folder, n = args
    log = Path(folder) / "log"
    with locked(Path(folder) / "sub" / ".lock"):
        text = log.read_text() if log.exists() else ""
        for _ in range(n):
            os.sched_yield()
        write_atomic(log, (text + "x").encode())


def test_lock_serializes_processes(tmp_path):
    with mp.get_context("fork").Pool(4) as pool:
        pool.map(_append_under_lock, [(str(tmp_path), 200)] * 12)
    assert (tmp_path / "log").read_text() == "x" * 12
