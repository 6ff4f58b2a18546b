"""Finding the external programs the toolkit drives (Verilator, Yosys, nextpnr, espeak-ng)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class ToolMissingError(RuntimeError):
    """An external program is not installed; the message says how to install it."""


def find_tool(name: str, install_hint: str) -> str:
    """Path of the executable ``name``: next to the running Python first, then on ``PATH``.

    Looking beside ``sys.executable`` finds tools installed into the virtual environment
    (the YoWASP packages) even when the environment is not activated.

    Args:
        name: the executable's name.
        install_hint: how to install it, e.g. "`apt-get install verilator`"; it ends the
            error message.

    Raises:
        ToolMissingError: ``name`` is in neither place.
    """
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ToolMissingError(f"{name} is not installed (not on PATH); install it with {install_hint}")
