"""The SoC of :mod:`edgedrnn.soc` with a CPU: a VexRiscv that runs the C runtime's firmware.

:class:`FirmwareSoC` is :class:`edgedrnn.soc.system.EdgeDRNNSoC`'s system (the accelerator,
the LiteDRAM controller and its simulated DRAM, the StreamWindow, the UART bridge) plus a
VexRiscv (``pythondata-cpu-vexriscv``, variant ``standard``: RV32IM, instruction and
write-through data caches) that boots from the DRAM and an 8 KiB SRAM for its stack::

    0x1000_0000 sram (stack)            0x4000_0000 main_ram: firmware, runtime image, inputs
    0x8000_0000 EdgeDRNN registers      0x8000_1000 StreamWindow     0xF000_0000 LiteX CSRs

The firmware and its data are preloaded into the DRAM like the weights
(:class:`~edgedrnn.soc.simulation.SoCSimulation`), so a new firmware needs no rebuild; the
host keeps the bridge to read the results. :func:`build_firmware_soc` builds and caches the
simulator as :func:`edgedrnn.soc.build.build_soc` does (same layout, same cache folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from ..config import HardwareConfig
from ..sim.build import find_verilator, generate_verilog
from ..soc.build import BANKS_FILE, SIM_BINARY, _bank_files, build_key, cache_root
from ..soc.config import SoCConfig
from ..support.cache import locked, make_temp_dir, publish_dir

#: The CPU and its variant.
CPU_TYPE = "vexriscv"
CPU_VARIANT = "standard"
#: Integrated SRAM (the firmware's stack).
SRAM_BASE = 0x1000_0000
SRAM_SIZE = 0x2000


def firmware_soc_class():
    """The :class:`FirmwareSoC` class (LiteX is imported only when it is needed)."""
    from litedram.frontend.axi import LiteDRAMAXI2Native
    from litedram.phy.model import SDRAMPHYModel
    from litex.soc.cores.uart import RS232PHYModel, UARTBone
    from litex.soc.integration.soc import SoCRegion
    from litex.soc.integration.soc_core import SoCCore
    from migen.genlib.io import CRG

    from ..hw import regmap
    from ..soc.core import EdgeDRNNCore
    from ..soc.dram import wide_port
    from ..soc.streams import WINDOW_SIZE, StreamWindow
    from ..soc.system import (
        EDGEDRNN_BASE,
        MAIN_RAM_BASE,
        PLACEHOLDER_BYTES,
        STREAMS_BASE,
        SimSoCPlatform,
        dram_module,
        fifo_depths,
    )

    class FirmwareSoC(SoCCore):
        """EdgeDRNNSoC's system with a VexRiscv booting from ``main_ram`` (module docstring).

        Parameters
        ----------
        hw : HardwareConfig
            The accelerator (its Verilog added to the platform as ``edgedrnn_top``).
        soc : SoCConfig
            DRAM module and width, clock, read buffer.
        """

        def __init__(self, hw: HardwareConfig, soc: SoCConfig) -> None:
            platform = SimSoCPlatform()
            self.crg = CRG(platform.request("sys_clk"))
            SoCCore.__init__(
                self,
                platform,
                clk_freq=soc.sys_clk_hz,
                cpu_type=CPU_TYPE,
                cpu_variant=CPU_VARIANT,
                cpu_reset_address=MAIN_RAM_BASE,
                integrated_rom_size=0,
                integrated_sram_size=SRAM_SIZE,
                with_uart=False,
                with_timer=True,  # timer0 (the CPU's interrupt controller needs a source)
                ident="EdgeDRNN SoC with VexRiscv",
            )
            self.bridge_phy = RS232PHYModel(platform.request("serial"))
            self.bridge = UARTBone(self.bridge_phy, clk_freq=soc.sys_clk_hz)
            self.bus.add_master(name="bridge", master=self.bridge.wishbone)

            module = dram_module(soc)
            self.sdrphy = SDRAMPHYModel(
                module=module,
                data_width=soc.sdram_data_width,
                clk_freq=soc.sys_clk_hz,
                init=[0] * (PLACEHOLDER_BYTES // 4),
            )
            self.add_sdram("sdram", phy=self.sdrphy, module=module, l2_cache_size=0)

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

    return FirmwareSoC


def firmware_build_key(verilog_text: str, soc: SoCConfig) -> str:
    """:func:`edgedrnn.soc.build.build_key` extended with this module and the CPU."""
    h = hashlib.sha256(build_key(verilog_text, soc).encode())
    h.update(Path(__file__).read_bytes())
    h.update(f"{CPU_TYPE}:{CPU_VARIANT}".encode())
    return "cpu-" + h.hexdigest()[:28]


def build_firmware_soc(hw: HardwareConfig, soc: SoCConfig, *, jobs: int | None = None) -> Path:
    """Folder of the simulator build of :class:`FirmwareSoC` for ``hw`` in ``soc`` (the
    layout of :func:`edgedrnn.soc.build.build_soc`), building it if needed (a few minutes
    on 2 cores: the VexRiscv adds to the Verilator build)."""
    find_verilator()
    text = generate_verilog(hw, emit_src=False)
    key = firmware_build_key(text, soc)
    root = cache_root()
    final = root / key
    if (final / SIM_BINARY).exists():
        return final
    with locked(root / f"{key}.lock"):
        if (final / SIM_BINARY).exists():
            return final
        tmp = make_temp_dir(root, key)
        try:
            _build_in(tmp, hw, soc, text, jobs)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        publish_dir(tmp, final)
    return final


def _build_in(
    work: Path, hw: HardwareConfig, soc: SoCConfig, verilog_text: str, jobs: int | None
) -> None:
    from litex.build.sim.config import SimConfig
    from litex.soc.integration.builder import Builder

    top = work / "edgedrnn_top.v"
    top.write_text(verilog_text)
    system = firmware_soc_class()(hw, soc)
    system.platform.add_source(str(top))
    sim_config = SimConfig()
    sim_config.add_clocker("sys_clk", freq_hz=soc.sys_clk_hz)
    sim_config.add_module("serial2tcp", "serial", args={"port": 1})
    builder = Builder(
        system,
        output_dir=str(work),
        gateware_dir=str(work / "gateware"),
        compile_software=False,
        csr_csv=str(work / "csr.csv"),
    )
    if jobs is None:
        jobs = int(os.environ.get("EDGEDRNN_BUILD_JOBS", "2"))
    cwd = os.getcwd()
    try:
        vns = builder.build(sim_config=sim_config, run=False, interactive=False, jobs=jobs)
    finally:
        os.chdir(cwd)
    banks = _bank_files(system, vns)
    script = work / "gateware" / "build_sim.sh"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(
        ["bash", script.name], cwd=script.parent, capture_output=True, text=True, env=env
    )
    (work / "build.log").write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0 or not (work / SIM_BINARY).exists():
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise RuntimeError(f"LiteX simulator build failed (exit {proc.returncode}):\n{tail}")
    (work / BANKS_FILE).write_text(json.dumps(banks, indent=2))
    obj = work / "gateware" / "obj_dir"
    for path in obj.iterdir():
        if path.name != "Vsim":
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
