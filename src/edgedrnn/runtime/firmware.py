"""The firmware of the SoC's CPU: build it against a SoC build's address map, lay it out in
the DRAM with a Program and its inputs, run it in the whole-system simulation, write the
images a board's BIOS loads over its UART, and read its results back (over the bridge, or
from its report on a console).

The firmware (``c/firmware/main.c`` with the C runtime, built with Debian's
``riscv64-unknown-elf-gcc`` for the VexRiscv's RV32IM) runs from the DRAM. It is built for one
SoC build: the addresses it uses (DRAM, SRAM, the accelerator's windows, the timer's and the
UART's CSRs) come from the build's ``csr.json`` (:func:`firmware_defines`). Its DRAM (byte
offsets from ``main_ram``'s base B; the CPU sees offset A at B + A, the accelerator at A)::

    0x00000  firmware (at most 64 KiB)
    0x10000  parameter block (PARAMS_FIELDS, uint32 each)
    0x10100  summary (SUMMARY_FIELDS): written by the firmware, DONE last
    0x10400  runtime image (edgedrnn.runtime.to_image), then 64-byte aligned:
             x int16 (T, I), Θx and Θh uint16 (T, L) and the result arrays
             h int16 (T, H), NZ uint32 (T, L, 2), STEP_CYCLES, LATENCY uint32 (T,),
             t_start, t_end uint64 (T,), the console (the DRAM console variant's text report,
             NUL-terminated)

In the simulation everything up to the result arrays is preloaded into the DRAM before the
CPU leaves reset; on a board the LiteX BIOS's serial boot loads it (``firmware.bin`` at
offset 0 and ``data.bin`` from 0x10000: :func:`write_boot_images`, ``litex_term --images
boot.json``) and jumps to the firmware.

The report goes to one of two sinks (a compile-time switch, ``uart``): a console buffer in
the DRAM the host reads over the bridge, or the UART (the board variant; in the simulation
LiteX's crossover UART, read by the host over the bridge: :func:`run_boot_images`). Both
print the same text, which ends with the results in a machine-readable block with a CRC-32
(:func:`parse_log`).

The firmware runs the sequence in one of two register orders of the C runtime's
``edgedrnn_run`` (the StreamWindow takes ``h_out`` on its own) and timestamps each step with
the SoC timer (LiteX's ``timer0`` uptime: 64-bit system clock cycles since power-up, which is
also the time base of the StreamWindow's step ends):

* sequential (``EDGEDRNN_RUN_SEQUENTIAL``; per step the next step's Θ, the input, the
  output, the step's registers): ``t_start`` before the step's Θ and input are written,
  ``t_end`` after its output is read: the step as a sample-by-sample loop sees it, the
  accelerator's LATENCY plus the runtime's own work (moving the input and output words);
* pipelined (``EDGEDRNN_RUN_PIPELINED``; a step's input is queued while its predecessor
  runs and released once that one has ended and its registers are read, its output read
  while its successor runs): ``t_end`` the step's end (the StreamWindow's H_ENDS),
  ``t_start`` its predecessor's end: the period at which the loop steps the accelerator,
  the accelerator's cycles plus the gap the runtime leaves between two steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..host.driver import RunOutput
from ..program import Program
from .image import c_source_dir, to_image

#: The SoC's CPU the firmware is built for (``SoCConfig.cpu``).
CPU = "vexriscv"
#: The cross compiler (``$RISCV_CC`` overrides).
RISCV_CC = "riscv64-unknown-elf-gcc"
#: Flags for the VexRiscv ``standard`` variant (RV32IM; Zicsr for the start-up code).
FIRMWARE_CFLAGS = (
    "-march=rv32im_zicsr",
    "-mabi=ilp32",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-O2",
    "-ffunction-sections",
    "-fno-strict-aliasing",
    "-ffreestanding",
    "-nostdlib",
    "-nostartfiles",
    "-Wl,--no-warn-rwx-segments",
)
FIRMWARE_MAX_BYTES = 0x10000
PARAMS_OFFSET = 0x10000
SUMMARY_OFFSET = 0x10100
IMAGE_OFFSET = 0x10400
PARAMS_MAGIC = 0x57464445  # "EDFW"
DONE_MAGIC = 0x454E4F44  # "DONE"
#: ``main_ram``'s base in the SoCs here (the firmware takes it from the build's csr.json).
MAIN_RAM_BASE = 0x4000_0000
PARAMS_FIELDS = (
    "magic",
    "image_addr",
    "image_len",
    "weight_base",
    "flags",
    "steps",
    "x_addr",
    "theta_x_addr",
    "theta_h_addr",
    "summary_addr",
    "h_addr",
    "nz_addr",
    "cycles_addr",
    "latency_addr",
    "t_start_addr",
    "t_end_addr",
    "console_addr",
    "console_size",
    "mode",
)
SUMMARY_FIELDS = (
    "done",
    "error",
    "overflow",
    "step_count",
    "config_cycles",
    "steps_done",
    "layers",
    "outputs",
    "run_cycles",
)
#: SRAM bytes for the pipelined run's copy of the inputs, Θ and results (``WORK_BYTES`` of
#: ``main.c``): int16 x (T, I) and h (T, H), uint16 Θx and Θh (T, L) when given, uint32 NZ
#: (T, L, 2), STEP_CYCLES, LATENCY and the step ends (T,), each rounded up to 4 bytes.
PIPELINED_WORK_BYTES = 0x6000
#: edgedrnn_configure flag: skip the image's CRC-32 (seconds of simulated CPU time).
CONFIGURE_NO_CHECKSUM = 2


def find_riscv_compiler() -> str | None:
    """The RISC-V cross compiler, None when it is not installed."""
    return shutil.which(os.environ.get("RISCV_CC", RISCV_CC))


def load_csr(csr: str | Path | dict) -> dict:
    """A SoC build's address map: ``csr.json`` as LiteX writes it (its path, the build folder
    that holds it, or the parsed dict)."""
    if isinstance(csr, dict):
        return csr
    path = Path(csr)
    if path.is_dir():
        path = path / "csr.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such address map (a SoC build's csr.json)")
    return json.loads(path.read_text())


def firmware_defines(csr: str | Path | dict, *, uart: bool = False) -> dict[str, int]:
    """The -D defines of the firmware for a SoC build: what its address map decides.

    Parameters
    ----------
    csr : str or Path or dict
        The build's ``csr.json`` (:func:`load_csr`).
    uart : bool
        The board variant: the report on the UART (its CSRs are needed).

    Returns
    -------
    dict
        ``MAIN_RAM_BASE``, ``EDGEDRNN_BASE``, ``STREAMS_BASE``, ``FW_PARAMS_ADDR``,
        ``CSR_TIMER0_UPTIME_LATCH_ADDR``, ``CSR_TIMER0_UPTIME_CYCLES_ADDR`` and with ``uart``
        ``FW_CONSOLE_UART``, ``CSR_UART_RXTX_ADDR``, ``CSR_UART_TXFULL_ADDR``.

    Raises
    ------
    ValueError
        The build lacks something the firmware needs (a CPU, the timer's uptime, the UART,
        the accelerator's windows), or its CSRs are not 32 bits wide.
    """
    csr = load_csr(csr)
    mems, regs = csr.get("memories", {}), csr.get("csr_registers", {})
    width = csr.get("constants", {}).get("config_csr_data_width")
    if width != 32:
        raise ValueError(f"the firmware reads 32-bit CSRs; this build's are {width}")

    def mem(name: str) -> int:
        if name not in mems:
            raise ValueError(f"the SoC build has no {name!r} region")
        return int(mems[name]["base"])

    def reg(name: str, what: str) -> int:
        if name not in regs:
            raise ValueError(f"the SoC build has no CSR {name} ({what})")
        return int(regs[name]["addr"])

    main_ram = mem("main_ram")
    defines = {
        "MAIN_RAM_BASE": main_ram,
        "EDGEDRNN_BASE": mem("edgedrnn"),
        "STREAMS_BASE": mem("streams"),
        "FW_PARAMS_ADDR": main_ram + PARAMS_OFFSET,
        "CSR_TIMER0_UPTIME_LATCH_ADDR": reg("timer0_uptime_latch", "the timer's uptime"),
        "CSR_TIMER0_UPTIME_CYCLES_ADDR": reg("timer0_uptime_cycles", "the timer's uptime"),
    }
    if uart:
        defines["FW_CONSOLE_UART"] = 1
        defines["CSR_UART_RXTX_ADDR"] = reg("uart_rxtx", "the UART")
        defines["CSR_UART_TXFULL_ADDR"] = reg("uart_txfull", "the UART")
    return defines


def _memory_script(csr: dict) -> str:
    """The firmware linker script's regions (``memory.ld``) for a build."""
    mems = csr["memories"]
    if "sram" not in mems:
        raise ValueError("the SoC build has no 'sram' region (the firmware's stack)")
    ram, sram = mems["main_ram"], mems["sram"]
    return (
        "MEMORY\n{\n"
        f"    main_ram (rwx) : ORIGIN = {int(ram['base']):#x}, LENGTH = {FIRMWARE_MAX_BYTES:#x}\n"
        f"    sram (rw)      : ORIGIN = {int(sram['base']):#x}, LENGTH = {int(sram['size']):#x}\n"
        "}\n"
    )


def build_firmware(
    out_dir: str | Path | None = None,
    cc: str | None = None,
    *,
    csr: str | Path | dict,
    uart: bool = False,
) -> Path:
    """Compile the firmware for a SoC build into a flat binary (cached by a hash of the
    sources, flags and addresses).

    Parameters
    ----------
    out_dir : str or Path, optional
        Where the binaries are cached (default ``$TMPDIR/edgedrnn-firmware``).
    cc : str, optional
        The cross compiler (default :func:`find_riscv_compiler`).
    csr : str or Path or dict
        The build's address map (``csr.json``, :func:`load_csr`): the addresses the firmware
        uses (:func:`firmware_defines`) and its memory regions.
    uart : bool
        The board variant: the report on the UART instead of a DRAM console buffer.

    Raises
    ------
    RuntimeError
        No cross compiler (install ``gcc-riscv64-unknown-elf``), or a compile error.
    ValueError
        The build lacks what the firmware needs (:func:`firmware_defines`).
    """
    cc = cc or find_riscv_compiler()
    if cc is None:
        raise RuntimeError(
            f"no RISC-V compiler ({RISCV_CC}): install the Debian package "
            "gcc-riscv64-unknown-elf (scripts/install-debian-packages.sh)"
        )
    csr = load_csr(csr)
    defines = [f"-D{k}={v:#x}" for k, v in sorted(firmware_defines(csr, uart=uart).items())]
    memory = _memory_script(csr)
    src = c_source_dir()
    fw = src / "firmware"
    sources = [fw / "crt0.S", fw / "main.c", src / "edgedrnn.c"]
    digest = hashlib.sha256(" ".join((cc, *FIRMWARE_CFLAGS, *defines, memory)).encode())
    for path in [*sources, fw / "linker.ld", src / "edgedrnn.h", src / "edgedrnn_regs.h"]:
        digest.update(path.read_bytes())
    out = Path(out_dir or Path(tempfile.gettempdir()) / "edgedrnn-firmware")
    out.mkdir(parents=True, exist_ok=True)
    key = digest.hexdigest()[:16]
    binary = out / f"firmware-{key}.bin"
    if binary.exists():
        return binary
    work = Path(tempfile.mkdtemp(prefix=f"firmware-{key}-", dir=out))
    try:
        (work / "memory.ld").write_text(memory)
        elf = work / "firmware.elf"
        cmd = [cc, *FIRMWARE_CFLAGS, *defines, "-I", str(src), "-L", str(work)]
        cmd += ["-T", str(fw / "linker.ld"), *map(str, sources), "-o", str(elf), "-lgcc"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        objcopy = cc.replace("gcc", "objcopy")
        tmp = work / "firmware.bin"
        subprocess.run([objcopy, "-O", "binary", str(elf), str(tmp)], check=True)
        if tmp.stat().st_size > FIRMWARE_MAX_BYTES:
            raise RuntimeError(f"firmware is {tmp.stat().st_size} bytes, over {FIRMWARE_MAX_BYTES}")
        tmp.replace(binary)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return binary


@dataclass(frozen=True)
class FirmwareLayout:
    """DRAM offsets of everything the firmware reads and writes (module docstring)."""

    addr: dict[str, int]
    steps: int
    layers: int
    output_size: int
    pipelined: bool = False
    main_ram_base: int = MAIN_RAM_BASE
    console_size: int = 0

    def cpu(self, name: str) -> int:
        """The CPU's address of an entry of :attr:`addr`."""
        return self.main_ram_base + self.addr[name]


def console_bytes(steps: int, layers: int, outputs: int = 0) -> int:
    """Room for the firmware's report: a line per step, a header and a summary, then the
    machine-readable block (a line per step of ``outputs`` outputs, :func:`parse_log`)."""
    text = 256 + steps * (120 + 24 * layers)
    block = 256 + steps * (64 + 4 * outputs + 9 * 2 * layers)
    return text + block


def pipelined_work_bytes(program: Program, steps: int, thresholds: bool) -> int:
    """SRAM bytes the pipelined run needs (:data:`PIPELINED_WORK_BYTES` is what it has)."""
    layers = program.num_layers
    theta = 2 * _align(2 * steps * layers, 4) if thresholds else 0
    x_h = _align(2 * steps * program.input_size, 4) + _align(2 * steps * program.output_size, 4)
    return x_h + theta + 4 * (2 * steps * layers + 3 * steps)


def _align(n: int, to: int = 64) -> int:
    return -(-n // to) * to


def firmware_memory(
    firmware: bytes,
    program: Program,
    x_q: np.ndarray,
    theta_x_q: np.ndarray | None = None,
    theta_h_q: np.ndarray | None = None,
    *,
    flags: int = CONFIGURE_NO_CHECKSUM,
    pipelined: bool = False,
    main_ram_base: int = MAIN_RAM_BASE,
    console: bool = True,
) -> tuple[bytes, FirmwareLayout]:
    """The DRAM contents from offset 0 for one firmware run (sequential, or pipelined: the
    module docstring), and where things are.

    The contents end with the inputs: the result arrays (zeros until the firmware writes
    them) and the console lie after them (:attr:`FirmwareLayout.addr`).

    Parameters
    ----------
    firmware : bytes
        The firmware binary (:func:`build_firmware`).
    program : Program
        The network.
    x_q : numpy.ndarray
        Raw Q8.8 inputs (T, I).
    theta_x_q, theta_h_q : numpy.ndarray, optional
        Raw Q8.8 thresholds (T, L); both or neither (the image's).
    flags : int
        ``edgedrnn_configure`` flags.
    pipelined : bool
        The pipelined order.
    main_ram_base : int
        The CPU's address of the DRAM (the build's ``main_ram``).
    console : bool
        Room for the DRAM console (the firmware built without ``uart``).
    """
    if len(firmware) > FIRMWARE_MAX_BYTES:
        raise ValueError(f"firmware is {len(firmware)} bytes, over {FIRMWARE_MAX_BYTES}")
    if (theta_x_q is None) != (theta_h_q is None):
        raise ValueError("give both theta_x_q and theta_h_q, or neither")
    x = np.ascontiguousarray(x_q, dtype=np.int16)
    if x.ndim != 2 or x.shape[1] != program.input_size:
        raise ValueError(f"x_q must be (T, {program.input_size}), got {x.shape}")
    steps, layers, h = x.shape[0], program.num_layers, program.output_size
    if pipelined and pipelined_work_bytes(program, steps, theta_x_q is not None) > (
        PIPELINED_WORK_BYTES
    ):
        raise ValueError(
            f"{steps} steps do not fit the pipelined run's {PIPELINED_WORK_BYTES} bytes of SRAM"
        )
    image = to_image(program)
    header = struct.unpack_from("<I", image, 16)[0]
    sizes = {
        "x": x.nbytes,
        "theta_x": 0 if theta_x_q is None else 2 * steps * layers,
        "theta_h": 0 if theta_h_q is None else 2 * steps * layers,
        "h": 2 * steps * h,
        "nz": 4 * steps * layers * 2,
        "cycles": 4 * steps,
        "latency": 4 * steps,
        "t_start": 8 * steps,
        "t_end": 8 * steps,
        "console": console_bytes(steps, layers, h) if console else 0,
    }
    addr = {"image": IMAGE_OFFSET, "summary": SUMMARY_OFFSET}
    at = _align(IMAGE_OFFSET + len(image))
    inputs_end = at
    for name, size in sizes.items():
        addr[name] = at if size else 0
        at = _align(at + max(size, 4))
        if name.startswith("theta") or name == "x":
            inputs_end = at
    mem = bytearray(inputs_end)
    mem[: len(firmware)] = firmware
    mem[IMAGE_OFFSET : IMAGE_OFFSET + len(image)] = image
    mem[addr["x"] : addr["x"] + x.nbytes] = x.tobytes()
    for name, theta in (("theta_x", theta_x_q), ("theta_h", theta_h_q)):
        if theta is not None:
            data = np.ascontiguousarray(theta, dtype=np.uint16).reshape(steps, layers).tobytes()
            mem[addr[name] : addr[name] + len(data)] = data

    def cpu(name: str) -> int:
        return main_ram_base + addr[name] if addr[name] else 0

    params = {
        "magic": PARAMS_MAGIC,
        "image_addr": cpu("image"),
        "image_len": len(image),
        "weight_base": IMAGE_OFFSET + header,
        "flags": flags,
        "steps": steps,
        "x_addr": cpu("x"),
        "theta_x_addr": cpu("theta_x"),
        "theta_h_addr": cpu("theta_h"),
        "summary_addr": cpu("summary"),
        **{f"{n}_addr": cpu(n) for n in ("h", "nz", "cycles", "latency", "t_start", "t_end")},
        "console_addr": cpu("console"),
        "console_size": sizes["console"],
        "mode": int(pipelined),
    }
    struct.pack_into(
        f"<{len(PARAMS_FIELDS)}I", mem, PARAMS_OFFSET, *(params[f] for f in PARAMS_FIELDS)
    )
    layout = FirmwareLayout(addr, steps, layers, h, pipelined, main_ram_base, sizes["console"])
    return bytes(mem), layout


@dataclass
class FirmwareRun:
    """What the firmware reported.

    Attributes
    ----------
    output : RunOutput
        Outputs, NZ, STEP_CYCLES, LATENCY and the overflow flag, as the driver's run.
    t_start, t_end : numpy.ndarray
        int64 (T,): the SoC timer's uptime (system clock cycles since power-up) before each
        step's Θ and input were written and after its output was read (sequential), or at
        the previous step's end and this one's (pipelined).
    config_cycles : int
        Cycles of ``edgedrnn_configure``.
    run_cycles : int
        Cycles of the whole run (the sequential one also copies each step's input and output
        between the DRAM and the SRAM outside its timestamps).
    pipelined : bool
        Which order ran (the module docstring).
    error : int
        The firmware's C runtime error code (0: success).
    console : str
        The firmware's text report (a line per step, then a summary).
    """

    output: RunOutput
    t_start: np.ndarray
    t_end: np.ndarray
    config_cycles: int
    run_cycles: int
    pipelined: bool
    error: int
    console: str = ""

    @property
    def cpu_step_cycles(self) -> np.ndarray:
        """Cycles per step as the CPU sees it: Θ and input written to output read
        (sequential), or from the previous step's end to this one's (pipelined)."""
        return self.t_end - self.t_start

    @property
    def overhead_cycles(self) -> np.ndarray:
        """The runtime's own cycles per step: the CPU's view minus the accelerator's LATENCY
        (pipelined: an upper bound, as the accelerator starts a step's hidden part before
        its input is released)."""
        return self.cpu_step_cycles - self.output.latency


def read_results(bridge, layout: FirmwareLayout) -> FirmwareRun:
    """Read a finished run's results through the bridge (``bridge.read(addr, n)``)."""

    def words(name: str, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros(0, np.uint32)
        return np.asarray(bridge.read(layout.cpu(name), count), np.uint32)

    steps, layers, h = layout.steps, layout.layers, layout.output_size
    summary = dict(zip(SUMMARY_FIELDS, words("summary", len(SUMMARY_FIELDS)), strict=True))
    raw_h = words("h", -(-steps * h // 2)).view(np.int16)[: steps * h]
    output = RunOutput(
        outputs_q=raw_h.reshape(steps, h).copy(),
        nonzero=words("nz", steps * layers * 2).astype(np.int64).reshape(steps, layers, 2),
        cycles=words("cycles", steps).astype(np.int64),
        overflow=bool(summary["overflow"]),
        latency=words("latency", steps).astype(np.int64),
    )
    t_start = words("t_start", 2 * steps).view(np.uint64).astype(np.int64)
    t_end = words("t_end", 2 * steps).view(np.uint64).astype(np.int64)
    error = int(np.int32(np.uint32(summary["error"])))
    text = ""
    if layout.console_size:
        raw = words("console", layout.console_size // 4).tobytes()
        text = raw.split(b"\0", 1)[0].decode("ascii", "replace")
    return FirmwareRun(
        output,
        t_start,
        t_end,
        int(summary["config_cycles"]),
        int(summary["run_cycles"]),
        bool(layout.pipelined),
        error,
        text,
    )


def run_firmware(
    program: Program,
    x_q: np.ndarray,
    theta_x_q: np.ndarray | None = None,
    theta_h_q: np.ndarray | None = None,
    *,
    soc=None,
    pipelined: bool = False,
    timeout_s: float = 600.0,
    poll_s: float = 0.5,
) -> FirmwareRun:
    """Run the firmware over a sequence in the whole-system simulation of the SoC with its CPU
    (:class:`~edgedrnn.soc.system.EdgeDRNNSoC` with ``SoCConfig(cpu="vexriscv")``, built
    and cached on first use).

    Parameters
    ----------
    program : Program
        The network (its ``hw`` is the SoC's accelerator).
    x_q : numpy.ndarray
        Raw Q8.8 inputs (T, I).
    theta_x_q, theta_h_q : numpy.ndarray, optional
        Raw Q8.8 thresholds per step and layer (T, L); both or neither.
    soc : SoCConfig, optional
        The system (default ``SoCConfig()``); its ``cpu`` is set to ``"vexriscv"``.
    pipelined : bool
        Run ``EDGEDRNN_RUN_PIPELINED`` instead of the sequential order (module docstring).
    timeout_s : float
        Wall-clock seconds to wait for the firmware's DONE.
    poll_s : float
        Pause between the host's reads of the DONE word (each is a bus access that can
        delay the CPU by a few cycles).

    Raises
    ------
    RuntimeError
        The firmware did not finish, or reported an error (its message).
    """
    from ..soc.build import build_soc
    from ..soc.config import SoCConfig
    from ..soc.simulation import SoCSimulation
    from ..soc.transport import UARTBridge

    build = build_soc(program.hw, replace(soc or SoCConfig(), cpu=CPU))
    csr = load_csr(build)
    firmware = build_firmware(csr=csr).read_bytes()
    base = int(csr["memories"]["main_ram"]["base"])
    memory, layout = firmware_memory(
        firmware, program, x_q, theta_x_q, theta_h_q, pipelined=pipelined, main_ram_base=base
    )
    done_addr = base + SUMMARY_OFFSET
    with SoCSimulation(build, memory, 0) as sim:
        sim.sock.settimeout(60.0)
        bridge = UARTBridge(sim.sock)
        deadline = time.monotonic() + timeout_s
        while int(bridge.read(done_addr)[0]) != DONE_MAGIC:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the firmware did not finish in {timeout_s} s: {sim.log_tail(500)}"
                )
            time.sleep(poll_s)
        run = read_results(bridge, layout)
    if run.error:
        raise RuntimeError(f"the firmware reports C runtime error {run.error}:\n{run.console}")
    return run


# ------------------------------------------------------------------------ the report as a log

#: Markers of the machine-readable block of the firmware's report (``main.c``'s ``report``).
LOG_BEGIN, LOG_STEP, LOG_SUMMARY, LOG_END = "@edgedrnn", "@step", "@summary", "@end"
LOG_VERSION = 1


class LogError(ValueError):
    """A console log without a complete, intact report of the firmware."""


def parse_log(text: str) -> FirmwareRun:
    """The results of a firmware run from its report as printed on a console (a board's
    UART captured by ``litex_term`` or any terminal, or the simulation's).

    The log may hold anything before and after the report (the BIOS's banner, a terminal's
    ``\\r``); the last machine-readable block counts::

        @edgedrnn 1 T L H mode                                           (begin)
        @step t hhhh.. nz_x0 nz_h0 .. step_cycles latency t_start t_end  (a line per step)
        @summary error overflow step_count config_cycles run_cycles steps_done
        @end crc

    every number lowercase hex (``h``: 4 digits per output, int16 two's complement), the
    CRC-32 (zlib's) over every byte from ``@edgedrnn`` to the newline before ``@end``.

    Returns
    -------
    FirmwareRun
        As :func:`run_firmware` returns it; ``console`` is the human-readable part of the
        report (from ``edgedrnn firmware:`` to the block).

    Raises
    ------
    LogError
        No report, a truncated one (no ``@end``, fewer steps than announced), a CRC
        mismatch, or a malformed line.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(LOG_BEGIN + " ")]
    if not starts:
        raise LogError("no firmware report in the log (no '@edgedrnn' line)")
    begin = starts[-1]
    end = next((i for i in range(begin, len(lines)) if lines[i].startswith(LOG_END)), None)
    if end is None:
        raise LogError(
            f"the report is truncated: no '{LOG_END}' line after line {begin + 1} "
            f"({len(lines) - begin} lines follow)"
        )
    block = lines[begin:end]
    crc = zlib.crc32("".join(line + "\n" for line in block).encode("ascii", "replace"))
    fields = lines[end].split()
    if len(fields) != 2 or not re.fullmatch(r"[0-9a-f]{8}", fields[1]):
        raise LogError(f"malformed '{LOG_END}' line: {lines[end]!r}")
    if int(fields[1], 16) != crc:
        raise LogError(
            f"checksum mismatch: the report says {fields[1]}, its lines give {crc:08x} "
            "(a character lost or changed on the way)"
        )

    def numbers(line: str, marker: str, count: int) -> list[str]:
        parts = line.split()
        if parts[:1] != [marker] or len(parts) != count + 1:
            raise LogError(f"malformed line (expected '{marker}' and {count} fields): {line!r}")
        if not all(re.fullmatch(r"[0-9a-f]+", p) for p in parts[1:]):
            raise LogError(f"malformed line (not hex): {line!r}")
        return parts[1:]

    head = [int(v, 16) for v in numbers(block[0], LOG_BEGIN, 5)]
    version, steps, layers, outputs, mode = head
    if version != LOG_VERSION:
        raise LogError(f"report format {version}, this parser reads {LOG_VERSION}")
    summary_lines = [line for line in block if line.startswith(LOG_SUMMARY)]
    if len(summary_lines) != 1:
        raise LogError("the report has no single '@summary' line")
    summary = [int(v, 16) for v in numbers(summary_lines[0], LOG_SUMMARY, 6)]
    error, overflow, _step_count, config_cycles, run_cycles, done = summary
    step_lines = [line for line in block if line.startswith(LOG_STEP)]
    if len(step_lines) != done or done > steps:
        raise LogError(f"the report has {len(step_lines)} step lines, its summary says {done}")
    out_h = np.zeros((done, outputs), np.int16)
    nz = np.zeros((done, layers, 2), np.int64)
    cycles, latency = np.zeros(done, np.int64), np.zeros(done, np.int64)
    t_start, t_end = np.zeros(done, np.int64), np.zeros(done, np.int64)
    for t, line in enumerate(step_lines):
        f = numbers(line, LOG_STEP, 2 + 2 * layers + 4)
        if int(f[0], 16) != t or len(f[1]) != 4 * outputs:
            raise LogError(f"malformed step line {t}: {line!r}")
        out_h[t] = np.array([int(f[1][4 * k : 4 * k + 4], 16) for k in range(outputs)]).astype(
            np.uint16
        )
        nz[t] = np.array([int(v, 16) for v in f[2 : 2 + 2 * layers]]).reshape(layers, 2)
        cycles[t], latency[t], t_start[t], t_end[t] = (int(v, 16) for v in f[2 + 2 * layers :])
    if not error and done != steps:
        raise LogError(f"the report has {done} of {steps} steps and no error")
    human = [i for i in range(begin) if lines[i].startswith("edgedrnn firmware:")]
    console = "\n".join(lines[human[-1] : begin]) + "\n" if human else ""
    output = RunOutput(
        outputs_q=out_h, nonzero=nz, cycles=cycles, overflow=bool(overflow), latency=latency
    )
    return FirmwareRun(
        output,
        t_start,
        t_end,
        config_cycles,
        run_cycles,
        bool(mode == 1),
        int(np.int32(np.uint32(error))),
        console,
    )


def first_difference(run: FirmwareRun, reference) -> str | None:
    """Where a firmware run differs from the reference (:class:`~edgedrnn.result.Result`
    of the same Program and inputs): None when outputs, NZ counts and the overflow flag are
    equal integer for integer, else the first difference in words."""
    out = run.output
    if run.error:
        return f"the firmware reports C runtime error {run.error}"
    ref_h = np.asarray(reference.outputs_q)
    if out.outputs_q.shape != ref_h.shape:
        return f"outputs of shape {out.outputs_q.shape}, the reference {ref_h.shape}"
    for t in range(ref_h.shape[0]):
        diff = np.flatnonzero(out.outputs_q[t] != ref_h[t])
        if diff.size:
            k = int(diff[0])
            return (
                f"step {t}, output {k}: {int(out.outputs_q[t, k])}, the reference "
                f"{int(ref_h[t, k])} ({diff.size} outputs differ in that step)"
            )
        ref_nz = np.asarray(reference.nonzero[t])
        if not np.array_equal(out.nonzero[t], ref_nz):
            layer, kind = map(int, np.argwhere(out.nonzero[t] != ref_nz)[0])
            what = ("NZ_X", "NZ_H")[kind]
            return (
                f"step {t}, layer {layer}: {what} {int(out.nonzero[t, layer, kind])}, the "
                f"reference {int(ref_nz[layer, kind])}"
            )
    if out.overflow != bool(reference.overflow):
        return f"overflow {out.overflow}, the reference {bool(reference.overflow)}"
    return None


# ------------------------------------------------------------------- images for a board's BIOS

#: Files :func:`write_boot_images` writes.
FIRMWARE_FILE, DATA_FILE, BOOT_FILE, RUN_FILE = "firmware.bin", "data.bin", "boot.json", "run.json"


def write_boot_images(
    out_dir: str | Path,
    program: Program,
    x_q: np.ndarray,
    theta_x_q: np.ndarray | None = None,
    theta_h_q: np.ndarray | None = None,
    *,
    csr: str | Path | dict,
    pipelined: bool = False,
    flags: int = CONFIGURE_NO_CHECKSUM,
    cc: str | None = None,
) -> dict[str, object]:
    """Write what the LiteX BIOS loads over the UART for one firmware run on a SoC build: the
    firmware (board variant: its report on the UART) and its data, with ``boot.json`` for
    ``litex_term --images DIR/boot.json PORT``.

    ``out_dir`` gets ``firmware.bin`` (at ``main_ram``'s base), ``data.bin`` (the parameter
    block, the runtime image and the inputs from ``main_ram`` + 0x10000: the module
    docstring's layout), ``boot.json`` (file name → hex address; ``litex_term`` sends the
    files in order and jumps to the last one's address, the firmware's) and ``run.json``
    (what was laid out where, for people and tests).

    Parameters
    ----------
    out_dir : str or Path
        The folder (created).
    program : Program
        The network (its ``hw`` must be the build's accelerator).
    x_q, theta_x_q, theta_h_q : numpy.ndarray
        As :func:`firmware_memory`.
    csr : str or Path or dict
        The SoC build's address map (``csr.json``): the board's build for a board.
    pipelined : bool
        The pipelined order.
    flags : int
        ``edgedrnn_configure`` flags.
    cc : str, optional
        The cross compiler.

    Returns
    -------
    dict
        The contents of ``run.json``.
    """
    csr = load_csr(csr)
    base = int(csr["memories"]["main_ram"]["base"])
    firmware = build_firmware(cc=cc, csr=csr, uart=True).read_bytes()
    memory, layout = firmware_memory(
        firmware,
        program,
        x_q,
        theta_x_q,
        theta_h_q,
        flags=flags,
        pipelined=pipelined,
        main_ram_base=base,
        console=False,
    )
    size = int(csr["memories"]["main_ram"]["size"])
    end = layout.addr["t_end"] + 8 * layout.steps  # the last result array
    if end > size:
        raise ValueError(f"the run needs {end} bytes of DRAM, the build has {size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / FIRMWARE_FILE).write_bytes(firmware)
    (out / DATA_FILE).write_bytes(memory[PARAMS_OFFSET:])
    boot = {DATA_FILE: f"{base + PARAMS_OFFSET:#010x}", FIRMWARE_FILE: f"{base:#010x}"}
    (out / BOOT_FILE).write_text(json.dumps(boot, indent=1) + "\n")
    run = {
        "program_sha256": hashlib.sha256(program.to_bytes()).hexdigest(),
        "steps": layout.steps,
        "layers": layout.layers,
        "outputs": layout.output_size,
        "pipelined": pipelined,
        "main_ram_base": base,
        "firmware_bytes": len(firmware),
        "data_bytes": len(memory) - PARAMS_OFFSET,
        "dram_offsets": layout.addr,
        "boot": boot,
    }
    (out / RUN_FILE).write_text(json.dumps(run, indent=1) + "\n")
    return run


def boot_memory(image_dir: str | Path, main_ram_base: int = MAIN_RAM_BASE) -> bytes:
    """The DRAM contents from offset 0 that ``litex_term --images DIR/boot.json`` leaves:
    each file of ``boot.json`` at its address."""
    folder = Path(image_dir)
    boot = json.loads((folder / BOOT_FILE).read_text())
    mem = bytearray()
    for name, where in boot.items():
        offset = int(where, 16) - main_ram_base
        data = (folder / name).read_bytes()
        if offset < 0:
            raise ValueError(f"{name} at {where}: below main_ram ({main_ram_base:#x})")
        if len(mem) < offset + len(data):
            mem.extend(bytes(offset + len(data) - len(mem)))
        mem[offset : offset + len(data)] = data
    return bytes(mem)


def run_boot_images(
    image_dir: str | Path,
    build_dir: str | Path,
    *,
    timeout_s: float = 600.0,
) -> str:
    """Run the images of :func:`write_boot_images` in the SoC simulation as the BIOS would
    on a board: the files at their ``boot.json`` addresses in the DRAM, the CPU starting at
    the firmware; return what the firmware printed on its UART (the crossover UART, read by
    the host over the bridge as a terminal reads a board's serial port) up to the end of its
    report.

    Parameters
    ----------
    image_dir : str or Path
        The images, written for this build's address map.
    build_dir : str or Path
        The SoC simulation's build (:func:`edgedrnn.soc.build.build_soc` with the CPU).
    timeout_s : float
        Wall-clock seconds to wait for the report's end.

    Raises
    ------
    RuntimeError
        No complete report in time (with what came).
    """
    from ..soc.simulation import SoCSimulation
    from ..soc.transport import UARTBridge

    csr = load_csr(build_dir)
    regs = csr["csr_registers"]
    rxtx = int(regs["uart_xover_rxtx"]["addr"])
    status_from = int(regs["uart_xover_txfull"]["addr"])
    rxempty = (int(regs["uart_xover_rxempty"]["addr"]) - status_from) // 4
    rxfull = (int(regs["uart_xover_rxfull"]["addr"]) - status_from) // 4
    base = int(csr["memories"]["main_ram"]["base"])
    boot = json.loads((Path(image_dir) / BOOT_FILE).read_text())
    if int(list(boot.values())[-1], 16) != base:
        raise ValueError("the simulated CPU starts at main_ram's base: boot there")
    log = bytearray()
    with SoCSimulation(Path(build_dir), boot_memory(image_dir, base), 0) as sim:
        sim.sock.settimeout(60.0)
        bridge = UARTBridge(sim.sock)
        deadline = time.monotonic() + timeout_s
        while not re.search(rb"\n@end [0-9a-f]{8}\n", log):
            if time.monotonic() > deadline:
                text = log.decode("ascii", "replace")
                raise RuntimeError(f"no complete report in {timeout_s} s; the UART gave:\n{text}")
            status = bridge.read(status_from, rxfull + 1)
            if status[rxfull]:  # 16 bytes waiting: read them at the fixed address
                log += bytes(int(v) & 0xFF for v in bridge.read(rxtx, 16, fixed=True))
            elif not status[rxempty]:
                log += bytes([int(bridge.read(rxtx)[0]) & 0xFF])
            else:
                time.sleep(0.01)
    return log.decode("ascii", "replace")
