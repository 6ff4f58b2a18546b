"""Verilator co-simulation of the EdgeDRNN RTL.

:mod:`edgedrnn.sim.build` converts the Amaranth top level to Verilog and builds (and caches) a
Verilator model linked with the C++ harness in this package (``harness.cpp``) into a shared
library; :mod:`edgedrnn.sim.verilated` loads it through ctypes; :mod:`edgedrnn.sim.timing`
turns the testbench's per-step records into latency and cycles. The host driver talks to it through
:class:`edgedrnn.host.verilator.VerilatorTransport`.
"""

from __future__ import annotations

from .build import VerilatorNotFoundError, build_model, cache_root, generate_verilog
from .timing import StepTiming
from .verilated import SimError, VerilatedModel

__all__ = [
    "SimError",
    "StepTiming",
    "VerilatedModel",
    "VerilatorNotFoundError",
    "build_model",
    "cache_root",
    "generate_verilog",
]
