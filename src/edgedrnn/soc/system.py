"""``EdgeDRNNSoC``: a LiteX SoC with the accelerator, a LiteDRAM controller and a host bridge.

The host drives the bus through a UART bridge (LiteX's ``UARTBone`` on the simulator's
serial stream, which the ``serial2tcp`` module puts on a TCP port)::

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

With ``SoCConfig(cpu="vexriscv")`` the SoC also has a CPU, a VexRiscv (``pythondata-cpu-
vexriscv``, variant ``standard``: RV32IM, instruction and write-through data caches) that boots
from ``main_ram`` (its firmware is preloaded into the DRAM like the weights), a 32 KiB SRAM at
``0x1000_0000`` for its stack and working data, and LiteX's timer; the bridge stays, for the
host to read results and to be the other end of the CPU's UART (LiteX's ``crossover``: the
CPU writes ``uart_rxtx`` as on a board, the host reads ``uart_xover_rxtx`` over the bridge).
The timer has its uptime counter, which is also the StreamWindow's time base.

:func:`add_edgedrnn` adds the accelerator to any LiteX SoC with a LiteDRAM controller (this
one, or a board's target).
"""

from __future__ import annotations

from litedram import modules as litedram_modules
from litedram.frontend.axi import LiteDRAMAXI2Native
from litedram.phy.model import SDRAMPHYModel, sdram_module_nphases
from litex.build.generic_platform import Pins, Subsignal
from litex.build.sim import SimPlatform
from litex.soc.cores.uart import RS232PHYModel, UARTBone
from litex.soc.integration.soc import SoC, SoCRegion
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
#: The CPU of ``SoCConfig(cpu="vexriscv")``: its variant, its SRAM (the firmware's stack and
#: the buffers of its timed loops, which then leave the DRAM to the accelerator).
CPU_VARIANT = "standard"
SRAM_BASE = 0x1000_0000
SRAM_SIZE = 0x8000
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


def add_edgedrnn(
    soc: SoC,
    hw: HardwareConfig,
    config: SoCConfig,
    *,
    edgedrnn_base: int = EDGEDRNN_BASE,
    streams_base: int = STREAMS_BASE,
) -> StreamWindow:
    """Add the accelerator to a LiteX SoC that has a LiteDRAM controller (``soc.sdram``).

    Adds ``soc.edgedrnn`` (:class:`~edgedrnn.soc.core.EdgeDRNNCore`: the accelerator's
    Verilog must be added to the platform as ``edgedrnn_top``), its AXI4 read port on the
    DRAM crossbar (``soc.edgedrnn_dram``, with ``soc.edgedrnn_converter`` when the
    accelerator's bus is wider than the controller's port), its registers as a bus slave at
    ``edgedrnn_base`` (Wishbone → AXI4-Lite) and ``soc.streams``
    (:class:`~edgedrnn.soc.streams.StreamWindow`) at ``streams_base``, with the
    accelerator's x_in and h_out on its FIFOs. When the SoC's CPU takes interrupts, the
    window's ``irq`` becomes the interrupt ``streams``. When the SoC's timer has its uptime
    counter (``timer_uptime``), the window's timestamps (CYCLE, X_START, H_ENDS) are its low
    32 bits: the step ends the window records and the CPU's reads of the timer count the
    same cycles.

    Parameters
    ----------
    soc : litex.soc.integration.soc.SoC
        The SoC, after ``add_sdram``.
    hw : HardwareConfig
        The accelerator.
    config : SoCConfig
        ``read_buffer_beats`` (the AXI read buffer) and ``fifo_steps`` (the FIFO depths:
        :func:`fifo_depths`); the other fields are the SoC's own.
    edgedrnn_base, streams_base : int
        Bus addresses of the register block (``1 << regmap.ADDR_BITS`` bytes) and of the
        window (``WINDOW_SIZE`` bytes), both uncached.

    Returns
    -------
    StreamWindow
        ``soc.streams``.
    """
    soc.edgedrnn = core = EdgeDRNNCore(hw.num_pe, hw.bus_bits)
    port, converter = wide_port(soc.sdram.crossbar, hw.bus_bits)
    if converter is not None:
        soc.edgedrnn_converter = converter
    soc.edgedrnn_dram = LiteDRAMAXI2Native(core.mem, port, r_buffer_depth=config.read_buffer_beats)
    soc.bus.add_slave(
        name="edgedrnn",
        slave=core.csr,
        region=SoCRegion(origin=edgedrnn_base, size=1 << regmap.ADDR_BITS, cached=False),
    )
    x_depth, h_depth = fifo_depths(hw, config)
    timer = getattr(soc, "timer0", None)
    uptime = getattr(timer, "uptime_cycles", None) if timer is not None else None
    soc.streams = streams = StreamWindow(hw.num_pe, x_depth=x_depth, h_depth=h_depth, time=uptime)
    soc.bus.add_slave(
        name="streams",
        slave=streams.bus,
        region=SoCRegion(origin=streams_base, size=WINDOW_SIZE, cached=False),
    )
    soc.comb += [
        streams.x_source.connect(core.x_sink),
        core.h_source.connect(streams.h_sink),
    ]
    if soc.irq.enabled:  # a CPU that takes interrupts
        soc.irq.add("streams", use_loc_if_exists=True)
    return streams


class EdgeDRNNSoC(SoCCore):
    """The SoC of the module docstring.

    Parameters
    ----------
    hw : HardwareConfig
        The accelerator (its Verilog must be added to the platform as ``edgedrnn_top``).
    soc : SoCConfig
        CPU, DRAM module and width, clock, read buffer, FIFO depths.

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
        is pending; with the CPU it is also the CPU's interrupt ``streams``
        (``STREAMS_INTERRUPT`` in LiteX's generated headers).
    """

    def __init__(self, hw: HardwareConfig, soc: SoCConfig) -> None:
        platform = SimSoCPlatform()
        self.crg = CRG(platform.request("sys_clk"))
        if soc.cpu is None:
            cpu = {
                "cpu_type": None,
                "integrated_sram_size": 0,
                "with_timer": False,
                "with_uart": False,
            }
            ident = "EdgeDRNN SoC"
        else:
            cpu = {
                "cpu_type": soc.cpu,
                "cpu_variant": CPU_VARIANT,
                "cpu_reset_address": MAIN_RAM_BASE,  # the firmware, preloaded into the DRAM
                "integrated_sram_size": SRAM_SIZE,
                "with_timer": True,  # the CPU's interrupt controller needs a source
                "timer_uptime": True,  # the firmware's timestamps
                # the CPU's console: a UART whose other end is CSRs the host reads over the
                # bridge (uart_xover_*), the board's serial port in the simulation
                "with_uart": True,
                "uart_name": "crossover",
            }
            ident = f"EdgeDRNN SoC with {soc.cpu}"
        SoCCore.__init__(
            self,
            platform,
            clk_freq=soc.sys_clk_hz,
            integrated_rom_size=0,
            ident=ident,
            **cpu,
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

        self.irq_line = add_edgedrnn(self, hw, soc).irq
