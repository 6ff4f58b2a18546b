"""The :class:`Transport` protocol: what the driver needs from a connection to the device."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Transport(Protocol):
    """Moves data between the host and one EdgeDRNN instance; knows nothing of registers.

    Implementations: :class:`edgedrnn.host.verilator.VerilatorTransport` (Verilator
    co-simulation), :class:`edgedrnn.host.amaranth_sim.AmaranthTransport` (the Amaranth
    simulator), :class:`edgedrnn.host.emulator.EmulatedTransport` (pure Python); a board
    transport would map these onto e.g. ``/dev/mem`` + DMA.

    The two simulation transports also pace the input and time every step, outside this
    protocol (the driver does not use them): ``set_pacing(step_beats, frame_cycles)`` numbers
    the ``x_in`` beats by steps and offers step t's first beat no earlier than
    ``frame_cycles`` after step t-1's; ``step_timing()`` returns the
    :class:`~edgedrnn.sim.timing.StepTiming` of the steps since (latency and cycles per step,
    docs/rtl-backend.md).
    """

    def read_reg(self, addr: int) -> int:
        """Read the 32-bit register at byte address ``addr`` of the AXI4-Lite slave."""
        ...

    def write_reg(self, addr: int, value: int) -> None:
        """Write a 32-bit value to the register at byte address ``addr``."""
        ...

    def write_stream(self, beats: np.ndarray) -> None:
        """Send beats on the ``x_in`` stream: int16 (n, NUM_PE), a row group of Q8.8
        elements each (may return before they are consumed)."""
        ...

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Receive ``n`` beats from ``h_out``: (data int16 (n, NUM_PE), last bool (n,)).
        Blocks."""
        ...

    def write_memory(self, addr: int, data: bytes) -> None:
        """Write bytes into the weight memory the accelerator reads at byte address ``addr``."""
        ...
