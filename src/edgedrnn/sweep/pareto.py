"""The Pareto front of a sweep: the points no other point beats in every objective.

An objective is a row key and a direction (``"min"`` or ``"max"``); a point dominates
another when it is at least as good in every objective and better in one. Rows missing an
objective (pruned, failed, not yet run) take no part.

Example::

    front = pareto_front(rows, [("latency_us", "min"), ("luts", "min")])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["DEFAULT_OBJECTIVES", "dominates", "objectives_of", "pareto_front"]

#: The sweep's objectives: latency per step, LUTs (synthesized, else estimated), the task's
#: error metric (lower is better for all: WER, error %, RMSE).
DEFAULT_OBJECTIVES: tuple[tuple[str, str], ...] = (
    ("latency_us", "min"),
    ("luts", "min"),
    ("error", "min"),
)


def _signed(row: dict[str, Any], objectives: Sequence[tuple[str, str]]) -> tuple[float, ...]:
    return tuple(float(row[k]) if d == "min" else -float(row[k]) for k, d in objectives)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere (both minimized)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def objectives_of(
    rows: Sequence[dict[str, Any]],
    objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES,
) -> list[tuple[str, str]]:
    """The objectives some row has a value for."""
    return [(k, d) for k, d in objectives if any(r.get(k) is not None for r in rows)]


def pareto_front(
    rows: Sequence[dict[str, Any]],
    objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES,
) -> list[int]:
    """Indices of the non-dominated rows, in row order.

    Parameters
    ----------
    rows : sequence of dict
        The points' figures.
    objectives : sequence of (key, "min" | "max")
        What is compared; objectives no row has are dropped, rows missing one of the rest
        (or whose ``status`` is not ``"ok"``, where given) are left out.
    """
    for key, direction in objectives:
        if direction not in ("min", "max"):
            raise ValueError(f"objective {key!r}: direction must be 'min' or 'max'")
    used = objectives_of(rows, objectives)
    if not used:
        return []
    cand = [
        i
        for i, r in enumerate(rows)
        if r.get("status", "ok") == "ok" and all(r.get(k) is not None for k, _ in used)
    ]
    vals = {i: _signed(rows[i], used) for i in cand}
    return [i for i in cand if not any(dominates(vals[j], vals[i]) for j in cand if j != i)]
