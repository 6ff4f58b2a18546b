"""The firmware of the SoC's CPU: build it, lay it out in the DRAM with a Program and its
inputs, run it in the whole-system simulation and read its results back.

The firmware (``c/firmware/main.c`` with the C runtime, built with Debian's
``riscv64-unknown-elf-gcc`` for the VexRiscv's RV32IM) runs from the DRAM. Its DRAM, preloaded
before the CPU leaves reset (byte offsets; the CPU sees offset A at ``0x4000_0000 + A``, the
accelerator at A)::

    0x00000  firmware (at most 64 KiB)
    0x10000  parameter block (PARAMS_FIELDS, uint32 each)
    0x10100  summary (SUMMARY_FIELDS): written by the firmware, DONE last
    0x10400  runtime image (edgedrnn.runtime.to_image), then 64-byte aligned:
             x int16 (T, I), Θx and Θh uint16 (T, L) and the result arrays
             h int16 (T, H), NZ uint32 (T, L, 2), STEP_CYCLES, LATENCY, t_start, t_end (T,),
             the console (the firmware's text report, NUL-terminated)

The firmware runs the sequence in one of two register orders of the C runtime's
``edgedrnn_run`` (the StreamWindow takes ``h_out`` on its own) and timestamps each step with
the StreamWindow's cycle counter:

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
import os
import shutil
import struct
import subprocess
import tempfile
import time
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
#: Flags for the VexRiscv ``standard`` variant (RV32IM).
FIRMWARE_CFLAGS = (
    "-march=rv32im",
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


def build_firmware(out_dir: str | Path | None = None, cc: str | None = None) -> Path:
    """Compile the firmware into a flat binary (cached by a hash of the sources and flags).

    Raises
    ------
    RuntimeError
        No cross compiler (install ``gcc-riscv64-unknown-elf``), or a compile error.
    """
    cc = cc or find_riscv_compiler()
    if cc is None:
        raise RuntimeError(
            f"no RISC-V compiler ({RISCV_CC}): install the Debian package "
            "gcc-riscv64-unknown-elf (scripts/install-debian-packages.sh)"
        )
    src = c_source_dir()
    fw = src / "firmware"
    sources = [fw / "crt0.S", fw / "main.c", src / "edgedrnn.c"]
    digest = hashlib.sha256(" ".join((cc, *FIRMWARE_CFLAGS)).encode())
    for path in [*sources, fw / "linker.ld", src / "edgedrnn.h", src / "edgedrnn_regs.h"]:
        digest.update(path.read_bytes())
    out = Path(out_dir or Path(tempfile.gettempdir()) / "edgedrnn-firmware")
    out.mkdir(parents=True, exist_ok=True)
    binary = out / f"firmware-{digest.hexdigest()[:16]}.bin"
    if binary.exists():
        return binary
    elf = binary.with_suffix(f".{os.getpid()}.elf")
    cmd = [cc, *FIRMWARE_CFLAGS, "-I", str(src), "-T", str(fw / "linker.ld")]
    cmd += [*map(str, sources), "-o", str(elf), "-lgcc"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    objcopy = cc.replace("gcc", "objcopy")
    tmp = binary.with_suffix(f".{os.getpid()}.tmp")
    subprocess.run([objcopy, "-O", "binary", str(elf), str(tmp)], check=True)
    elf.unlink()
    if tmp.stat().st_size > FIRMWARE_MAX_BYTES:
        raise RuntimeError(f"firmware is {tmp.stat().st_size} bytes, over {FIRMWARE_MAX_BYTES}")
    tmp.replace(binary)
    return binary


@dataclass(frozen=True)
class FirmwareLayout:
    """DRAM offsets of everything the firmware reads and writes (module docstring)."""

    addr: dict[str, int]
    steps: int
    layers: int
    output_size: int
    pipelined: bool = False


def console_bytes(steps: int, layers: int) -> int:
    """Room for the firmware's text report: a line per step, a header and a summary."""
    return 256 + steps * (120 + 24 * layers)


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
) -> tuple[bytes, FirmwareLayout]:
    """The DRAM contents from offset 0 for one firmware run (sequential, or pipelined: the
    module docstring), and where things are."""
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
        "t_start": 4 * steps,
        "t_end": 4 * steps,
        "console": console_bytes(steps, layers),
    }
    addr = {"image": IMAGE_OFFSET, "summary": SUMMARY_OFFSET}
    at = _align(IMAGE_OFFSET + len(image))
    for name, size in sizes.items():
        addr[name] = at if size else 0
        at = _align(at + max(size, 4))
    mem = bytearray(at)
    mem[: len(firmware)] = firmware
    mem[IMAGE_OFFSET : IMAGE_OFFSET + len(image)] = image
    mem[addr["x"] : addr["x"] + x.nbytes] = x.tobytes()
    for name, theta in (("theta_x", theta_x_q), ("theta_h", theta_h_q)):
        if theta is not None:
            data = np.ascontiguousarray(theta, dtype=np.uint16).reshape(steps, layers).tobytes()
            mem[addr[name] : addr[name] + len(data)] = data

    def cpu(name: str) -> int:
        return MAIN_RAM_BASE + addr[name] if addr[name] else 0

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
    return bytes(mem), FirmwareLayout(addr, steps, layers, h, pipelined)


@dataclass
class FirmwareRun:
    """What the firmware reported.

    Attributes
    ----------
    output : RunOutput
        Outputs, NZ, STEP_CYCLES, LATENCY and the overflow flag, as the driver's run.
    t_start, t_end : numpy.ndarray
        int64 (T,): the SoC cycle before each step's Θ and input were written and after its
        output was read.
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
        return np.asarray(bridge.read(MAIN_RAM_BASE + layout.addr[name], count), np.uint32)

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
    t_start = words("t_start", steps).astype(np.int64)
    t_end = words("t_end", steps).astype(np.int64)
    error = int(np.int32(np.uint32(summary["error"])))
    size = console_bytes(steps, layers)
    text = words("console", size // 4).tobytes().split(b"\0", 1)[0].decode("ascii", "replace")
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
    firmware = build_firmware().read_bytes()
    memory, layout = firmware_memory(
        firmware, program, x_q, theta_x_q, theta_h_q, pipelined=pipelined
    )
    done_addr = MAIN_RAM_BASE + SUMMARY_OFFSET
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
