"""What a synthesis run found: :class:`SynthReport`, and the parsers of the tools' outputs
(Yosys' ``stat -json``, the output-register pass's ``outreg.json``, nextpnr-ecp5's
``--report`` JSON and the first error in its log).

A run directory holds every file these read, so :func:`report_from_build` rebuilds the
report of a finished or interrupted run without running a tool.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .devices import DEVICES, count_cells

__all__ = [
    "SynthReport",
    "read_nextpnr_error",
    "read_nextpnr_report",
    "read_output_registers",
    "report_from_build",
    "report_from_stat",
]


@dataclass
class SynthReport:
    """Resources and timing of one synthesis run (all counts are the design's, not the device's).

    ``lut``/``ff``/``dsp``/``bram`` come from Yosys' mapped netlist; for ECP5
    ``pnr_utilization`` holds nextpnr's post-route numbers and ``fmax_mhz`` the achieved clock.

    Attributes
    ----------
    target, part : str
        The :data:`~edgedrnn.synth.devices.DEVICES` key and the vendor's part number.
    design : str
        The design's name in the table.
    params : dict
        Parameters recorded with the run (e.g. ``{"num_pe": 8, "bus_bits": 64}``).
    lut, ff, dsp, bram, lutram : int or float
        Resources by the family's counting rules (:mod:`edgedrnn.synth.devices`).
    capacity : dict
        The device's ``lut``, ``ff``, ``dsp`` and ``bram``.
    cells : dict
        Cell type → number of cells in the netlist.
    fmax_mhz, target_mhz : float or None
        nextpnr's achieved clock and the clock it was given (ECP5 with place and route).
    pnr_utilization : dict
        nextpnr's post-route ``{resource: {"used", "available"}}`` (used resources only).
    pnr_error : str
        nextpnr's first error when place and route failed.
    pnr_options : list of str
        The nextpnr options beyond device, netlist and report (clock, seed, timing options).
    ram_output_registers : int
        ECP5: block-RAM read ports given the flip-flops behind them as output registers
        (:func:`edgedrnn.synth.outreg.absorb_output_registers`; ``ff`` counts what is left).
    seconds : dict
        Seconds each stage took.
    tool_versions : dict
        The tools' ``--version``.
    build_dir : str
        The run directory ("" when it was a temporary one).
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
    pnr_options: list[str] = field(default_factory=list)
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
        """The report's fields, with ``fits`` and ``meets_timing`` (what :meth:`save` writes)."""
        d = asdict(self)
        d["fits"] = self.fits
        d["meets_timing"] = self.meets_timing
        return d

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (its folder is made); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


# ------------------------------------------------------------------ Yosys
def _cells_of(stat: dict[str, Any]) -> dict[str, int]:
    """Cell type → count of the top design in Yosys' ``stat -json`` output."""
    design = stat.get("design") or next(iter(stat.get("modules", {}).values()), {})
    return {str(k): int(v) for k, v in design.get("num_cells_by_type", {}).items()}


def report_from_stat(
    work: Path, target: str, name: str, params: dict[str, Any] | None
) -> SynthReport:
    """A :class:`SynthReport` with Yosys' resource counts from ``work/stat.json``.

    Parameters
    ----------
    work : Path
        The run directory.
    target : str
        The :data:`~edgedrnn.synth.devices.DEVICES` key.
    name : str
        The design's name in the report.
    params : dict or None
        Parameters recorded in the report.
    """
    dev = DEVICES[target]
    cells = _cells_of(json.loads((work / "stat.json").read_text()))
    counts = count_cells(dev, cells)
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
        capacity=dev.capacity,
        cells=cells,
    )


# ------------------------------------------------------------------ output-register pass
def read_output_registers(work: Path, report: SynthReport) -> None:
    """Take the flip-flops listed in ``work/outreg.json`` (moved into block RAMs) off the
    report's Yosys counts; nothing when the pass did not run."""
    path = work / "outreg.json"
    if not path.exists():
        return
    ports = json.loads(path.read_text())
    moved = sum(int(p["flip_flops"]) for p in ports)
    report.ram_output_registers = len(ports)
    report.ff -= moved
    report.cells["TRELLIS_FF"] = report.cells.get("TRELLIS_FF", 0) - moved


# ------------------------------------------------------------------ nextpnr
def read_nextpnr_report(report: SynthReport, nextpnr_report: dict[str, Any]) -> None:
    """Set ``report``'s Fmax (the slowest clock's) and post-route utilization from
    nextpnr-ecp5's ``--report`` JSON (loaded)."""
    fmax = [v["achieved"] for v in nextpnr_report.get("fmax", {}).values()]
    report.fmax_mhz = float(min(fmax)) if fmax else None
    report.pnr_utilization = {
        k: {"used": int(v["used"]), "available": int(v["available"])}
        for k, v in nextpnr_report.get("utilization", {}).items()
        if v.get("used")
    }


def read_nextpnr_error(report: SynthReport, log_path: Path, default: str) -> None:
    """Set ``report.pnr_error`` to the first ``ERROR`` line of nextpnr's log, or ``default``
    when the log has none."""
    errors = [
        ln.strip()
        for ln in log_path.read_text(errors="replace").splitlines()
        if ln.startswith("ERROR")
    ]
    report.pnr_error = errors[0] if errors else default


def report_from_build(
    build_dir: str | Path,
    target: str,
    *,
    name: str = "EdgeDRNN",
    params: dict[str, Any] | None = None,
    freq_mhz: float = 125.0,
) -> SynthReport:
    """Rebuild a :class:`SynthReport` from a run directory's tool outputs (no tools run).

    Reads ``stat.json`` and, for ECP5, ``outreg.json`` and nextpnr's ``nextpnr-report.json``
    or the error in ``nextpnr.log``; useful when a run was interrupted after a stage finished.

    Parameters
    ----------
    build_dir : str or Path
        The run directory (``synthesize(..., build_dir=...)``).
    target : str
        The :data:`~edgedrnn.synth.devices.DEVICES` key the run was for.
    name : str
        The design's name in the report.
    params : dict or None
        Parameters recorded in the report.
    freq_mhz : float
        The clock target the run was given.
    """
    work = Path(build_dir)
    report = report_from_stat(work, target, name, params)
    report.build_dir = str(work)
    if DEVICES[target].family == "ecp5":
        read_output_registers(work, report)
        report.target_mhz = freq_mhz
        rep_path, log_path = work / "nextpnr-report.json", work / "nextpnr.log"
        if rep_path.exists() and "fmax" in (rep := json.loads(rep_path.read_text())):
            read_nextpnr_report(report, rep)
        elif log_path.exists():
            read_nextpnr_error(report, log_path, "nextpnr-ecp5 did not finish")
    return report
