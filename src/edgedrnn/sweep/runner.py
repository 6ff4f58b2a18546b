"""Running a sweep's jobs as Ray tasks: cached, retried once, estimates first.

:func:`run_sweep` runs a :class:`~edgedrnn.sweep.spec.Spec`:

1. every point's ``estimate`` job (the perf model);
2. pruning: ``max_latency_us`` drops points whose estimated mean latency per step exceeds
   it, ``device_fit`` those whose network exceeds the configuration or whose resource
   estimate exceeds the device (:mod:`edgedrnn.sweep.fit`);
3. the other jobs (cycles, synth, accuracy) of the points left.

:func:`run_jobs` does the work of each phase. A job whose key (:mod:`edgedrnn.sweep.keys`)
is in the cache is not run. The others become Ray tasks (``num_cpus=1``; synthesis asks for
its threads and ``memory_gb``), at most ``workers`` at a time; each result is stored in the
cache as soon as it arrives, so a killed sweep resumes where it stopped. A job that raises,
or whose worker dies (killed, out of memory, node lost), is submitted once more; a second
failure is recorded with its message and log tail, and not cached.

Ray runs on this machine (``ray.init(num_cpus=workers)``) unless an ``address`` names a
cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); a Ray already initialized by
the caller is used as it is.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..support.extras import require
from .jobs import JOBS, Job, JobFunction, jobs_for
from .keys import ResultCache, job_context, job_key
from .pareto import pareto_front
from .result import JobRecord, SweepResult, point_row
from .spec import Spec

__all__ = ["TAIL_LINES", "Status", "connect", "execute", "run_jobs", "run_sweep"]

#: Lines of a failed job's log kept in its record.
TAIL_LINES = 40


def front_lines(rows: list[dict[str, Any]], front: list[int]) -> tuple[str, ...]:
    """The Pareto points ``front`` of ``rows`` as lines: label, latency, LUTs, error."""
    out = []
    for i in front:
        r = rows[i]
        figures = [
            f"{r['latency_us']:.1f} µs" if r.get("latency_us") is not None else None,
            f"{r['luts']:,} LUT" if r.get("luts") is not None else None,
            f"{r.get('metric', 'error')} {r['error']:.4g}" if r.get("error") is not None else None,
        ]
        out.append(f"{r['label']}: " + ", ".join(f for f in figures if f))
    return tuple(out)


@dataclass
class Status:
    """Live counts for a progress display.

    Attributes
    ----------
    total, done, cached, running, failed, retried, pruned : int
        Jobs: to run (after pruning), finished now, from the cache, in flight, failed both
        attempts, resubmitted after a failure; points pruned.
    pareto : int
        Points on the current Pareto front.
    front : tuple of str
        Those points: each one's label and figures (:func:`front_lines`).
    phase : str
        ``"estimates"`` or ``"jobs"``.
    """

    total: int = 0
    done: int = 0
    cached: int = 0
    running: int = 0
    failed: int = 0
    retried: int = 0
    pruned: int = 0
    pareto: int = 0
    front: tuple[str, ...] = ()
    phase: str = "estimates"

    @property
    def finished(self) -> int:
        return self.done + self.cached + self.failed


def execute(function: JobFunction, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run one job (on a worker): its result, or its error and log tail; never raises.

    Returns
    -------
    dict
        ``ok``, ``result`` or ``error`` and ``log_tail``, ``seconds``, ``pid``, ``node``.
    """
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def log(line: str) -> None:
        tail.append(str(line).rstrip("\n"))

    t0 = time.monotonic()
    base = {"pid": os.getpid(), "node": os.uname().nodename}
    try:
        result = function(inputs, log)
        json.dumps(result)  # JSON-able, or a failure here rather than in the cache
        return {"ok": True, "result": result, "seconds": time.monotonic() - t0, **base}
    except Exception as exc:
        lines = list(tail)
        extra = getattr(exc, "log_tail", "")  # SynthesisError carries its tool's log
        if extra:
            lines += str(extra).splitlines()[-TAIL_LINES:]
        lines += traceback.format_exc().splitlines()[-12:]
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
            "log_tail": "\n".join(lines[-TAIL_LINES:]),
            "seconds": time.monotonic() - t0,
            **base,
        }


