"""ECP5 block-RAM output registers: a pass over Yosys' JSON netlist.

An ECP5 block RAM (DP16KD) read has ~5.8 ns from clock to data at speed grade 6: its output
latch. The primitive also has an output register behind the latch (``REGMODE=OUTREG``, clock
to data ~1 ns), but Yosys' ``synth_ecp5`` never uses it: a register that follows a RAM read
stays a fabric flip-flop, and the path RAM → flip-flop (latch delay plus the route to where
the placer put the flip-flop) is what limits the clock.

:func:`absorb_output_registers` moves such flip-flops into the RAM. A read port qualifies when

* its output register is not in use yet, its clock is not inverted and its reset input is
  tied to 0 (the latch is never reset, so the meaning of the reset in ``OUTREG`` mode does
  not matter),
* every output bit that is used drives exactly one thing: the ``DI`` input of a
  ``TRELLIS_FF`` on the port's clock (not inverted), with no reset (``LSR`` tied to 0, not
  inverted), initial value 0, and a clock enable that is constant 1 or one net shared by
  all of them (not inverted).

The flip-flops are removed, the output pins drive their ``Q`` nets, ``REGMODE`` becomes
``OUTREG`` and the output register's clock enable (``OCE``) takes the flip-flops' enable.
In the 36-bit pseudo-dual-port mode (``DATA_WIDTH_A = 36``) the read data come out on both
``DOA`` and ``DOB`` under port B's clock, enable and reset; both halves are moved together.

Example::

    netlist = json.loads(Path("netlist.json").read_text())
    moved = absorb_output_registers(netlist)   # [(ram cell, port, flip-flops), ...]
    Path("netlist.json").write_text(json.dumps(netlist))
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .netlist import int_param, param

__all__ = ["AbsorbedPort", "absorb_output_registers"]

_RAM = "DP16KD"
_FF = "TRELLIS_FF"


@dataclass(frozen=True)
class AbsorbedPort:
    """One RAM read port that took over its flip-flops."""

    ram: str  #: the DP16KD cell's name
    port: str  #: "A", "B", or "AB" (36-bit pseudo-dual-port read)
    flip_flops: int  #: flip-flops removed
    enable: str  #: "1" (always) or the name of the clock-enable net


def _is_zero(bits: list[Any] | None) -> bool:
    return bits is None or bits == ["0"]


def absorb_output_registers(netlist: dict[str, Any]) -> list[AbsorbedPort]:
    """Move fabric flip-flops that follow DP16KD reads into the RAMs' output registers.

    Edits ``netlist`` (Yosys ``write_json`` format, every module) in place and returns the
    ports it changed. Ports that do not meet every condition in the module docstring are
    left as they are.
    """
    absorbed: list[AbsorbedPort] = []
    for module in netlist.get("modules", {}).values():
        if not module.get("attributes", {}).get("blackbox"):
            absorbed += _absorb_in_module(module)
    return absorbed


def _absorb_in_module(module: dict[str, Any]) -> list[AbsorbedPort]:
    cells: dict[str, dict[str, Any]] = module.get("cells", {})
    sinks: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for name, cell in cells.items():
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if dirs.get(port) != "output":
                for bit in bits:
                    if isinstance(bit, int):
                        sinks[bit].append((name, port))
    # bits on the module's own ports are seen from outside: never move them
    external = {
        b for p in module.get("ports", {}).values() for b in p["bits"] if isinstance(b, int)
    }
    names: dict[int, str] = {}
    for net, info in module.get("netnames", {}).items():
        for i, bit in enumerate(info["bits"]):
            if isinstance(bit, int) and bit not in names:
                names[bit] = net if len(info["bits"]) == 1 else f"{net}[{i}]"

    done: list[AbsorbedPort] = []
    for name in sorted(cells):
        ram = cells.get(name)
        if ram is None or ram["type"] != _RAM:
            continue
        if int_param(ram, "DATA_WIDTH_A", 18) == 36:
            groups = [("AB", "B", ("A", "B"))]  # read: DOA + DOB under port B's controls
        else:
            groups = [("A", "A", ("A",)), ("B", "B", ("B",))]
        for label, ctl, halves in groups:
            moved = _absorb_port(cells, sinks, external, ram, ctl, halves)
            if moved is not None:
                count, enable = moved
                net = "1" if enable == "1" else names.get(int(enable), f"${enable}")
                done.append(AbsorbedPort(name, label, count, net))
    return done


def _absorb_port(
    cells: dict[str, dict[str, Any]],
    sinks: dict[int, list[tuple[str, str]]],
    external: set[int],
    ram: dict[str, Any],
    ctl: str,
    halves: tuple[str, ...],
) -> tuple[int, str] | None:
    conn = ram["connections"]
    if any(param(ram, f"REGMODE_{h}", "NOREG") != "NOREG" for h in halves):
        return None
    if param(ram, f"CLK{ctl}MUX", f"CLK{ctl}") != f"CLK{ctl}":
        return None
    if param(ram, f"RST{ctl}MUX", f"RST{ctl}") != f"RST{ctl}":
        return None
    if not _is_zero(conn.get(f"RST{ctl}")):
        return None
    clock = conn.get(f"CLK{ctl}")
    pins = [f"DO{h}{i}" for h in halves for i in range(18)]
    outputs = [pin for pin in pins if param(ram, f"{pin}MUX", pin) == pin]
    used: list[tuple[str, str]] = []  # (RAM output pin, flip-flop cell)
    for pin in outputs:
        bits = conn.get(pin)
        if not bits or not isinstance(bits[0], int):
            continue
        bit = bits[0]
        if bit in external:
            return None
        readers = sinks.get(bit, [])
        if not readers:
            continue
        if len(readers) != 1 or readers[0][1] != "DI" or cells[readers[0][0]]["type"] != _FF:
            return None
        used.append((pin, readers[0][0]))
    if not used:
        return None

    enables = set()
    for _, ff_name in used:
        ff = cells[ff_name]
        fc = ff["connections"]
        if fc.get("CLK") != clock or param(ff, "CLKMUX", "CLK") != "CLK":
            return None
        if param(ff, "LSRMUX", "LSR") != "LSR" or not _is_zero(fc.get("LSR")):
            return None
        if param(ff, "REGSET", "RESET") != "RESET":
            return None
        cemux = param(ff, "CEMUX", "CE")
        if cemux == "1":
            enables.add("1")
        elif cemux == "CE" and fc.get("CE") and isinstance(fc["CE"][0], int):
            enables.add(str(fc["CE"][0]))
        elif cemux == "CE" and fc.get("CE") == ["1"]:
            enables.add("1")
        else:
            return None
    if len(enables) != 1:
        return None
    (enable,) = enables

    for pin, ff_name in used:
        conn[pin] = list(cells[ff_name]["connections"]["Q"])
        del cells[ff_name]
    oce: list[Any] = ["1"] if enable == "1" else [int(enable)]
    for h in halves:
        ram["parameters"][f"REGMODE_{h}"] = "OUTREG"
    for h in ("A", "B") if len(halves) == 2 else halves:
        conn[f"OCE{h}"] = oce
    return len(used), enable
