"""``SoCConfig``: the system around one accelerator (CPU, DRAM module and width, clock, buffers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: DRAM modules the simulation is tested with (litedram.modules class names).
TESTED_MODULES = ("MT48LC16M16", "MT41K128M16")
#: CPUs the SoC takes (LiteX ``cpu_type`` names); None: no CPU, the host drives the bus.
CPUS = (None, "vexriscv")


@dataclass(frozen=True)
class SoCConfig:
    """Parameters of the simulated SoC; the accelerator's own come from its
    :class:`~edgedrnn.config.HardwareConfig`.

    Parameters
    ----------
    sdram_module : str
        A ``litedram.modules`` class: ``"MT48LC16M16"`` (SDR, the boards' 16-bit chip) or
        ``"MT41K128M16"`` (DDR3, a MiniZed-class part).
    sdram_data_width : int
        DRAM data pins (chips side by side); the controller's native port is this times
        the PHY's phases (SDR 1, DDR3 4 at 1:4) times 2 for DDR.
    sys_clk_hz : int
        System clock the DRAM timings are computed for (the simulation counts cycles; the
        clock only sets how many cycles tREFI, tRP, ... are).
    read_buffer_beats : int
        LiteDRAM AXI read buffer (beats); it bounds the reads in flight.
    fifo_steps : int
        The x_in / h_out FIFOs hold this many steps of the largest sizes the hardware takes
        (a sequence queued whole runs back to back: :mod:`edgedrnn.soc.measure`).
    cpu : str or None
        None (default): no CPU, the host drives the bus over the bridge. ``"vexriscv"``: a
        VexRiscv that boots from the DRAM and runs the C runtime's firmware
        (:mod:`edgedrnn.runtime.firmware`), with an SRAM for its stack
        (:class:`~edgedrnn.soc.system.EdgeDRNNSoC`).
    """

    sdram_module: str = "MT48LC16M16"
    sdram_data_width: int = 32
    sys_clk_hz: int = 100_000_000
    read_buffer_beats: int = 32
    fifo_steps: int = 32
    cpu: str | None = None

    def __post_init__(self) -> None:
        if self.cpu not in CPUS:
            raise ValueError(f"cpu must be one of {CPUS}, got {self.cpu!r}")

    def as_dict(self) -> dict[str, object]:
        """The fields as a plain dict (part of the build's cache key)."""
        return asdict(self)
