"""``edgedrnn soc build`` / ``load`` / ``image`` / ``check``: the SoC on a real ECP5 board.

::

    edgedrnn soc build --board radiona_ulx3s -o build/ulx3s            # ≈ 15-30 min on 2 cores
    edgedrnn soc load --board radiona_ulx3s build/ulx3s/gateware/radiona_ulx3s.bit
    edgedrnn soc image --board radiona_ulx3s net.edrnn --inputs x.npy -o build/run
    litex_term --images build/run/boot.json /dev/ttyUSB0 | tee console.log
    edgedrnn soc check console.log net.edrnn --inputs x.npy

``build`` writes the bitstream, ``csr.csv`` / ``csr.json`` (the address map) and
``board-report.json`` (post-route Fmax per clock, resources, times, commands) and prints the
summary (docs/board.md, "Board build and flashing"). ``load`` runs openFPGALoader with the
board's cable options (``--flash``: the SPI flash instead of the FPGA's SRAM; ``--dry-run``:
print the command only). ``image`` builds the firmware's board variant for the build's address
map (``--build-dir``, default build/BOARD) and writes it with the Program and the inputs as
the files the BIOS loads over the UART, with ``boot.json`` for ``litex_term --images``.
``check`` reads the firmware's report from a captured console log and compares its results
with the integer reference: equal, or the first difference (exit 1).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path


def register(cmds: argparse._SubParsersAction) -> None:
    """Add ``build`` and ``load`` to the ``edgedrnn soc`` subcommands."""
    from ._args import positive_int

    boards = _board_names()
    build = cmds.add_parser(
        "build",
        help="build the SoC bitstream for an ECP5 board (YoWASP tools)",
        description="Build the SoC (VexRiscv, accelerator, DRAM) for a board: bitstream, "
        "address map, resource and timing report.",
    )
    build.add_argument("--board", required=True, choices=boards, help="litex-boards target")
    build.add_argument("-o", "--output", type=Path, help="build folder (default build/BOARD)")
    build.add_argument("--seed", type=positive_int, default=1, help="nextpnr placement seed")
    build.add_argument(
        "--netlist-from",
        type=Path,
        metavar="DIR",
        help="place and route the Yosys netlist of an earlier build of the board (a new seed)",
    )
    build.add_argument(
        "--no-pnr", action="store_true", help="stop after LiteX wrote the Verilog and scripts"
    )
    build.set_defaults(func=build_main)
    load = cmds.add_parser(
        "load",
        help="program a board with openFPGALoader",
        description="Program a bitstream into the board with openFPGALoader.",
    )
    load.add_argument("--board", required=True, choices=boards, help="litex-boards target")
    load.add_argument("bitstream", type=Path, help="the .bit file")
    load.add_argument("--flash", action="store_true", help="write the SPI flash")
    load.add_argument("--dry-run", action="store_true", help="print the command only")
    load.set_defaults(func=load_main)
    image = cmds.add_parser(
        "image",
        help="write the firmware, a Program and its inputs for the board's BIOS (litex_term)",
        description="Build the firmware's board variant (its report on the UART) for a board "
        "build's address map and write it with the Program's runtime image and the inputs: "
        "firmware.bin, data.bin and boot.json for `litex_term --images DIR/boot.json PORT`.",
    )
    image.add_argument("--board", required=True, choices=boards, help="litex-boards target")
    image.add_argument("program", type=Path, help="a compiled Program (.edrnn)")
    _run_args(image)
    image.add_argument(
        "--build-dir",
        type=Path,
        help="the board's build (its csr.json: the bitstream's addresses; default build/BOARD)",
    )
    image.add_argument(
        "--pipelined", action="store_true", help="the pipelined order (default sequential)"
    )
    image.add_argument("-o", "--output", type=Path, required=True, help="the images' folder")
    image.set_defaults(func=image_main)
    check = cmds.add_parser(
        "check",
        help="check a console log of the firmware against the reference",
        description="Read the firmware's report from a console log (litex_term's output) and "
        "compare outputs, NZ counts and the overflow flag with the integer reference of the "
        "same Program, inputs and thresholds.",
    )
    check.add_argument("log", type=Path, help="the captured console output")
    check.add_argument("program", type=Path, help="the Program (.edrnn) the images were made of")
    _run_args(check)
    check.set_defaults(func=check_main)


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inputs", type=Path, required=True, help="inputs (T, I), float, as .npy")
    p.add_argument("--theta-x", type=Path, help="per-step Θx (T, L), float, as .npy")
    p.add_argument("--theta-h", type=Path, help="per-step Θh (T, L), float, as .npy")


def _load_run(args: argparse.Namespace):
    """The Program, raw Q8.8 inputs and per-step thresholds (or None) of ``image`` / ``check``."""
    import numpy as np

    from ..datapath.inputs import quantize_input
    from ..program import Program
    from ._args import UsageError, input_file

    program = Program.load(input_file(args.program, "a compiled Program (.edrnn)"))
    x_q = quantize_input(
        np.load(input_file(args.inputs, "inputs (.npy)", (".npy",))), program.input_size
    )
    if (args.theta_x is None) != (args.theta_h is None):
        raise UsageError("give both --theta-x and --theta-h, or neither")
    thetas = [None, None]
    for k, path in enumerate((args.theta_x, args.theta_h)):
        if path is not None:
            theta = np.asarray(np.load(input_file(path, "thresholds (.npy)", (".npy",))), float)
            if theta.shape != (x_q.shape[0], program.num_layers):
                raise UsageError(
                    f"{path}: thresholds must be (T, L) = {(x_q.shape[0], program.num_layers)}"
                )
            thetas[k] = np.round(theta * 256).astype(np.int64)
    return program, x_q, thetas[0], thetas[1]


def image_main(args: argparse.Namespace) -> int:
    from ..runtime.firmware import write_boot_images
    from ..soc.board import BOARDS
    from ._args import UsageError

    board = BOARDS[args.board]
    build = args.build_dir or Path("build") / board.name
    if not (build / "csr.json").exists():
        raise UsageError(
            f"{build}/csr.json: no board build there (`edgedrnn soc build --board {board.name} "
            f"-o {build}`, or --build-dir)"
        )
    program, x_q, tx, th = _load_run(args)
    hw = board.hardware()
    if (program.hw.num_pe, program.hw.bus_bits) != (hw.num_pe, hw.bus_bits):
        raise UsageError(
            f"the Program is compiled for {program.hw.num_pe} PEs / {program.hw.bus_bits}-bit "
            f"bus; the {board.name} build has {hw.num_pe} / {hw.bus_bits}"
        )
    run = write_boot_images(
        args.output, program, x_q, tx, th, csr=build / "csr.json", pipelined=args.pipelined
    )
    print(
        f"{args.output}: firmware.bin ({run['firmware_bytes']} bytes) at "
        f"{run['boot']['firmware.bin']}, data.bin ({run['data_bytes']} bytes) at "
        f"{run['boot']['data.bin']}, {run['steps']} steps"
    )
    print(f"load and run: litex_term --images {args.output / 'boot.json'} /dev/ttyUSB0")
    return 0


def check_main(args: argparse.Namespace) -> int:
    from ..runner import run
    from ..runtime.firmware import LogError, first_difference, parse_log
    from ._args import input_file

    text = input_file(args.log, "a console log").read_text(errors="replace")
    program, x_q, tx, th = _load_run(args)
    try:
        result = parse_log(text)
    except LogError as exc:
        print(f"error: {args.log}: {exc}", file=sys.stderr)
        return 1
    thetas = {} if tx is None else {"theta_x": tx / 256, "theta_h": th / 256}
    ref = run(program, x_q, backend="reference", **thetas)
    out = result.output
    steps = out.outputs_q.shape[0]
    print(
        f"{steps} steps ({'pipelined' if result.pipelined else 'sequential'}), LATENCY mean "
        f"{out.latency.mean():.0f} cycles, the CPU's step mean "
        f"{result.cpu_step_cycles.mean():.0f} cycles (SoC timer)"
        if steps
        else "0 steps"
    )
    diff = first_difference(result, ref)
    if diff is not None:
        print(f"DIFFERENT from the reference: {diff}")
        return 1
    print("equal to the reference (outputs, NZ counts, overflow)")
    return 0


def _board_names() -> list[str]:
    from ..soc.board import BOARDS

    return sorted(BOARDS)


def build_main(args: argparse.Namespace) -> int:
    from ..support.extras import require

    require("litex", "edgedrnn soc build")
    from ..soc.board import BOARDS, build_board

    board = BOARDS[args.board]
    out = args.output or Path("build") / board.name
    result = build_board(
        board,
        out,
        seed=args.seed,
        run_tools=not args.no_pnr,
        netlist_from=args.netlist_from,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    print(result.table() if not args.no_pnr else f"Verilog and scripts in {out}/gateware")
    if result.bitstream:
        print(f"bitstream: {result.bitstream}")
    print(f"address map: {result.csr_csv}, {result.csr_json}")
    return 0 if args.no_pnr or result.timing_met else 1


def load_main(args: argparse.Namespace) -> int:
    from ..soc.board import BOARDS, load_argv

    argv = load_argv(BOARDS[args.board], args.bitstream, flash=args.flash)
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    if not args.bitstream.exists():
        print(f"error: no such bitstream: {args.bitstream}", file=sys.stderr)
        return 2
    try:
        return subprocess.run(argv).returncode
    except FileNotFoundError:
        print(
            "error: openFPGALoader not found (Debian: apt-get install openfpgaloader)",
            file=sys.stderr,
        )
        return 2
