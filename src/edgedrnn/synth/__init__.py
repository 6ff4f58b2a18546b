"""Open-source synthesis of the accelerator: Yosys and nextpnr-ecp5 from PyPI (YoWASP).

* :mod:`.flow`: the flow (Amaranth → RTLIL → Yosys → nextpnr), the devices it targets and
  the :class:`SynthReport` it writes;
* :mod:`.outreg`: the netlist pass that moves flip-flops behind ECP5 block-RAM reads into
  the RAMs' output registers;
* :mod:`.postsynth`: Verilog of a synthesized netlist for simulation with Verilator, with
  our model of the ECP5 block RAM (``dp16kd.v``).

Example::

    from edgedrnn.synth import accelerator, synthesize
    report = synthesize(accelerator(num_pe=8), "ecp5-25k")
    print(report.table())
"""

from .flow import (
    DEVICES,
    Device,
    SynthesisError,
    SynthReport,
    ToolMissingError,
    accelerator,
    collisions_dont_care,
    count_ecp5,
    count_xc7,
    find_tool,
    nextpnr_options,
    report_from_build,
    synthesize,
    to_rtlil,
    yosys_script,
)

__all__ = [
    "DEVICES",
    "Device",
    "SynthReport",
    "SynthesisError",
    "ToolMissingError",
    "accelerator",
    "collisions_dont_care",
    "count_ecp5",
    "count_xc7",
    "find_tool",
    "nextpnr_options",
    "report_from_build",
    "synthesize",
    "to_rtlil",
    "yosys_script",
]
