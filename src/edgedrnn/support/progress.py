"""Progress bars for long work (training, data generation, evaluation, synthesis, sweeps).

One look everywhere: description, bar, done/total, elapsed and remaining time, and a free
``info`` field; a task without a total shows a spinner instead of a bar. Bars go to stderr
so that a command's table or JSON on stdout stays clean, and ``enabled=False`` makes them
silent (tests, ``--quiet``).

Example::

    with Bars() as bars:
        task = bars.add("epochs", total=10)
        for epoch in range(10):
            ...
            bars.update(task, info=f"loss {loss:.3f}")
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bars(AbstractContextManager):
    """Rich progress bars; silent when ``enabled`` is False.

    Parameters
    ----------
    enabled:
        Show the bars (False: every call is a no-op but :meth:`print` still prints when
        ``verbose``).
    verbose:
        Let :meth:`print` write messages above the bars.
    console:
        Where to draw (default: a console on stderr).
    """

    def __init__(
        self, enabled: bool = True, verbose: bool = True, console: Console | None = None
    ) -> None:
        self.enabled = enabled
        self.verbose = verbose
        self.progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console or Console(stderr=True),
            transient=False,
            disable=not enabled,
        )

    def __enter__(self) -> Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def add(self, description: str, total: int | None) -> int:
        """A new task; ``total=None`` for work of unknown length (a spinner)."""
        return self.progress.add_task(description, total=total, info="")

    def update(
        self,
        task: int,
        advance: int = 1,
        info: str | None = None,
        description: str | None = None,
    ) -> None:
        """Advance ``task`` and optionally change its ``info`` text or description."""
        fields: dict[str, Any] = {}
        if info is not None:
            fields["info"] = info
        if description is not None:
            fields["description"] = description
        self.progress.update(task, advance=advance, **fields)

    def remove(self, task: int) -> None:
        """Take a finished task off the display."""
        self.progress.remove_task(task)

    def print(self, *args: Any) -> None:
        """Print above the bars (when ``verbose``)."""
        if self.verbose:
            self.progress.console.print(*args)
