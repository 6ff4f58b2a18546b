"""A sweep's outcome: each job's record, and a row of figures per point.

A point's row puts its jobs' results side by side: the estimate (latency, GOp/s, DRAM
bytes, resource estimate), the RTL's cycles, the synthesis report (LUT/FF/DSP/BRAM, Fmax),
the accuracy; and the three figures the Pareto front compares:

* ``latency_us``: the RTL's mean cycles per step at the point's clock where the cycles job
  ran, else the estimate's (``latency_source`` says which);
* ``luts``: the synthesized LUTs where synthesis ran, else the estimate (``luts_source``);
* ``error``: the task metric (WER %, error %, RMSE; lower is better) where accuracy ran.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .pareto import DEFAULT_OBJECTIVES, objectives_of, pareto_front
from .spec import Point

__all__ = ["JobRecord", "SweepResult", "point_row"]


@dataclass
class JobRecord:
    """One job's outcome.

    Attributes
    ----------
    key, kind : str
        Its cache key and kind.
    status : str
        ``"done"`` (ran now), ``"cached"`` (from the cache) or ``"failed"`` (both attempts).
    result : dict or None
        The job function's result.
    error, log_tail : str
        A failure's message and the last lines of its log (and traceback).
    attempts : int
        Attempts made this run (0 for a cached result).
    seconds : float
        The successful attempt's duration (as first run, for a cached one).
    errors : list of str
        Every failed attempt's message (a retried job keeps its first failure here).
    """

    key: str
    kind: str
    status: str
    result: dict[str, Any] | None = None
    error: str = ""
    log_tail: str = ""
    attempts: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def point_row(
    point: Point, records: dict[str, JobRecord | None], pruned: str = ""
) -> dict[str, Any]:
    """The figures of ``point`` from its jobs' records (kind -> record, None: not run)."""
    row: dict[str, Any] = {"label": point.label, **point.to_dict()}
    failed = [k for k, r in records.items() if r is not None and r.status == "failed"]
    missing = [k for k, r in records.items() if r is None]
    if pruned:
        row["status"], row["reason"] = "pruned", pruned
    elif failed:
        row["status"] = "failed"
        row["reason"] = "; ".join(f"{k}: {records[k].error}" for k in failed)  # type: ignore[union-attr]
    elif missing:
        row["status"], row["reason"] = "pending", ""
    else:
        row["status"], row["reason"] = "ok", ""

    def result(kind: str) -> dict[str, Any] | None:
        r = records.get(kind)
        return r.result if r is not None and r.status != "failed" else None

    est = result("estimate")
    if est:
        row["est_latency_us"] = est["latency_us"]
        row["est_max_latency_us"] = est.get("max_latency_us")
        row["effective_gops"] = est["effective_gops"]
        row["dram_bytes_per_step"] = est["dram_bytes_per_step"]
        row["lut_estimate"] = est["device_fit"]["estimate"]["lut"]
    cyc = result("cycles")
    if cyc:
        row["rtl_mean_cycles"] = cyc["mean_cycles"]
        row["rtl_latency_us"] = cyc["latency_us"]
    syn = result("synth")
    if syn:
        for k in ("lut", "ff", "dsp", "bram", "fmax_mhz", "fits", "meets_timing", "pnr_error"):
            row[k] = syn.get(k)
    acc = result("accuracy")
    if acc:
        row["metric"] = acc["metric"]
        row["error"] = acc["value"]
    if cyc:
        row["latency_us"], row["latency_source"] = cyc["latency_us"], "rtl"
    elif est:
        row["latency_us"], row["latency_source"] = est["latency_us"], "estimate"
    if syn:
        row["luts"], row["luts_source"] = syn["lut"], "synth"
    elif est:
        row["luts"], row["luts_source"] = row["lut_estimate"], "estimate"
    return row


@dataclass
class SweepResult:
    """Everything a sweep found.

    Attributes
    ----------
    name : str
        The spec's name.
    rows : list of dict
        One per point (:func:`point_row`), in the spec's order.
    records : dict
        Job key -> :class:`JobRecord`.
    pareto : list of int
        Indices of the Pareto-optimal rows.
    objectives : list of (str, str)
        What the front compares.
    seconds : float
        Wall time of the sweep.
    """

    name: str
    rows: list[dict[str, Any]]
    records: dict[str, JobRecord]
    pareto: list[int] = field(default_factory=list)
    objectives: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not self.objectives:
            self.objectives = objectives_of(self.rows, DEFAULT_OBJECTIVES)
        if not self.pareto:
            self.pareto = pareto_front(self.rows, self.objectives)
        for i, row in enumerate(self.rows):
            row["pareto"] = i in self.pareto

    @property
    def failed(self) -> list[JobRecord]:
        """The jobs that failed both attempts."""
        return [r for r in self.records.values() if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        """Jobs by status (done, cached, failed) and points by status (ok, pruned, failed)."""
        out: dict[str, int] = {}
        for r in self.records.values():
            out[r.status] = out.get(r.status, 0) + 1
        for row in self.rows:
            out[f"points_{row['status']}"] = out.get(f"points_{row['status']}", 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: name, objectives, rows (with ``pareto`` flags), counts, the jobs that
        succeeded on their retry (``retried``) and those that failed (``failures``)."""
        return {
            "name": self.name,
            "seconds": round(self.seconds, 3),
            "objectives": [list(o) for o in self.objectives],
            "pareto": self.pareto,
            "counts": self.counts(),
            "rows": self.rows,
            "retried": [
                {"key": r.key, "kind": r.kind, "attempts": r.attempts, "errors": r.errors}
                for r in self.records.values()
                if r.status == "done" and r.errors
            ],
            "failures": [
                {k: r.to_dict()[k] for k in ("key", "kind", "error", "log_tail", "errors")}
                for r in self.failed
            ],
        }
