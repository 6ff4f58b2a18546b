"""``edgedrnn verilog`` output, and a ``verilator --lint-only -Wall`` check of the Verilog."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgedrnn.cli import main as cli_main
from edgedrnn.hw import regmap

#: Verilator -Wall findings waived for the generated Verilog, with the reason. They come from
#: how Amaranth + Yosys write Verilog, not from the design; anything else fails the test
#: (hw-core owns the fixes).
LINT_WAIVERS: dict[str, str] = {
    "DECLFILENAME": "Yosys writes every module of the design into one file",
    "WIDTH": "Yosys' write_verilog emits constants at their minimal width and relies on "
    "Verilog's context widening; the arithmetic is Amaranth's, exact by construction",
    "CASEINCOMPLETE": "Yosys (proc -nomux) assigns defaults before each case statement, so "
    "an incomplete case is intended",
    "UNUSEDSIGNAL": "Amaranth keeps named intermediate signals (FIFO internals, data views, "
    "Array elements, Yosys $-wires) for debugging; unused top-level input ports are NOT waived",
}
#: Top-level inputs the design may ignore, with the reason.
UNUSED_PORTS_OK: dict[str, str] = {
    "mem__rlast": "the weight fetch counts beats per burst itself; RLAST is redundant",
}
_FINDING = re.compile(r"^%(Warning|Error)-?([A-Z0-9_]*):[^:]*:(\d+):\d+: (.*)$", re.M)


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


def _port_names(verilog: str) -> set[str]:
    head = verilog[verilog.index("module edgedrnn_top(") :]
    head = head[: head.index(");")]
    return {p.strip() for p in head[len("module edgedrnn_top(") :].split(",")}


def _top_lines(verilog: str) -> range:
    """The line numbers (1-based) of ``module edgedrnn_top`` ... ``endmodule``: a submodule
    may have a signal of the same name as a top-level port."""
    start = verilog.index("module edgedrnn_top(")
    end = verilog.index("endmodule", start)
    return range(verilog.count("\n", 0, start) + 1, verilog.count("\n", 0, end) + 2)


@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
def test_verilator_lint_wall(generated: Path) -> None:
    path = generated / "edgedrnn_top.v"
    ports = _port_names(path.read_text())
    top = _top_lines(path.read_text())
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "edgedrnn_top", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    report = proc.stdout + proc.stderr
    bad = []
    for kind, rule, line, msg in _FINDING.findall(report):
        if kind == "Error" and not rule:
            bad.append(msg)
        elif rule == "UNUSEDSIGNAL":
            name = re.search(r"'([^']*)'", msg)
            port = name.group(1) if name else ""
            if port in ports and int(line) in top and port not in UNUSED_PORTS_OK:
                bad.append(f"{rule}: {msg}")
        elif rule not in LINT_WAIVERS:
            bad.append(f"{rule}: {msg}")
    assert not bad, f"{len(bad)} lint finding(s) not waived:\n" + "\n".join(bad[:40])
    # A non-zero exit must come from the (waived) findings, not from e.g. a parse failure.
    assert proc.returncode == 0 or _FINDING.search(report), report[:3000]


def test_cli_sparse_weights_writes_the_sparse_build(tmp_path: Path) -> None:
    from dataclasses import replace

    from edgedrnn import HardwareConfig
    from edgedrnn.sim.build import generate_verilog

    size = ["--num-pe", "4", "--max-layers", "1", "--max-hidden", "64", "--max-input", "64"]
    dense, sparse = tmp_path / "dense", tmp_path / "sparse"
    assert cli_main(["verilog", *size, "-o", str(dense)]) == 0
    assert cli_main(["verilog", *size, "--sparse-weights", "-o", str(sparse)]) == 0
    hw = HardwareConfig(num_pe=4, max_layers=1, max_hidden_size=64, max_input_size=64)
    text = {d: (d / "edgedrnn_top.v").read_text() for d in (dense, sparse)}
    assert text[dense] == generate_verilog(hw)
    assert text[sparse] == generate_verilog(replace(hw, sparse_weights=True))
    assert text[sparse] != text[dense]
    for name in ("register-map.md", "edgedrnn_regs.h"):
        assert (sparse / name).read_text() == (dense / name).read_text()
