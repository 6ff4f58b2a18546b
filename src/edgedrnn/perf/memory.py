"""The memory system behind the accelerator's weight port: how fast a DRAM controller streams
the columns the RTL schedule asks for.

:mod:`edgedrnn.perf.rtl` assumes the weight port delivers one bus beat per cycle after a fixed
latency (the rtl backend's testbench). Behind a real DRAM controller (the ``soc`` backend:
LiteDRAM with a simulated chip, docs/soc.md) a column streams no faster than the controller's
port allows, and refresh, row changes and the AXI-to-controller conversion cost some of that.
A :class:`MemorySystem` describes the port with four numbers, and the RTL model uses them in
one place, the cycles a column occupies the weight stream (:meth:`MemorySystem.column_cycles`)::

    c_mem = max(c, bytes / min(bus, peak) / efficiency) + overhead

where ``c`` is the ideal port's column (:func:`edgedrnn.perf.rtl.column_cycles`: the bus beats
or the PE array's chunks, whichever is more), ``bytes`` the column's padded size in DRAM,
``bus`` the accelerator's bus bytes, ``peak`` the controller port's bytes per cycle,
``efficiency`` the fraction of the time the transfer flows at the slower of the two (the rest
goes to refresh and row changes; a PE array slower than the transfer hides them) and
``overhead`` the cycles each column (one AXI burst) adds; and the memory latency ``Lm`` (AR
handshake to first R beat) replaces the ideal port's 1. Everything else
(scan, encoder, activation, the layer and step schedule) is the RTL model's own.

The presets (:data:`PRESETS`) are the memories the SoC simulation is built with, calibrated
on its back-to-back runs at a 100 MHz system clock (``benchmarks/soc_cycles.py``; the fit and
the error table in docs/perf-model.md, *Memory system*). The DRAM timings are in cycles of
that clock: at another clock tRCD, tRP and refresh take another number of cycles, so the
presets are an estimate there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..config import HardwareConfig

__all__ = ["IDEAL", "PRESETS", "SIMULATED", "MemorySystem", "for_dram", "preset"]


@dataclass(frozen=True)
class MemorySystem:
    """A weight memory as the RTL cycle model sees it.

    Parameters
    ----------
    name : str
        What it is (a preset's key, or a description).
    peak_bytes_per_cycle : float
        The controller port's peak: DRAM data pins × phases × (2 for DDR) / 8 bytes per
        system cycle; ``math.inf`` for a port as fast as the accelerator's bus (the ideal
        memory).
    efficiency : float
        Fraction of the time a long stream of columns is transferred (refresh, row changes,
        bank conflicts take the rest), in (0, 1].
    column_overhead : float
        Cycles each column (one AXI burst) adds to the stream.
    latency : int
        Cycles from an AR handshake to its first R beat (``Lm`` of the RTL model).
    """

    name: str
    peak_bytes_per_cycle: float = math.inf
    efficiency: float = 1.0
    column_overhead: float = 0.0
    latency: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"efficiency must be in (0, 1], got {self.efficiency}")
        if self.peak_bytes_per_cycle <= 0 or self.column_overhead < 0 or self.latency < 1:
            raise ValueError("peak must be > 0, column_overhead >= 0, latency >= 1")

    @property
    def bytes_per_cycle(self) -> float:
        """Sustained bytes per cycle on long streams where the port is the bound:
        ``peak · efficiency``."""
        return self.peak_bytes_per_cycle * self.efficiency

    @property
    def is_ideal(self) -> bool:
        """True if the memory never slows a column (the RTL model's ideal port)."""
        return (
            math.isinf(self.peak_bytes_per_cycle)
            and self.efficiency == 1
            and self.column_overhead == 0
        )

    def column_cycles(self, ideal_cycles: float, column_bytes: int, bus_bytes: int) -> float:
        """Cycles a column of ``column_bytes`` occupies the weight stream behind this memory,
        where the ideal port (``bus_bytes`` a beat) takes ``ideal_cycles``."""
        if self.is_ideal:
            return ideal_cycles
        rate = min(float(bus_bytes), self.peak_bytes_per_cycle)
        transfer = column_bytes / rate / self.efficiency
        return max(float(ideal_cycles), transfer) + self.column_overhead

    def gb_per_s(self, clock_mhz: float) -> float:
        """Sustained bandwidth in GB/s at a clock of ``clock_mhz``."""
        return self.bytes_per_cycle * clock_mhz * 1e-3

    def with_bandwidth(self, bytes_per_cycle: float) -> MemorySystem:
        """The same memory with its peak set so it sustains ``bytes_per_cycle``."""
        return replace(self, peak_bytes_per_cycle=bytes_per_cycle / self.efficiency)

    @classmethod
    def ideal_for(cls, hw: HardwareConfig) -> MemorySystem:
        """The ideal port of ``hw``'s bus width (one beat per cycle, 1 cycle latency)."""
        return cls(f"ideal {hw.bus_bits}-bit port")


#: The rtl backend's testbench memory: one beat per cycle, 1 cycle latency, no refresh.
IDEAL = MemorySystem("ideal")

#: The SoC simulation's memories (docs/soc.md), calibrated at a 100 MHz system clock on its
#: back-to-back runs of 2L-64H and 2L-256H (``benchmarks/soc_cycles.py --fit``).
PRESETS: dict[str, MemorySystem] = {
    "ideal": IDEAL,
    "sdr32": MemorySystem(
        "MT48LC16M16 SDR, 32 pins", 4.0, efficiency=0.96, column_overhead=0.25, latency=35
    ),
    "sdr64": MemorySystem(
        "MT48LC16M16 SDR, 64 pins", 8.0, efficiency=0.95, column_overhead=0.0, latency=20
    ),
    "ddr3x16": MemorySystem(
        "MT41K128M16 DDR3 x16, 1:4", 16.0, efficiency=0.96, column_overhead=0.0, latency=30
    ),
}


#: The preset of each DRAM the SoC simulation is built with: (litedram module, data pins).
SIMULATED: dict[tuple[str, int], str] = {
    ("MT48LC16M16", 32): "sdr32",
    ("MT48LC16M16", 64): "sdr64",
    ("MT41K128M16", 16): "ddr3x16",
}


def for_dram(module: str, data_width: int) -> MemorySystem:
    """The preset of a simulated DRAM (``SoCConfig.sdram_module``, ``sdram_data_width``)."""
    try:
        return PRESETS[SIMULATED[module, data_width]]
    except KeyError:
        raise ValueError(f"no memory preset for {module} on {data_width} pins") from None


def preset(name: str) -> MemorySystem:
    """The preset ``name`` (a key of :data:`PRESETS`)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown memory {name!r}; choose one of {', '.join(PRESETS)}") from None
