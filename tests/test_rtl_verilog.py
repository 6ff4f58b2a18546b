"""``edgedrnn verilog`` output, and a ``verilator --lint-only -Wall`` check of the Verilog."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgedrnn.cli import main as cli_main
from edgedrnn.hw import regmap

#: Verilator warnings waived for the generated Verilog, with the reason. Everything else
#: reported by -Wall fails the test (hw-core owns the fixes).
LINT_WAIVERS: dict[str, str] = {
    # Yosys writes every module of the design into one file.
    "DECLFILENAME": "all modules of the design are in one generated file",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verilog")
    rc = cli_main(
        [
            "verilog",
            "--num-pe",
            "8",
            "--bus-bits",
            "128",
            "--max-layers",
            "3",
            "--max-hidden",
            "256",
            "--max-input",
            "64",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    return out


def test_cli_writes_verilog_regmap_and_header(generated: Path) -> None:
    v = (generated / "edgedrnn_top.v").read_text()
    assert re.search(r"^module edgedrnn_top\(", v, re.M)
    for port in ("clk", "rst", "csr__awaddr", "mem__rdata", "x_in__payload", "h_out__payload"):
        assert re.search(rf"\b(input|output)\b[^;]*\b{port}\b", v), port
    assert re.search(r"input\s+\[127:0\]\s+mem__rdata", v)
    assert (generated / "register-map.md").read_text() == regmap.to_markdown()
    header = (generated / "edgedrnn_regs.h").read_text()
    assert header == regmap.to_c_header()
    assert f"0x{regmap.addr_of('STEP_CYCLES'):03X}u" in header


@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
def test_verilator_lint_wall(generated: Path) -> None:
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "edgedrnn_top"]
    cmd += [f"-Wno-{w}" for w in LINT_WAIVERS]
    cmd.append(str(generated / "edgedrnn_top.v"))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    report = proc.stdout + proc.stderr
    kinds = sorted(set(re.findall(r"%(?:Warning|Error)-?([A-Z0-9_]*)", report)))
    assert proc.returncode == 0 and not kinds, f"lint findings {kinds}:\n{report[:6000]}"
