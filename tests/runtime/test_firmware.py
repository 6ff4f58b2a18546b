"""The firmware on the SoC's VexRiscv, in the whole-system simulation: the C runtime steps the
accelerator from the CPU and its outputs equal the reference integer for integer.

The first run builds the SoC with the CPU (minutes on 2 cores; cached under
``$EDGEDRNN_CACHE/litex-sim/vexriscv-*``). Skipped without LiteX, Verilator or the RISC-V cross
compiler (Debian's gcc-riscv64-unknown-elf).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import edgedrnn
from edgedrnn.runtime.firmware import (
    FIRMWARE_MAX_BYTES,
    build_firmware,
    find_riscv_compiler,
    firmware_memory,
    run_firmware,
)
from programs import random_program

needs_riscv = pytest.mark.skipif(
    find_riscv_compiler() is None,
    reason="no RISC-V cross compiler: apt-get install gcc-riscv64-unknown-elf",
)


def firmware_hw() -> edgedrnn.HardwareConfig:
    """The accelerator of the firmware SoC (one build for the tests and the benchmark)."""
    return edgedrnn.HardwareConfig(max_layers=2, max_input_size=64, max_hidden_size=256)


@needs_riscv
def test_firmware_builds(tmp_path) -> None:
    binary = build_firmware(tmp_path)
    assert 0 < binary.stat().st_size <= FIRMWARE_MAX_BYTES
    assert build_firmware(tmp_path) == binary  # cached


@needs_riscv
def test_firmware_memory_layout(tmp_path) -> None:
    rng = np.random.default_rng(0)
    prog = random_program(rng, [5, 9, 11], firmware_hw())
    x = rng.integers(-500, 500, (3, 5)).astype(np.int16)
    fw = build_firmware(tmp_path).read_bytes()
    mem, layout = firmware_memory(fw, prog, x)
    assert mem[: len(fw)] == fw
    assert layout.addr["theta_x"] == 0 and layout.addr["theta_h"] == 0
    assert mem[layout.addr["x"] : layout.addr["x"] + x.nbytes] == x.tobytes()
    assert all(a % 64 == 0 for a in layout.addr.values())
    with pytest.raises(ValueError, match="both"):
        firmware_memory(fw, prog, x, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x_q must be"):
        firmware_memory(fw, prog, x[:, :4])


@needs_riscv
@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
@pytest.mark.parametrize("pipelined", [False, True], ids=["sequential", "pipelined"])
def test_firmware_equals_reference(pipelined) -> None:
    """Two layers, sizes not multiples of NUM_PE, Θ changing per step, under DRAM refresh; in
    the sequential order and pipelined (a step's input released after its predecessor's
    registers are read, its output read while its successor runs)."""
    pytest.importorskip("litex", reason="the SoC needs LiteX: pip install 'edgedrnn[soc]'")
    rng = np.random.default_rng(17)
    prog = random_program(rng, [7, 13, 10], firmware_hw(), theta_x=8, theta_h=8, wmax=40, wmin=-40)
    steps = 8
    x = np.cumsum(rng.integers(-60, 61, (steps, 7)), axis=0).clip(-2000, 2000).astype(np.int16)
    tx = rng.integers(0, 24, (steps, 2))
    th = rng.integers(0, 24, (steps, 2))
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    run = run_firmware(prog, x, tx, th, pipelined=pipelined, timeout_s=300)
    out = run.output
    np.testing.assert_array_equal(out.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(out.nonzero, ref.nonzero)
    assert out.overflow == ref.overflow
    assert (out.latency > 0).all() and (out.cycles >= out.latency).all()
    # the CPU's view of a step covers the accelerator's latency plus the runtime's work
    assert (run.overhead_cycles > 0).all()
    assert run.config_cycles > 0 and run.run_cycles >= run.cpu_step_cycles.sum()
    if pipelined:  # from one step end to the next: the accelerator's STEP_CYCLES
        np.testing.assert_array_equal(run.cpu_step_cycles[1:], out.cycles[1:])
    # the firmware's text report: a line per step with its first outputs, then the summary
    lines = run.console.splitlines()
    assert lines[0].startswith("edgedrnn firmware: configure ")
    assert len(lines) == steps + 2
    for t, line in enumerate(lines[1:-1]):
        assert line.startswith(f"step {t}: latency {out.latency[t]}, cpu ")
        assert line.endswith(" h " + " ".join(map(str, out.outputs_q[t, :4])) + " ...")
    assert lines[-1] == (
        f"done: {steps} steps in {run.run_cycles} cycles, overflow {int(ref.overflow)}, success"
    )
