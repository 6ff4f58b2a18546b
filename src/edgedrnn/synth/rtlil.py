"""The design as Yosys reads it: Amaranth → RTLIL, with the memories' collision behaviour
marked so that Yosys maps them without read-before-write emulation."""

from __future__ import annotations

import re
from typing import Any

from ..support.extras import require

__all__ = ["collisions_dont_care", "to_rtlil"]


def to_rtlil(design: Any, name: str = "top") -> str:
    """RTLIL text of an Amaranth component (or RTLIL text passed through).

    Parameters
    ----------
    design : amaranth.lib.wiring.Component or str
        The design, or RTLIL text (returned as it is).
    name : str
        The top module's name.

    Raises
    ------
    edgedrnn.support.extras.MissingExtraError
        Amaranth (the ``hw`` extra) is not installed.
    """
    if isinstance(design, str):
        return design
    rtlil = require("amaranth.back.rtlil", "converting an Amaranth design for Yosys")
    return collisions_dont_care(rtlil.convert(design, name=name))


_MODULE = re.compile(r"^module .*?^end$", re.S | re.M)
_NO_RW_MEMORY = re.compile(r"attribute \\no_rw_check 1\n\s*memory .* (\\\S+)\n")
_MEMRD = re.compile(r"cell \$memrd_v2 .*?\n\s*end\n", re.S)
_MEMID = re.compile(r"parameter \\MEMID \"\\(\\\S+)\"")
_COLLISION = re.compile(r"parameter \\COLLISION_X_MASK (\d+)'[01]+")


def collisions_dont_care(text: str) -> str:
    """Mark the read ports of ``no_rw_check`` memories as "don't care on a collision".

    Yosys applies the attribute when ``memory_dff`` turns an asynchronous read port and its
    register into a synchronous port; Amaranth emits synchronous read ports directly, so
    their ``COLLISION_X_MASK`` stays 0 and the memory mapper emulates read-before-write with
    bypass registers and a multiplexer after the block RAM (≈ 280 FFs per 128-bit memory,
    and a LUT on the block RAM → register path). Asynchronous ports are left to
    ``memory_dff``.

    Parameters
    ----------
    text : str
        RTLIL text (``amaranth.back.rtlil.convert``).
    """

    def module(mod: re.Match[str]) -> str:
        body = mod.group(0)
        names = set(_NO_RW_MEMORY.findall(body))
        if not names:
            return body

        def port(rd: re.Match[str]) -> str:
            cell = rd.group(0)
            memid = _MEMID.search(cell)
            # only synchronous read ports have a collision behaviour
            if memid is None or memid.group(1) not in names or "CLK_ENABLE 1\n" not in cell:
                return cell
            return _COLLISION.sub(
                lambda c: f"parameter \\COLLISION_X_MASK {c.group(1)}'{'1' * int(c.group(1))}",
                cell,
            )

        return _MEMRD.sub(port, body)

    return _MODULE.sub(module, text)
