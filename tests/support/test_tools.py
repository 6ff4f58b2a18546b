"""Finding external programs: the venv first, then PATH; a missing one says how to install it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edgedrnn.support.tools import ToolMissingError, find_tool


def test_finds_a_program_on_path():
    assert Path(find_tool("sh", "nothing")).name == "sh"


def test_finds_a_program_beside_the_python_first():
    here = Path(sys.executable).parent / Path(sys.executable).name
    assert find_tool(Path(sys.executable).name, "nothing") == str(here)


def test_missing_program_names_the_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissingError, match="`apt-get install nope`"):
        find_tool("edgedrnn-no-such-tool", "`apt-get install nope`")


def test_missing_program_raises_the_callers_error(monkeypatch):
    class NopeError(ToolMissingError):
        pass

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NopeError):
        find_tool("edgedrnn-no-such-tool", "hint", NopeError)
