"""``edgedrnn soc build`` / ``edgedrnn soc load``: the SoC on a real ECP5 board.

::

    edgedrnn soc build --board radiona_ulx3s -o build/ulx3s            # ≈ 15-30 min on 2 cores
    edgedrnn soc load --board radiona_ulx3s build/ulx3s/gateware/radiona_ulx3s.bit

``build`` writes the bitstream, ``csr.csv`` / ``csr.json`` (the address map) and
``board-report.json`` (post-route Fmax per clock, resources, times, commands) and prints the
summary (docs/board.md, "Board build and flashing"). ``load`` runs openFPGALoader with the
board's cable options (``--flash``: the SPI flash instead of the FPGA's SRAM; ``--dry-run``:
print the command only).
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
