"""The design as Yosys reads it: Amaranth → RTLIL, with the memories' collision behaviour
marked so that Yosys maps them without read-before-write emulation, and wire names that
ABC9 could take for one bit of another wire renamed (``x[1]`` → ``x<1>``)."""

from __future__ import annotations

import re
from typing import Any

from ..support.extras import require

__all__ = ["INDEX_BRACKETS", "collisions_dont_care", "indexed_names_renamed", "to_rtlil"]


def to_rtlil(design: Any, name: str = "top") -> str:
    """RTLIL text of an Amaranth component, as Yosys gets it.

    The read ports of ``no_rw_check`` memories are marked (:func:`collisions_dont_care`);
    wires named like one bit of another wire are renamed (:func:`indexed_names_renamed`).

    Parameters
    ----------
    design : amaranth.lib.wiring.Component or str
        The design, or RTLIL text (only its wire names are changed).
    name : str
        The top module's name (its ports keep their names).

    Raises
    ------
    edgedrnn.support.extras.MissingExtraError
        Amaranth (the ``hw`` extra) is not installed.
    """
    if isinstance(design, str):
        return indexed_names_renamed(design, top=name)
    rtlil = require("amaranth.back.rtlil", "converting an Amaranth design for Yosys")
    return indexed_names_renamed(collisions_dont_care(rtlil.convert(design, name=name)), top=name)


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


#: What replaces ``[`` and ``]`` around an index in a wire's name (:func:`indexed_names_renamed`).
INDEX_BRACKETS = ("<", ">")

_INDEX = re.compile(r"\[(\d+)\]")
# one line of RTLIL: strings (kept as they are), escaped identifiers, anything else
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![^\s{])\\\S+|[^"\\]+|.', re.S)
_WIRE = re.compile(r"^\s*wire\b.*\s(\\\S+)\s*$")
_PORT = re.compile(r"\b(?:input|output|inout)\s+\d+\b")
_CELL = re.compile(r"^\s*cell\s+(\S+)\s")
_CONNECT = re.compile(r"^(\s*connect\s+)(\\\S+)")
_MEMORY = re.compile(r"^\s*memory\s")


def indexed_names_renamed(text: str, top: str = "top") -> str:
    """Rename wires whose names hold an index (``\\ob.h[1]``) to ``\\ob.h<1>``.

    Yosys' ABC9 (``abc9``, in ``synth_ecp5`` and ``synth_xilinx``) names the bits it hands to
    ABC ``name[index]`` and, reading ABC's result back (``abc_ops_reintegrate``), takes such a
    name for the wire of that name if there is one. Amaranth names the elements of array
    layouts and signature arrays this way: a view ``ob`` with a field ``h`` of
    ``ArrayLayout(signed(16), 4)`` becomes the wires ``ob.h`` (64 bits) and ``ob.h[0]`` …
    ``ob.h[3]`` (16 bits each). When ABC gets bit 1 of ``ob.h`` and bits of ``ob.h[1]``, the
    two collide and Yosys stops with ``Assert `GetSize(conn.first) == GetSize(conn.second)'
    failed`` (Yosys 0.70, YoWASP); whether it happens depends on which of the aliases ABC
    sees, so one configuration of the accelerator fails and the next does not.

    Every ``[`` ``digits`` ``]`` in a wire's name becomes ``<digits>``
    (:data:`INDEX_BRACKETS`). Against digits, ``.``, ``_``, ``$`` and lowercase letters,
    ``<`` and ``>`` sort as ``[`` and ``]`` do, so Yosys' choices between aliases (it
    compares names) do not depend on the renaming (the 8-PE instance of
    ``benchmarks/sweep-synth.toml`` has the same cells with the same parameters either way).

    The top module's ports, memories and the port names of cells whose modules are not in
    ``text`` (primitives) keep their names.

    Parameters
    ----------
    text : str
        RTLIL text.
    top : str
        The top module's name.
    """
    wires: set[str] = set()
    keep: set[str] = set()
    modules = set(re.findall(r"^\s*module\s+(\S+)", text, re.M))
    module = ""
    for line in text.splitlines():
        if m := re.match(r"^\s*module\s+(\S+)", line):
            module = m.group(1)
        elif m := _WIRE.match(line):
            wires.add(m.group(1))
            if module == "\\" + top and _PORT.search(line):
                keep.add(m.group(1))
    left, right = INDEX_BRACKETS
    renames = {
        w: _INDEX.sub(lambda i: f"{left}{i.group(1)}{right}", w)
        for w in wires - keep
        if _INDEX.search(w)
    }
    taken = wires - renames.keys()
    for old, new in renames.items():
        while new in taken:
            new += "_"
        renames[old] = new
        taken.add(new)
    if not renames:
        return text

    def names(part: str) -> str:
        return "".join(renames.get(t, t) for t in _TOKEN.findall(part))

    out = []
    cell_type = None
    for line in text.splitlines(keepends=True):
        if m := _CELL.match(line):
            cell_type = m.group(1)
        elif cell_type is not None and re.match(r"^\s*end\s*$", line):
            cell_type = None
        if _MEMORY.match(line):  # its name is also in the read and write ports' MEMID
            out.append(line)
        elif cell_type is not None and cell_type not in modules and (c := _CONNECT.match(line)):
            # a primitive's port name stays; the signal connected to it is renamed
            out.append(c.group(0) + names(line[c.end() :]))
        else:
            out.append(names(line))
    return "".join(out)
