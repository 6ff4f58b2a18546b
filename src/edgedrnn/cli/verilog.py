"""``edgedrnn verilog``: write the accelerator's Verilog, register map and C header.

For users who take the RTL into their own FPGA flow::

    edgedrnn verilog --num-pe 8 --bus-bits 64 -o out/

writes ``out/edgedrnn_top.v`` (top module ``edgedrnn_top``: ports ``clk``, ``rst`` and the
``csr__*``, ``mem__*``, ``x_in__*``, ``h_out__*`` interfaces), ``out/register-map.md`` and
``out/edgedrnn_regs.h`` (both from :mod:`edgedrnn.hw.regmap`). ``--sparse-weights`` writes
the build that decodes sparse weight images (``HardwareConfig.sparse_weights``, docs/rtl.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import identifier, positive_int, power_of_two

    p = sub.add_parser(
        "verilog",
        help="generate the accelerator's Verilog, register map (Markdown) and C header",
        description="Write the accelerator's Verilog (top module edgedrnn_top), the register "
        "map (register-map.md) and a C header (edgedrnn_regs.h) for your own FPGA flow. "
        "--max-hidden and --max-input must be powers of two: the CONFIG register reports "
        "them as log2, so the driver reads exactly these limits (other values are refused, "
        "not rounded).",
    )
    p.add_argument(
        "--num-pe", type=power_of_two, default=8, help="processing elements, a power of two 4..64"
    )
    p.add_argument(
        "--bus-bits", type=power_of_two, default=64, help="weight bus width, a power of two 64..512"
    )
    p.add_argument(
        "--max-layers", type=positive_int, default=4, help="layers the controller sequences"
    )
    p.add_argument(
        "--max-hidden",
        type=power_of_two,
        default=1024,
        help="largest hidden size, a power of two",
    )
    p.add_argument(
        "--max-input",
        type=power_of_two,
        default=1024,
        help="largest input size of layer 0, a power of two",
    )
    p.add_argument(
        "--sparse-weights",
        action="store_true",
        help="the build that decodes sparse weight images (HardwareConfig.sparse_weights; "
        "docs/rtl.md); the default build runs dense images",
    )
    p.add_argument(
        "--name", type=identifier, default="edgedrnn_top", help="Verilog top module name"
    )
    p.add_argument("-o", "--output", type=Path, default=Path("out"), help="output folder")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..support.extras import require
    from ._args import hardware_config, output_dir

    hw = hardware_config(
        num_pe=args.num_pe,
        bus_bits=args.bus_bits,
        max_layers=args.max_layers,
        max_hidden_size=args.max_hidden,
        max_input_size=args.max_input,
        sparse_weights=args.sparse_weights,
    )
    out = output_dir(args.output, "-o/--output")
    require("amaranth", "generating the accelerator's Verilog")

    from ..hw import regmap
    from ..sim.build import generate_verilog

    files = {
        f"{args.name}.v": generate_verilog(hw, name=args.name),
        "register-map.md": regmap.to_markdown(),
        "edgedrnn_regs.h": regmap.to_c_header(),
    }
    for name, text in files.items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0
