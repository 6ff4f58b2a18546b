"""The firmware on the SoC's VexRiscv, in the whole-system simulation: the C runtime steps the
accelerator from the CPU and its outputs equal the reference integer for integer, with the
report in a DRAM console and, the board variant, on the UART (the crossover UART, read as a
board's console log and parsed like one); the images for a board's BIOS and the log parser.

The first run builds the SoC with the CPU (minutes on 2 cores; cached under
``$EDGEDRNN_CACHE/litex-sim/vexriscv-*``). Skipped without LiteX, Verilator or the RISC-V cross
compiler (Debian's gcc-riscv64-unknown-elf).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

import edgedrnn
from edgedrnn.runtime.firmware import (
    FIRMWARE_MAX_BYTES,
    IMAGE_OFFSET,
    PARAMS_FIELDS,
    PARAMS_MAGIC,
    PARAMS_OFFSET,
    LogError,
    boot_memory,
    build_firmware,
    find_riscv_compiler,
    firmware_defines,
    firmware_memory,
    first_difference,
    parse_log,
    run_boot_images,
    run_firmware,
    write_boot_images,
)
from edgedrnn.runtime.image import to_image
from programs import random_program

#: An address map as LiteX writes it (csr.json), the parts the firmware reads: a board-like
#: SoC whose DRAM is not where the simulated SoC's is.
CSR = {
    "constants": {"config_csr_data_width": 32},
    "memories": {
        "sram": {"base": 0x1000_0000, "size": 0x8000, "type": "cached"},
        "main_ram": {"base": 0x2000_0000, "size": 0x200_0000, "type": "cached"},
        "edgedrnn": {"base": 0x8000_0000, "size": 0x1000, "type": "io"},
        "streams": {"base": 0x8000_1000, "size": 0x1000, "type": "io"},
        "csr": {"base": 0xF000_0000, "size": 0x10000, "type": "io"},
    },
    "csr_registers": {
        "timer0_uptime_latch": {"addr": 0xF000_1820, "size": 1, "type": "rw"},
        "timer0_uptime_cycles": {"addr": 0xF000_1824, "size": 2, "type": "ro"},
        "uart_rxtx": {"addr": 0xF000_1800, "size": 1, "type": "rw"},
        "uart_txfull": {"addr": 0xF000_1804, "size": 1, "type": "ro"},
    },
}

needs_riscv = pytest.mark.skipif(
    find_riscv_compiler() is None,
    reason="no RISC-V cross compiler: apt-get install gcc-riscv64-unknown-elf",
)


def firmware_hw() -> edgedrnn.HardwareConfig:
    """The accelerator of the firmware SoC (one build for the tests and the benchmark)."""
    return edgedrnn.HardwareConfig(max_layers=2, max_input_size=64, max_hidden_size=256)


def test_firmware_defines() -> None:
    """The addresses come from the build's map; what the firmware needs must be there."""
    d = firmware_defines(CSR, uart=True)
    assert d["MAIN_RAM_BASE"] == 0x2000_0000 and d["FW_PARAMS_ADDR"] == 0x2001_0000
    assert d["CSR_TIMER0_UPTIME_CYCLES_ADDR"] == 0xF000_1824
    assert d["CSR_UART_RXTX_ADDR"] == 0xF000_1800 and d["FW_CONSOLE_UART"] == 1
    assert "FW_CONSOLE_UART" not in firmware_defines(CSR)
    no_uptime = json.loads(json.dumps(CSR))
    del no_uptime["csr_registers"]["timer0_uptime_latch"]
    with pytest.raises(ValueError, match="timer0_uptime_latch"):
        firmware_defines(no_uptime)
    firmware_defines(no_uptime | {"csr_registers": CSR["csr_registers"]})
    no_uart = json.loads(json.dumps(CSR))
    del no_uart["csr_registers"]["uart_rxtx"]
    firmware_defines(no_uart)  # the DRAM console needs no UART
    with pytest.raises(ValueError, match="uart_rxtx"):
        firmware_defines(no_uart, uart=True)


