"""The FPGAs the flow targets, their capacity, and how a mapped netlist's cells are counted.

Each family's resources are counted in the device's own units: 7-series LUT (distributed RAM
and shift registers included), FF, DSP48E1 and BRAM36; ECP5 LUT4 (carry and distributed-RAM
cells included), FF, MULT18X18D and EBR (DP16KD, 18 kbit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEVICES", "Device", "count_cells", "count_ecp5", "count_xc7"]


@dataclass(frozen=True)
class Device:
    """An FPGA and its capacity in the units of the report.

    Parameters
    ----------
    name : str
        The target's name in :data:`DEVICES` and on the command line.
    family : str
        ``"xc7"`` (Yosys only) or ``"ecp5"`` (Yosys, then nextpnr-ecp5).
    part : str
        The vendor's part number.
    lut, ff, dsp, bram : int
        Capacity: LUTs (LUT4 on ECP5), flip-flops, hard multipliers, block RAMs.
    bram_unit, dsp_unit : str
        The names of the block RAM and multiplier primitives in the report.
    nextpnr_args : tuple of str
        nextpnr-ecp5's device, package and speed-grade options.
    timing_ripup : bool
        Whether nextpnr's timing-driven rip-up is on by default
        (:data:`edgedrnn.synth.flow.NEXTPNR_TIMING_RIPUP`).
    """

    name: str
    family: str
    part: str
    lut: int
    ff: int
    dsp: int
    bram: int
    bram_unit: str
    dsp_unit: str
    nextpnr_args: tuple[str, ...] = ()
    timing_ripup: bool = True

    @property
    def capacity(self) -> dict[str, int]:
        """``{"lut", "ff", "dsp", "bram"}``: the resources of the report's table."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram": self.bram}


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

#: LUTs taken by Xilinx distributed-RAM / shift-register primitives (they sit in SLICEM LUTs).
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


def count_xc7(cells: dict[str, int]) -> dict[str, Any]:
    """LUT/FF/DSP/BRAM36 of a ``synth_xilinx`` netlist's cell counts (LUTRAM and SRLs in LUTs).

    Parameters
    ----------
    cells : dict
        Cell type → number of cells (Yosys ``stat``).
    """
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
    """LUT4/FF/MULT18/EBR of a ``synth_ecp5`` netlist's cell counts.

    A CCU2C carry cell holds 2 LUT4s, a TRELLIS_DPR16X4 distributed RAM 4 LUT4s' worth of
    slice logic.

    Parameters
    ----------
    cells : dict
        Cell type → number of cells (Yosys ``stat``).
    """
    lutram = 4 * cells.get("TRELLIS_DPR16X4", 0)
    return {
        "lut": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + lutram,
        "lutram": lutram,
        "ff": cells.get("TRELLIS_FF", 0),
        "dsp": cells.get("MULT18X18D", 0),
        "bram": float(cells.get("DP16KD", 0) + cells.get("PDPW16KD", 0)),
    }


def count_cells(device: Device, cells: dict[str, int]) -> dict[str, Any]:
    """The resources of ``cells`` by the counting rules of ``device``'s family.

    Parameters
    ----------
    device : Device
        The target; its family selects :func:`count_xc7` or :func:`count_ecp5`.
    cells : dict
        Cell type → number of cells (Yosys ``stat``).
    """
    return count_xc7(cells) if device.family == "xc7" else count_ecp5(cells)
