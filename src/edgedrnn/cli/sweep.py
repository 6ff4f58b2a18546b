"""``edgedrnn sweep``: a design-space sweep (estimates, cycles, synthesis, accuracy) on Ray."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ._args import positive_float, positive_int

    p = subparsers.add_parser(
        "sweep",
        help="sweep instances, devices and thresholds on Ray: latency, LUTs, accuracy, "
        "Pareto front",
        description=(
            "Run the points of a TOML spec (docs/sweep.md) as Ray tasks: the perf-model "
            "estimate of every point first, then (for the points the estimate keeps) "
            "Verilator cycles, synthesis and place and route, accuracy at Θ. Results are "
            "cached by the hash of their inputs, sources and tool versions: a rerun runs only "
            "what changed, a killed sweep continues where it stopped. Writes sweep.json and "
            "sweep.png (the Pareto-optimal points marked) to the output folder."
        ),
    )
    p.add_argument("spec", type=Path, help="the sweep spec (.toml)")
    p.add_argument(
        "--address",
        default=None,
        help="a Ray cluster (auto, HOST:6379 or ray://HOST:10001); default: a local Ray",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local Ray's CPUs and the jobs in flight at most (default: all CPUs)",
    )
    p.add_argument(
        "--max-latency-us",
        type=positive_float,
        default=None,
        help="skip points whose estimated mean latency per step is above this",
    )
    p.add_argument(
        "--device-fit",
        action="store_true",
        help="skip points whose network exceeds the configuration or whose resource "
        "estimate exceeds the device",
    )
    p.add_argument("-o", "--out", type=Path, default=Path("build/sweep"), help="output folder")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="result cache (default: $EDGEDRNN_CACHE/sweep)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..support.extras import require
    from ..support.progress import Bars
    from ._args import UsageError, output_dir

    sweep = require("edgedrnn.sweep", "edgedrnn sweep")
    require("ray", "edgedrnn sweep")
    try:
        spec = sweep.load_spec(args.spec)
    except sweep.SpecError as exc:
        raise UsageError(str(exc)) from None
    out = output_dir(args.out)
    cache = sweep.ResultCache(output_dir(args.cache_dir, "--cache-dir") if args.cache_dir else None)
    console = Console(stderr=True)
    console.print(
        f"sweep {spec.name}: {len(spec.points)} points, jobs {', '.join(spec.jobs)}",
        markup=False,
    )
    with Bars(enabled=not args.quiet) as bars:
        task = bars.add("estimates", total=None)
        shown: list[tuple[str, ...]] = [()]

        def update(s: sweep.Status) -> None:
            if not args.quiet and s.front != shown[0]:  # the live Pareto front, above the bar
                shown[0] = s.front
                bars.print("Pareto front now:\n  " + "\n  ".join(s.front or ("(none yet)",)))
            bars.progress.update(
                task,
                total=max(s.total, 1),
                completed=s.finished,
                description="estimates" if s.phase == "estimates" else "jobs",
                info=(
                    f"done {s.done}, cached {s.cached}, running {s.running}, "
                    f"failed {s.failed}, retried {s.retried}, pruned {s.pruned}, "
                    f"Pareto {s.pareto}"
                ),
            )

        result = sweep.run_sweep(
            spec,
            address=args.address,
            workers=args.workers,
            max_latency_us=args.max_latency_us,
            device_fit=args.device_fit,
            cache=cache,
            on_update=update,
        )
    try:
        require("matplotlib", "the sweep's plots")
        plots = True
    except ImportError:
        plots = False
    files = sweep.write_outputs(result, out, plots=plots)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, default=str))
    else:
        Console(width=max(Console().width, 140)).print(sweep.table(result))
    for rec in result.failed:
        tail = rec.log_tail.splitlines()[-5:]
        console.print(f"failed {rec.kind} {rec.key[:12]}: {rec.error}", markup=False)
        for line in tail:
            console.print(f"    {line}", markup=False)
    counts = result.counts()
    console.print(
        f"{counts.get('done', 0)} jobs run, {counts.get('cached', 0)} from the cache, "
        f"{len(result.to_dict()['retried'])} retried, {counts.get('failed', 0)} failed; "
        f"{counts.get('points_pruned', 0)} points pruned; "
        f"{result.seconds:.1f} s; " + ", ".join(f"{k}: {v}" for k, v in files.items()),
        markup=False,
    )
    return 1 if result.failed else 0