@contextlib.contextmanager
def connect(address: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Ray, initialized for the block: a cluster at ``address`` or this machine.

    Locally it gets ``workers`` CPUs (default: all); an already initialized Ray is used
    as it is and left running.
    """
    ray = require("ray", "edgedrnn sweep")
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _resources(kind: str, spec: Spec | None) -> dict[str, Any]:
    if kind == "synth" and spec is not None:
        return {
            "num_cpus": spec.synth.threads,
            "memory": int(spec.synth.memory_gb * (1 << 30)),
        }
    return {"num_cpus": 1}


def run_jobs(
    jobs: Sequence[Job],
    *,
    cache: ResultCache,
    functions: Mapping[str, JobFunction] | None = None,
    resources: Callable[[str], dict[str, Any]] | None = None,
    workers: int | None = None,
    status: Status | None = None,
    on_update: Callable[[Status, dict[str, JobRecord]], None] | None = None,
    retries: int = 1,
    records: dict[str, JobRecord] | None = None,
    start: Callable[[], Any] | None = None,
) -> dict[str, JobRecord]:
    """Run ``jobs`` on the Ray of :func:`connect` (initialized by the caller).

    Parameters
    ----------
    jobs : sequence of Job
        The jobs; equal keys run once.
    cache : ResultCache
        Where results are looked up and stored.
    functions : mapping or None
        Job functions by kind (default :data:`~edgedrnn.sweep.jobs.JOBS`).
    resources : callable or None
        Ray resources of a task by kind (default ``num_cpus=1``).
    workers : int or None
        Tasks in flight at most (default: as many as Ray schedules).
    status, on_update : Status, callable
        Live counts, and a function called with them and the records after every change.
    retries : int
        Attempts after the first for a failed job.
    records : dict or None
        Records so far (key -> record); new ones are added to it.
    start : callable or None
        Called before the first task is submitted, e.g. to initialize Ray only when a job
        is not in the cache (default: Ray must be initialized).

    Returns
    -------
    dict
        Key -> :class:`JobRecord` of every job.
    """
    ray = require("ray", "edgedrnn sweep")
    functions = {**JOBS, **(functions or {})}
    resources = resources or (lambda kind: {"num_cpus": 1})
    status = status or Status()
    records = {} if records is None else records
    notify = on_update or (lambda s, r: None)
    contexts: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, Job]] = []
    new_hits = 0
    for job in jobs:
        if job.kind not in contexts:
            contexts[job.kind] = job_context(job.kind, functions[job.kind])
        key = job_key(job.kind, job.inputs, contexts[job.kind])
        if key in records or any(k == key for k, _ in todo):
            continue
        hit = cache.get(key)
        if hit is not None:
            records[key] = JobRecord(
                key, job.kind, "cached", hit.get("result"), seconds=float(hit.get("seconds", 0.0))
            )
            status.cached += 1
            new_hits += 1
        else:
            todo.append((key, job))
    status.total += len(todo) + new_hits
    notify(status, records)
    if not todo:
        return records
    if start is not None:
        start()
    remote = ray.remote(execute)
    limit = workers or len(todo) or 1
    pending = list(todo)
    in_flight: dict[Any, tuple[str, Job, int, list[str]]] = {}

    def submit(key: str, job: Job, attempt: int, errors: list[str]) -> None:
        task = remote.options(max_retries=0, name=f"edgedrnn-{job.kind}", **resources(job.kind))
        ref = task.remote(functions[job.kind], job.inputs)
        in_flight[ref] = (key, job, attempt, errors)

    while pending or in_flight:
        while pending and len(in_flight) < limit:
            key, job = pending.pop(0)
            submit(key, job, 1, [])
        status.running = len(in_flight)
        notify(status, records)
        ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
        for ref in ready:
            key, job, attempt, errors = in_flight.pop(ref)
            try:
                out = ray.get(ref)
            except ray.exceptions.RayError as exc:
                text = " ".join(str(exc).split())
                out = {
                    "ok": False,
                    "error": f"{type(exc).__name__}: {text[:300]}",
                    "log_tail": str(exc)[-4000:],
                }
            if out["ok"]:
                rec = JobRecord(
                    key,
                    job.kind,
                    "done",
                    out["result"],
                    attempts=attempt,
                    seconds=float(out["seconds"]),
                    errors=errors,
                )
                cache.put(
                    key,
                    {
                        "kind": job.kind,
                        "inputs": job.inputs,
                        "result": out["result"],
                        "seconds": out["seconds"],
                        "node": out.get("node"),
                        "finished": time.time(),
                    },
                )
                records[key] = rec
                status.done += 1
            elif attempt <= retries:
                status.retried += 1
                submit(key, job, attempt + 1, [*errors, out["error"]])
            else:
                records[key] = JobRecord(
                    key,
                    job.kind,
                    "failed",
                    None,
                    out["error"],
                    out.get("log_tail", ""),
                    attempt,
                    errors=[*errors, out["error"]],
                )
                status.failed += 1
        status.running = len(in_flight)
        notify(status, records)
    return records


def _prune(row_est: dict[str, Any] | None, max_latency_us: float | None, fit: bool) -> str:
    if row_est is None:
        return ""
    if max_latency_us is not None and row_est["latency_us"] > max_latency_us:
        return f"estimated {row_est['latency_us']:.3g} µs > {max_latency_us:g} µs"
    if fit:
        if row_est.get("network_fit"):
            return row_est["network_fit"]
        if not row_est["device_fit"]["fits"]:
            return row_est["device_fit"]["reason"]
    return ""


def run_sweep(
    spec: Spec,
    *,
    address: str | None = None,
    workers: int | None = None,
    max_latency_us: float | None = None,
    device_fit: bool = False,
    cache: ResultCache | None = None,
    functions: Mapping[str, JobFunction] | None = None,
    on_update: Callable[[Status], None] | None = None,
) -> SweepResult:
    """Run ``spec``: estimates, pruning, then the other jobs (see the module docstring).

    Parameters
    ----------
    spec : Spec
        The sweep.
    address : str or None
        A Ray cluster (None: a local Ray, or the one already initialized).
    workers : int or None
        Local Ray's CPUs, and the tasks in flight at most.
    max_latency_us : float or None
        Prune points whose estimated mean latency per step is above it.
    device_fit : bool
        Prune points that do not fit their configuration or device.
    cache : ResultCache or None
        The result cache (default ``$EDGEDRNN_CACHE/sweep``).
    functions : mapping or None
        Job functions by kind, replacing those of :data:`~edgedrnn.sweep.jobs.JOBS`.
    on_update : callable or None
        Called with the :class:`Status` after every change.
    """
    t0 = time.monotonic()
    cache = cache or ResultCache()
    fns = {**JOBS, **(functions or {})}
    point_jobs = [jobs_for(spec, p) for p in spec.points]
    ctx = {k: job_context(k, fns[k]) for k in spec.jobs}
    keys = [{k: job_key(k, j.inputs, ctx[k]) for k, j in pj.items()} for pj in point_jobs]
    status = Status()
    records: dict[str, JobRecord] = {}
    pruned = [""] * len(spec.points)

    def rows() -> list[dict[str, Any]]:
        return [
            point_row(p, {k: records.get(key) for k, key in keys[i].items()}, pruned[i])
            for i, p in enumerate(spec.points)
        ]

    def update(s: Status, recs: dict[str, JobRecord]) -> None:
        if on_update is not None:
            now = rows()
            front = pareto_front(now)
            s.pareto, s.front = len(front), front_lines(now, front)
            on_update(s)

    def resources(kind: str) -> dict[str, Any]:
        return _resources(kind, spec)

    started: list[Any] = []
    with contextlib.ExitStack() as stack:

        def start() -> None:
            if not started:  # the first phase with work to do starts Ray
                started.append(stack.enter_context(connect(address, workers)))

        run_phase = functools.partial(
            run_jobs,
            cache=cache,
            functions=fns,
            resources=resources,
            workers=workers,
            status=status,
            on_update=update,
            records=records,
            start=start,
        )
        run_phase([pj["estimate"] for pj in point_jobs])
        for i in range(len(spec.points)):
            rec = records.get(keys[i]["estimate"])
            est = rec.result if rec is not None and rec.status != "failed" else None
            pruned[i] = _prune(est, max_latency_us, device_fit)
        status.pruned = sum(1 for p in pruned if p)
        status.phase = "jobs"
        rest = [
            j
            for i, pj in enumerate(point_jobs)
            if not pruned[i] and records[keys[i]["estimate"]].status != "failed"
            for k, j in pj.items()
            if k != "estimate"
        ]
        run_phase(rest)
    return SweepResult(spec.name, rows(), records, seconds=time.monotonic() - t0)
