"""Finding the external programs the toolkit drives (Verilator, Yosys, nextpnr, espeak-ng)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class ToolMissingError(RuntimeError):
    """An external program is not installed; the message says how to install it."""


def find_tool(
    name: str, install_hint: str, error: type[ToolMissingError] = ToolMissingError
) -> str:
    """Path of the executable ``name``: next to the running Python first, then on ``PATH``.

    Looking beside ``sys.executable`` finds tools installed into the virtual environment
    (the YoWASP packages) even when the environment is not activated.

    Parameters
    ----------
    name : str
        The executable's name.
    install_hint : str
        How to install it, e.g. "`apt-get install verilator`"; it ends the error message.
    error : type
        The :class:`ToolMissingError` subclass to raise (e.g. the rtl backend's
        ``VerilatorNotFoundError``).

    Raises
    ------
    ToolMissingError
        ``name`` is in neither place (an instance of ``error``).
    """
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise error(f"{name} is not installed (not on PATH); install it with {install_hint}")
