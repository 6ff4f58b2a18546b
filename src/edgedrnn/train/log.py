"""Per-epoch JSON log (one JSON object per line) and rich progress bars."""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class JsonLog:
    """Appends one JSON object per epoch to ``path`` (JSON Lines), flushed immediately."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record}
        with self.path.open("a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")

    def read(self) -> list[dict[str, Any]]:
        """All records written so far (an empty list when there is no log yet)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


class Bars(AbstractContextManager):
    """Rich progress bars for epochs and batches (silent when ``enabled`` is False)."""

    def __init__(self, enabled: bool = True, verbose: bool = True) -> None:
        self.enabled = enabled
        self.verbose = verbose
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            transient=False,
            disable=not enabled,
        )

    def __enter__(self) -> Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def add(self, description: str, total: int) -> int:
        return self.progress.add_task(description, total=total, info="")

    def update(self, task: int, advance: int = 1, info: str = "") -> None:
        self.progress.update(task, advance=advance, info=info)

    def remove(self, task: int) -> None:
        self.progress.remove_task(task)

    def print(self, *args: Any) -> None:
        if self.verbose:
            self.progress.console.print(*args)
