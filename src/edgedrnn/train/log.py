"""Per-epoch JSON log (one JSON object per line); the progress bars are
:class:`edgedrnn.support.progress.Bars`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


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
