"""Host side of the EdgeDRNN accelerator: the register-level driver and its transports.

The driver (:class:`EdgeDRNNDriver`) knows the register map and the step protocol; a
:class:`Transport` only moves 32-bit register values, stream beats and memory bytes. Swap the
transport to run the same driver against the Verilator model
(:class:`~edgedrnn.host.verilator.VerilatorTransport`), the design in the Amaranth simulator
(:class:`~edgedrnn.host.amaranth_sim.AmaranthTransport`), the pure-Python emulation
(:class:`~edgedrnn.host.emulator.EmulatedTransport`) or a real board.
"""

from __future__ import annotations

from .driver import DeviceInfo, DriverError, EdgeDRNNDriver, RunOutput
from .transport import Transport

__all__ = ["DeviceInfo", "DriverError", "EdgeDRNNDriver", "RunOutput", "Transport"]
