"""``edgedrnn report``: the performance report (Markdown + plots + JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path

#: Where ``edgedrnn synth`` and ``benchmarks/perf_model.py`` write by default.
SYNTH_DIR = Path("build/synth")
VALIDATION = Path("build/bench/perf_model.json")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the performance report: latency, GOp/s, DRAM traffic, synthesis table",
        description=(
            "Model latency per step, effective GOp/s and DRAM traffic for 1L/2L x "
            "256/512/768/1024 hidden units at fixed and measured occupancies, next to the "
            "paper's figures and the original design's model; include synthesis reports "
            "(from `edgedrnn synth`) and the model's validation against RTL cycles."
        ),
    )
    p.add_argument("-o", "--out", type=Path, default=Path("build/report"), help="output folder")
    p.add_argument(
        "--synth-dir",
        type=Path,
        default=None,
        help=f"folder where `edgedrnn synth` wrote its reports; none: no synthesis table "
        f"(default: {SYNTH_DIR}, skipped when absent)",
    )
    p.add_argument(
        "--validation",
        type=Path,
        default=None,
        help="model-vs-RTL JSON from benchmarks/perf_model.py; none: no validation table "
        f"(default: {VALIDATION}, skipped when absent)",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument(
        "--no-measure",
        action="store_true",
        help="do not run the bundled trained model on cached test data for its sparsity",
    )
    p.set_defaults(func=main)


def _inputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The synthesis folder and validation file (None: ``none``, no table).

    A default may be absent (its table is skipped); one named on the command line must exist.
    """
    from ._args import UsageError, input_file

    synth_dir, validation = args.synth_dir, args.validation
    if synth_dir is None:
        synth_dir = SYNTH_DIR
    elif str(synth_dir).lower() == "none":
        synth_dir = None
    elif not synth_dir.is_dir():
        why = "is a file" if synth_dir.exists() else "does not exist"
        raise UsageError(
            f"--synth-dir {synth_dir} {why}; give the folder `edgedrnn synth -o` wrote"
        )
    if validation is None:
        validation = VALIDATION
    elif str(validation).lower() == "none":
        validation = None
    else:
        input_file(validation, "the JSON of benchmarks/perf_model.py (.json)", (".json",))
    return synth_dir, validation


def main(args: argparse.Namespace) -> int:
    from ._args import output_dir

    synth_dir, validation = _inputs(args)
    out = output_dir(args.out)

    from ..report import build_report

    data = build_report(
        out,
        synth_dir=synth_dir,
        validation=validation,
        plots=not args.no_plots,
        measure=not args.no_measure,
    )
    h = data["headline"]
    print(
        f"2L-768H, 8 PEs, 64-bit, 125 MHz, occupancy {data['paper_occupancy']:.4f}: "
        f"{h['latency_us']:.1f} us/step, {h['effective_gops']:.1f} GOp/s, "
        f"DRAM {h['dram_reduction']:.1f}x less than dense "
        f"(original design: {h['original_latency_us']:.1f} us)"
    )
    print(f"wrote {out / 'report.md'}, report.json and {len(data['plots'])} plots")
    return 0
