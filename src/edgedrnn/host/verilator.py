"""``VerilatorTransport``: the :class:`~edgedrnn.host.transport.Transport` of the Verilator
co-simulation (register accesses run the AXI4-Lite handshakes in C++, streams go through
randomly stalled queues, memory writes load the AXI4 memory model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import HardwareConfig
from ..sim.build import build_model
from ..sim.timing import StepTiming
from ..sim.verilated import VerilatedModel


class VerilatorTransport:
    """Transport to a Verilated EdgeDRNN.

    Args:
        model: a :class:`~edgedrnn.sim.verilated.VerilatedModel`.
    """

    def __init__(self, model: VerilatedModel) -> None:
        self.model = model

    @classmethod
    def for_hardware(cls, hw: HardwareConfig, **options: Any) -> VerilatorTransport:
        """Build (or fetch from the cache) the model for ``hw`` and connect to it.

        ``options`` go to :class:`~edgedrnn.sim.verilated.VerilatedModel` (``seed``,
        ``mem_latency``, ``mem_stall``, ``stream_stall``, ...).
        """
        return cls(VerilatedModel(build_model(hw), **options))

    def read_reg(self, addr: int) -> int:
        return self.model.csr_read(addr)

    def write_reg(self, addr: int, value: int) -> None:
        self.model.csr_write(addr, value)

    def write_stream(self, beats: np.ndarray) -> None:
        self.model.push_x(beats)

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.model.pop_h(n)

    def write_memory(self, addr: int, data: bytes) -> None:
        self.model.mem_write(addr, data)

    def set_pacing(self, step_beats: int, frame_cycles: int = 0) -> None:
        """Number x_in beats by steps of ``step_beats`` and offer step t's first beat no
        earlier than ``frame_cycles`` after step t-1's (0: as soon as queued); see
        :meth:`~edgedrnn.sim.verilated.VerilatedModel.set_pacing`."""
        self.model.set_pacing(step_beats, frame_cycles)

    def step_timing(self) -> StepTiming:
        """Per-step timing since :meth:`set_pacing` (latency, cycles, host waits)."""
        return self.model.step_timing()

    @property
    def cycles(self) -> int:
        """Clock cycles simulated so far."""
        return self.model.cycles

    def close(self) -> None:
        """Free the simulator."""
        self.model.close()