@needs_riscv
@pytest.mark.parametrize("uart", [False, True], ids=["dram-console", "uart"])
def test_firmware_builds(tmp_path, uart) -> None:
    binary = build_firmware(tmp_path, csr=CSR, uart=uart)
    assert 0 < binary.stat().st_size <= FIRMWARE_MAX_BYTES
    assert build_firmware(tmp_path, csr=CSR, uart=uart) == binary  # cached
    other = json.loads(json.dumps(CSR))
    other["csr_registers"]["timer0_uptime_latch"]["addr"] += 0x100
    assert build_firmware(tmp_path, csr=other, uart=uart) != binary  # the map is in the key


@needs_riscv
def test_firmware_memory_layout(tmp_path) -> None:
    rng = np.random.default_rng(0)
    prog = random_program(rng, [5, 9, 11], firmware_hw())
    x = rng.integers(-500, 500, (3, 5)).astype(np.int16)
    fw = build_firmware(tmp_path, csr=CSR).read_bytes()
    mem, layout = firmware_memory(fw, prog, x)
    assert mem[: len(fw)] == fw
    assert layout.addr["theta_x"] == 0 and layout.addr["theta_h"] == 0
    assert mem[layout.addr["x"] : layout.addr["x"] + x.nbytes] == x.tobytes()
    assert all(a % 64 == 0 for a in layout.addr.values())
    with pytest.raises(ValueError, match="both"):
        firmware_memory(fw, prog, x, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x_q must be"):
        firmware_memory(fw, prog, x[:, :4])


def _firmware_case():
    """Two layers, sizes not multiples of NUM_PE, 8 steps of smooth inputs, Θ changing every
    step: (Program, x, Θx, Θh, the reference's Result)."""
    rng = np.random.default_rng(17)
    prog = random_program(rng, [7, 13, 10], firmware_hw(), theta_x=8, theta_h=8, wmax=40, wmin=-40)
    steps = 8
    x = np.cumsum(rng.integers(-60, 61, (steps, 7)), axis=0).clip(-2000, 2000).astype(np.int16)
    tx = rng.integers(0, 24, (steps, 2))
    th = rng.integers(0, 24, (steps, 2))
    ref = edgedrnn.run(prog, x, backend="reference", theta_x=tx / 256, theta_h=th / 256)
    return prog, x, tx, th, ref


@needs_riscv
@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
@pytest.mark.parametrize("pipelined", [False, True], ids=["sequential", "pipelined"])
def test_firmware_equals_reference(pipelined) -> None:
    """Two layers, sizes not multiples of NUM_PE, Θ changing per step, under DRAM refresh; in
    the sequential order and pipelined (a step's input released after its predecessor's
    registers are read, its output read while its successor runs)."""
    pytest.importorskip("litex", reason="the SoC needs LiteX: pip install 'edgedrnn[soc]'")
    prog, x, tx, th, ref = _firmware_case()
    steps = len(x)
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
    # the SoC timer's uptime: increasing, the whole run inside it
    assert (run.t_end > run.t_start).all() and (run.t_start[1:] >= run.t_end[:-1] - 1).all()
    # the firmware's text report: a line per step with its first outputs, then the summary
    lines = run.console.splitlines()
    assert lines[0].startswith("edgedrnn firmware: configure ")
    for t, line in enumerate(lines[1 : steps + 1]):
        assert line.startswith(f"step {t}: latency {out.latency[t]}, cpu ")
        assert line.endswith(" h " + " ".join(map(str, out.outputs_q[t, :4])) + " ...")
    assert lines[steps + 1] == (
        f"done: {steps} steps in {run.run_cycles} cycles, overflow {int(ref.overflow)}, success"
    )
    # then the machine-readable block: the same results as read over the bridge
    _assert_same_run(parse_log(run.console), run)


def _assert_same_run(a, b) -> None:
    for name in ("outputs_q", "nonzero", "cycles", "latency"):
        np.testing.assert_array_equal(getattr(a.output, name), getattr(b.output, name))
    assert a.output.overflow == b.output.overflow
    np.testing.assert_array_equal(a.t_start, b.t_start)
    np.testing.assert_array_equal(a.t_end, b.t_end)
    assert (a.config_cycles, a.run_cycles, a.pipelined, a.error) == (
        b.config_cycles,
        b.run_cycles,
        b.pipelined,
        b.error,
    )


@needs_riscv
@pytest.mark.skipif(shutil.which("verilator") is None, reason="Verilator not installed")
def test_board_variant_in_simulation(tmp_path) -> None:
    """The board's way, in the simulation: the images `edgedrnn soc image` writes (for the
    simulated SoC's address map) at their boot.json addresses in the DRAM, as the BIOS's
    serial boot leaves them; the firmware's report on its UART (LiteX's crossover UART, read
    by the host over the bridge), parsed as a board's console log: bit-exact, pipelined,
    each step's period from the SoC timer equal to its STEP_CYCLES."""
    pytest.importorskip("litex", reason="the SoC needs LiteX: pip install 'edgedrnn[soc]'")
    from edgedrnn.cli import main as cli_main
    from edgedrnn.soc.build import build_soc
    from edgedrnn.soc.config import SoCConfig

    prog, x, tx, th, ref = _firmware_case()
    build = build_soc(prog.hw, SoCConfig(cpu="vexriscv"))
    images = tmp_path / "images"
    write_boot_images(images, prog, x, tx, th, csr=build, pipelined=True)
    log = run_boot_images(images, build, timeout_s=300)
    run = parse_log(log)
    assert first_difference(run, ref) is None
    np.testing.assert_array_equal(run.output.outputs_q, ref.outputs_q)
    np.testing.assert_array_equal(run.output.nonzero, ref.nonzero)
    assert run.pipelined and run.error == 0
    np.testing.assert_array_equal(run.cpu_step_cycles[1:], run.output.cycles[1:])
    assert run.console.splitlines()[0].endswith("cycles, pipelined")
    # the command a board's user runs on the captured log
    np.save(tmp_path / "x.npy", x / 256)
    np.save(tmp_path / "tx.npy", tx / 256)
    np.save(tmp_path / "th.npy", th / 256)
    prog.save(tmp_path / "net.edrnn")
    (tmp_path / "console.log").write_text("LiteX BIOS ...\r\n" + log.replace("\n", "\r\n"))
    argv = ["soc", "check", str(tmp_path / "console.log"), str(tmp_path / "net.edrnn")]
    argv += ["--inputs", str(tmp_path / "x.npy")]
    argv += ["--theta-x", str(tmp_path / "tx.npy"), "--theta-h", str(tmp_path / "th.npy")]
    assert cli_main(argv) == 0
    assert cli_main(argv[:-4]) == 1  # without the per-step thresholds: a difference


@needs_riscv
def test_boot_images(tmp_path) -> None:
    """The files for ``litex_term --images``: the firmware at main_ram's base, booted last;
    the parameter block, the runtime image and the inputs from main_ram + 0x10000, the
    parameter block's addresses inside the DRAM and pointing at them."""
    rng = np.random.default_rng(1)
    prog = random_program(rng, [5, 9, 11], firmware_hw())
    x = rng.integers(-500, 500, (4, 5)).astype(np.int16)
    tx = rng.integers(0, 20, (4, 2)).astype(np.uint16)
    run = write_boot_images(tmp_path, prog, x, tx, tx, csr=CSR, pipelined=True)
    base = CSR["memories"]["main_ram"]["base"]
    boot = json.loads((tmp_path / "boot.json").read_text())
    assert list(boot.items()) == [("data.bin", "0x20010000"), ("firmware.bin", "0x20000000")]
    fw = (tmp_path / "firmware.bin").read_bytes()
    assert fw == build_firmware(csr=CSR, uart=True).read_bytes()
    assert len(fw) == run["firmware_bytes"] <= FIRMWARE_MAX_BYTES
    data = (tmp_path / "data.bin").read_bytes()
    assert len(data) == run["data_bytes"]
    fields = struct.unpack_from(f"<{len(PARAMS_FIELDS)}I", data)
    params = dict(zip(PARAMS_FIELDS, fields, strict=True))
    assert params["magic"] == PARAMS_MAGIC and params["steps"] == 4 and params["mode"] == 1
    mem = boot_memory(tmp_path, base)
    assert mem[: len(fw)] == fw and mem[PARAMS_OFFSET:] == data
    image = to_image(prog)
    assert params["image_addr"] == base + IMAGE_OFFSET and params["image_len"] == len(image)
    assert mem[IMAGE_OFFSET : IMAGE_OFFSET + len(image)] == image
    assert params["weight_base"] == IMAGE_OFFSET + struct.unpack_from("<I", image, 16)[0]
    at = params["x_addr"] - base
    assert mem[at : at + x.nbytes] == x.tobytes()
    at = params["theta_h_addr"] - base
    assert mem[at : at + tx.nbytes] == tx.tobytes()
    assert params["console_addr"] == 0 and params["console_size"] == 0  # the UART variant
    offsets = run["dram_offsets"]
    results = ("h", "nz", "cycles", "latency", "t_start", "t_end")
    for name in results:  # the results after the data, 64-byte aligned
        assert params[f"{name}_addr"] == base + offsets[name] >= base + len(mem)
        assert offsets[name] % 64 == 0
    assert offsets["t_end"] + 8 * 4 <= CSR["memories"]["main_ram"]["size"]
    with pytest.raises(ValueError, match="needs"):
        small = json.loads(json.dumps(CSR))
        small["memories"]["main_ram"]["size"] = 0x10000
        write_boot_images(tmp_path / "small", prog, x, csr=small)


def _log(steps=2, layers=1, outputs=3, error=0, done=None) -> str:
    """A firmware report in the format of main.c's ``report``."""
    done = steps if done is None else done
    block = [f"@edgedrnn 1 {steps:08x} {layers:08x} {outputs:08x} 00000001"]
    for t in range(done):
        h = "".join(f"{(v * (t + 1)) & 0xFFFF:04x}" for v in range(-1, outputs - 1))
        nz = " ".join(f"{t + k:08x}" for k in range(2 * layers))
        block.append(f"@step {t:08x} {h} {nz} {100 + t:08x} {90:08x} {1000 + 100 * t:016x} ")
        block[-1] += f"{1100 + 100 * t:016x}"
    block.append(
        f"@summary {error & 0xFFFFFFFF:08x} 00000000 {done:08x} 00000010 00000200 {done:08x}"
    )
    crc = zlib.crc32("".join(line + "\n" for line in block).encode())
    text = "edgedrnn firmware: configure 16 cycles, pipelined\nstep 0: ...\ndone: ...\n"
    return text + "\n".join(block) + f"\n@end {crc:08x}\n"


def test_parse_log() -> None:
    run = parse_log("BIOS banner\r\n" + _log().replace("\n", "\r\n") + "litex> ")
    np.testing.assert_array_equal(run.output.outputs_q, [[-1, 0, 1], [-2, 0, 2]])
    np.testing.assert_array_equal(run.output.nonzero, [[[0, 1]], [[1, 2]]])
    np.testing.assert_array_equal(run.output.cycles, [100, 101])
    np.testing.assert_array_equal(run.cpu_step_cycles, [100, 100])
    assert run.pipelined and run.error == 0 and run.run_cycles == 0x200
    assert run.console.startswith("edgedrnn firmware: configure 16 cycles")
    assert parse_log(_log(layers=2) + _log()).output.nonzero.shape == (2, 1, 2)  # the last
    failed = parse_log(_log(error=-15, done=1))
    assert failed.error == -15 and failed.output.outputs_q.shape == (1, 3)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nothing here\n", "no firmware report"),
        (_log()[: _log().index("@end")], "truncated"),
        (_log()[: _log().index("@step 00000001") + 20], "truncated"),
        (_log().replace("@step 00000001 fffe", "@step 00000001 fffd"), "checksum mismatch"),
        (re.sub(r"@step 00000001[^\n]*\n", "", _log()), "checksum mismatch"),
        (_log()[:-3] + "\n", "malformed '@end'"),
        (_log(done=1), "1 of 2 steps and no error"),
    ],
    ids=["empty", "no-end", "cut-in-a-step", "changed-digit", "lost-line", "bad-end", "short"],
)
def test_parse_log_errors(text, match) -> None:
    with pytest.raises(LogError, match=match):
        parse_log(text)


def test_first_difference() -> None:
    run = parse_log(_log())
    same = SimpleNamespace(
        outputs_q=run.output.outputs_q.copy(), nonzero=run.output.nonzero.copy(), overflow=False
    )
    assert first_difference(run, same) is None
    same.outputs_q[1, 2] += 1
    assert first_difference(run, same).startswith("step 1, output 2: 2, the reference 3")
    same.outputs_q[1, 2] -= 1
    same.nonzero[0, 0, 1] = 7
    assert first_difference(run, same) == "step 0, layer 0: NZ_H 1, the reference 7"
