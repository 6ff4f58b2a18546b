"""``edgedrnn soc sim``: run a Program on the accelerator in the simulated LiteX SoC.

::

    edgedrnn soc sim net.edrnn --steps 50                  # smooth random input, SDR DRAM
    edgedrnn soc sim net.edrnn --input x.npy --sdram-module MT41K128M16 --sdram-data-width 16

builds the SoC simulation for the Program's hardware (cached, docs/soc.md), starts it with
the weights in its DRAM, runs the steps through the host driver with a progress bar and
prints the latency per step under the DRAM (LATENCY) and whether the outputs equal the
integer reference (``--no-check`` skips it). ``-o FILE.json`` writes the per-step figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import positive_int, seed

    p = sub.add_parser(
        "soc",
        help="the accelerator in a simulated LiteX SoC with a DRAM controller",
        description="The accelerator in a LiteX SoC with a DRAM controller, simulated with "
        "Verilator (docs/soc.md).",
    )
    cmds = p.add_subparsers(dest="soc_command", metavar="SUBCOMMAND")
    sim = cmds.add_parser(
        "sim",
        help="run a Program on the simulated SoC",
        description="Run a compiled Program (.edrnn) on the simulated SoC, step by step, "
        "and compare with the integer reference.",
    )
    sim.add_argument("program", type=Path, help="a compiled Program (.edrnn)")
    sim.add_argument("--input", type=Path, help="inputs (T, I) as .npy (default: random)")
    sim.add_argument("--steps", type=positive_int, default=20, help="steps of random input")
    sim.add_argument("--seed", type=seed, default=0, help="seed of the random input")
    sim.add_argument("--sdram-module", default="MT48LC16M16", help="litedram.modules class")
    sim.add_argument("--sdram-data-width", type=positive_int, default=32, help="DRAM data pins")
    sim.add_argument("--no-check", action="store_true", help="skip the reference comparison")
    sim.add_argument("-o", "--output", type=Path, help="write per-step figures (JSON)")
    sim.set_defaults(func=main)
    from .soc_board import register as register_board

    register_board(cmds)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from ..datapath.inputs import quantize_input
    from ..program import Program
    from ..support.extras import require
    from ..support.progress import Bars
    from ._args import input_file

    require("litex", "edgedrnn soc sim")
    from ..soc.config import SoCConfig
    from ..soc.session import open_soc

    program = Program.load(input_file(args.program, "a compiled Program (.edrnn)"))
    if args.input is not None:
        x = np.load(input_file(args.input, "inputs (.npy)", (".npy",)))
    else:
        rng = np.random.default_rng(args.seed)
        x = np.cumsum(rng.normal(0, 0.1, (args.steps, program.input_size)), axis=0)
    x_q = quantize_input(x, program.input_size)
    soc = SoCConfig(sdram_module=args.sdram_module, sdram_data_width=args.sdram_data_width)
    steps = x_q.shape[0]
    outputs = np.zeros((steps, program.output_size), np.int16)
    latency = np.zeros(steps, np.int64)
    nonzero = np.zeros((steps, program.num_layers, 2), np.int64)
    with Bars() as bars:
        task = bars.add("building / starting the SoC", total=None)
        with open_soc(program, soc) as session:
            bars.remove(task)
            drv = session.driver
            task = bars.add("steps", total=steps)
            for t in range(steps):
                outputs[t] = drv.step(x_q[t])
                latency[t] = drv.latency()
                nonzero[t] = drv.nonzero()
                bars.update(task, advance=1, info=f"latency {latency[t]} cycles")
            overflow = drv.overflow
    print(
        f"{steps} steps, latency per step (cycles): mean {latency.mean():.0f}, "
        f"min {latency.min()}, max {latency.max()}; overflow {overflow}"
    )
    same = None
    if not args.no_check:
        from ..runner import run

        ref = run(program, x_q, backend="reference")
        same = bool(
            np.array_equal(ref.outputs_q, outputs)
            and np.array_equal(ref.nonzero, nonzero)
            and ref.overflow == overflow
        )
        print("equal to the reference" if same else "DIFFERENT from the reference")
    if args.output is not None:
        args.output.write_text(
            json.dumps(
                {
                    "soc": soc.as_dict(),
                    "latency": latency.tolist(),
                    "nonzero": nonzero.tolist(),
                    "overflow": overflow,
                    "equal_to_reference": same,
                },
                indent=2,
            )
        )
    return 0 if same in (None, True) else 1
