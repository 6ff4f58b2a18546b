"""``edgedrnn verilog``: write the accelerator's Verilog, register map and C header.

For users who take the RTL into their own FPGA flow::

    edgedrnn verilog --num-pe 8 --bus-bits 64 -o out/

writes ``out/edgedrnn_top.v`` (top module ``edgedrnn_top``: ports ``clk``, ``rst`` and the
``csr__*``, ``mem__*``, ``x_in__*``, ``h_out__*`` interfaces), ``out/register-map.md`` and
``out/edgedrnn_regs.h`` (both from :mod:`edgedrnn.hw.regmap`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import HardwareConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verilog",
        help="generate the accelerator's Verilog, register map (Markdown) and C header",
        description="Write the accelerator's Verilog (top module edgedrnn_top), the register "
        "map (register-map.md) and a C header (edgedrnn_regs.h) for your own FPGA flow.",
    )
    p.add_argument("--num-pe", type=int, default=8, help="processing elements (4..64)")
    p.add_argument("--bus-bits", type=int, default=64, help="weight bus width (64..512)")
    p.add_argument("--max-layers", type=int, default=4, help="layers the controller sequences")
    p.add_argument("--max-hidden", type=int, default=1024, help="largest hidden size")
    p.add_argument("--max-input", type=int, default=1024, help="largest input size of layer 0")
    p.add_argument("--name", default="edgedrnn_top", help="Verilog top module name")
    p.add_argument("-o", "--output", type=Path, default=Path("out"), help="output directory")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..hw import regmap
    from ..sim.build import generate_verilog
    from ..support.extras import require

    require("amaranth", "generating the accelerator's Verilog")

    try:
        hw = HardwareConfig(
            num_pe=args.num_pe,
            bus_bits=args.bus_bits,
            max_layers=args.max_layers,
            max_hidden_size=args.max_hidden,
            max_input_size=args.max_input,
        )
    except ValueError as exc:
        print(f"edgedrnn verilog: {exc}")
        return 2
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    files = {
        f"{args.name}.v": generate_verilog(hw, name=args.name),
        "register-map.md": regmap.to_markdown(),
        "edgedrnn_regs.h": regmap.to_c_header(),
    }
    for name, text in files.items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0
