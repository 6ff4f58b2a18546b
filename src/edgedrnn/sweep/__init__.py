"""Design-space exploration: sweeps of accelerator instances, thresholds and devices on Ray.

* :mod:`.spec`: the TOML spec (model, workload, hardware, jobs; a grid or a list of points);
* :mod:`.jobs`: the jobs of a point (estimate, cycles, synth, accuracy), pure functions of
  JSON-able inputs;
* :mod:`.keys`: cache keys (inputs, files, sources, tool versions) and the result cache;
* :mod:`.fit`: will a point fit its configuration and its device (pruning before synthesis);
* :mod:`.runner`: the jobs as Ray tasks: cached, retried once, estimates first;
* :mod:`.pareto`: the Pareto front over latency, LUTs and error;
* :mod:`.result`: the jobs' records and the points' rows;
* :mod:`.output`: table, JSON, plots.

Example::

    from edgedrnn.sweep import load_spec, run_sweep, write_outputs
    result = run_sweep(load_spec("benchmarks/sweep-estimates.toml"), workers=2)
    write_outputs(result, "build/sweep")

Needs the ``sweep`` extra (Ray): ``pip install 'edgedrnn[sweep]'`` (docs/sweep.md).
"""

from .jobs import JOBS, Job, jobs_for
from .keys import ResultCache, job_key
from .output import plot, table, write_json, write_outputs
from .pareto import DEFAULT_OBJECTIVES, pareto_front
from .result import JobRecord, SweepResult
from .runner import Status, connect, run_jobs, run_sweep
from .spec import JOB_KINDS, Point, Spec, SpecError, load_spec, parse_spec

__all__ = [
    "DEFAULT_OBJECTIVES",
    "JOBS",
    "JOB_KINDS",
    "Job",
    "JobRecord",
    "Point",
    "ResultCache",
    "Spec",
    "SpecError",
    "Status",
    "SweepResult",
    "connect",
    "job_key",
    "jobs_for",
    "load_spec",
    "pareto_front",
    "parse_spec",
    "plot",
    "run_jobs",
    "run_sweep",
    "table",
    "write_json",
    "write_outputs",
]
