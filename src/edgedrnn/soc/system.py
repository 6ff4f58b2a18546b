"""``EdgeDRNNSoC``: a LiteX SoC with the accelerator, a LiteDRAM controller and a host bridge.

No CPU: the host drives the bus through a UART bridge (LiteX's ``UARTBone`` on the
simulator's serial stream, which the ``serial2tcp`` module puts on a TCP port)::

    host ─TCP─▶ serial2tcp ─▶ UARTBone ─▶ Wishbone ─┬─▶ 0x4000_0000 main_ram (DRAM, no cache)
                                                    ├─▶ 0x8000_0000 EdgeDRNN registers
                                                    │     (Wishbone → AXI4-Lite)
                                                    ├─▶ 0x8000_1000 StreamWindow
                                                    │     x_in FIFO ─▶ x_in
                                                    │     h_out FIFO ◀─ h_out
                                                    │     events ─▶ irq_line
                                                    └─▶ 0xF000_0000 LiteX CSRs (ctrl, sdram)
    EdgeDRNN mem (AXI4 read) ─▶ LiteDRAMAXI2Native ─▶ crossbar port (NativeDownConverter
    when the bus is wider than the controller) ─▶ controller ─▶ PHY model
"""

from __future__ import annotations

from litedram import modules as litedram_modules
from litedram.frontend.axi import LiteDRAMAXI2Native
from litedram.phy.model import SDRAMPHYModel, sdram_module_nphases
from litex.build.generic_platform import Pins, Subsignal
from litex.build.sim import SimPlatform
from litex.soc.cores.uart import RS232PHYModel, UARTBone
from litex.soc.integration.soc import SoCRegion
from litex.soc.integration.soc_core import SoCCore
from migen.genlib.io import CRG

from ..config import HardwareConfig
from ..hw import regmap
from .config import SoCConfig
from .core import EdgeDRNNCore
from .dram import wide_port
from .streams import WINDOW_SIZE, StreamWindow

#: Base addresses on the SoC bus (bytes).
MAIN_RAM_BASE = 0x4000_0000
EDGEDRNN_BASE = 0x8000_0000
STREAMS_BASE = 0x8000_1000
#: Placeholder DRAM contents the build is generated with (every bank gets an init file that
#: a run rewrites with the program's weight image).
PLACEHOLDER_BYTES = 64 * 1024

_IO = [
    ("sys_clk", 0, Pins(1)),
    ("sys_rst", 0, Pins(1)),
    (
        "serial",
        0,
        Subsignal("source_valid", Pins(1)),
        Subsignal("source_ready", Pins(1)),
        Subsignal("source_data", Pins(8)),
        Subsignal("sink_valid", Pins(1)),
        Subsignal("sink_ready", Pins(1)),
        Subsignal("sink_data", Pins(8)),
    ),
]


class SimSoCPlatform(SimPlatform):
    """LiteX's Verilator platform with a clock and the serial stream."""

    def __init__(self) -> None:
        SimPlatform.__init__(self, "SIM", _IO)


def dram_module(soc: SoCConfig):
    """The ``litedram.modules`` instance of ``soc.sdram_module`` at ``soc.sys_clk_hz``."""
    cls = getattr(litedram_modules, soc.sdram_module)
    rate = f"1:{sdram_module_nphases[cls.memtype]}"
    return cls(soc.sys_clk_hz, rate)


def fifo_depths(hw: HardwareConfig, soc: SoCConfig) -> tuple[int, int]:
    """Depths in beats of the x_in and h_out FIFOs: ``soc.fifo_steps`` steps of the largest
    input and hidden sizes."""
    beats = regmap.stream_beats
    return (
        soc.fifo_steps * beats(hw.max_input_size, hw.num_pe),
        soc.fifo_steps * beats(hw.max_hidden_size, hw.num_pe),
    )


class EdgeDRNNSoC(SoCCore):
    """The SoC of the module docstring.

    Parameters
    ----------
    hw : HardwareConfig
        The accelerator (its Verilog must be added to the platform as ``edgedrnn_top``).
    soc : SoCConfig
        DRAM module and width, clock, read buffer.

    Attributes
    ----------
    sdrphy : SDRAMPHYModel
        The DRAM model; its bank memories are initialised from files a run rewrites.
    edgedrnn : EdgeDRNNCore
        The accelerator.
    streams : StreamWindow
        x_in / h_out FIFOs and the interrupt events (step done, x_in empty).
    irq_line : Signal
        The accelerator's interrupt request (``streams.irq``): high while an enabled event
        is pending. This SoC has no CPU; with one that takes interrupts, LiteX wires
        ``streams`` to an interrupt of its own (``STREAMS_INTERRUPT`` in the generated
        headers).
    """

    def __init__(self, hw: HardwareConfig, soc: SoCConfig) -> None:
        platform = SimSoCPlatform()
        self.crg = CRG(platform.request("sys_clk"))
        SoCCore.__init__(
            self,
            platform,
            clk_freq=soc.sys_clk_hz,
            cpu_type=None,
            integrated_rom_size=0,
            integrated_sram_size=0,
            with_uart=False,
            with_timer=False,
            ident="EdgeDRNN SoC",
        )
        # Host bridge: UARTBone on the simulator's serial stream.
        self.bridge_phy = RS232PHYModel(platform.request("serial"))
        self.bridge = UARTBone(self.bridge_phy, clk_freq=soc.sys_clk_hz)
        self.bus.add_master(name="bridge", master=self.bridge.wishbone)

        # DRAM: PHY model with the module's timings, controller, main_ram window (no cache,
        # so the host's writes and the accelerator's reads see the same memory).
        module = dram_module(soc)
        self.sdrphy = SDRAMPHYModel(
            module=module,
            data_width=soc.sdram_data_width,
            clk_freq=soc.sys_clk_hz,
            init=[0] * (PLACEHOLDER_BYTES // 4),
        )
        self.add_sdram("sdram", phy=self.sdrphy, module=module, l2_cache_size=0)

        # The accelerator.
        self.edgedrnn = core = EdgeDRNNCore(hw.num_pe, hw.bus_bits)
        port, converter = wide_port(self.sdram.crossbar, hw.bus_bits)
        if converter is not None:
            self.edgedrnn_converter = converter
        self.edgedrnn_dram = LiteDRAMAXI2Native(
            core.mem, port, r_buffer_depth=soc.read_buffer_beats
        )
        self.bus.add_slave(
            name="edgedrnn",
            slave=core.csr,
            region=SoCRegion(origin=EDGEDRNN_BASE, size=1 << regmap.ADDR_BITS, cached=False),
        )
        x_depth, h_depth = fifo_depths(hw, soc)
        self.streams = streams = StreamWindow(hw.num_pe, x_depth=x_depth, h_depth=h_depth)
        self.bus.add_slave(
            name="streams",
            slave=streams.bus,
            region=SoCRegion(origin=STREAMS_BASE, size=WINDOW_SIZE, cached=False),
        )
        self.comb += [
            streams.x_source.connect(core.x_sink),
            core.h_source.connect(streams.h_sink),
        ]
        self.irq_line = streams.irq
        if self.irq.enabled:  # a CPU with interrupts (none here)
            self.irq.add("streams", use_loc_if_exists=True)
