"""Open-source synthesis of the accelerator: Yosys and nextpnr-ecp5 from PyPI (YoWASP).

* :mod:`.flow`: the flow (Amaranth → RTLIL → Yosys → nextpnr) and its options;
* :mod:`.devices`: the FPGAs it targets and how their cells are counted;
* :mod:`.reports`: the :class:`SynthReport` a run writes, parsed from the tools' outputs;
* :mod:`.rtlil`: the design as Yosys reads it (memory collision marks);
* :mod:`.tools`: finding and running the YoWASP tools;
* :mod:`.outreg`: the netlist pass that moves flip-flops behind ECP5 block-RAM reads into
  the RAMs' output registers;
* :mod:`.postsynth`: Verilog of a synthesized netlist for simulation with Verilator, with
  our model of the ECP5 block RAM (``dp16kd.v``).

Example::

    from edgedrnn.synth import accelerator, synthesize
    report = synthesize(accelerator(num_pe=8), "ecp5-25k")
    print(report.table())
"""

from .devices import DEVICES, Device, count_ecp5, count_xc7
from .flow import accelerator, nextpnr_options, synthesize, yosys_script
from .reports import SynthReport, report_from_build
from .rtlil import collisions_dont_care, to_rtlil
from .tools import SynthesisError, ToolMissingError, find_tool

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
