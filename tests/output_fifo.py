"""An emulated device whose h_out goes into a FIFO on its own, as in the SoC's StreamWindow
(tests/host/test_driver.py, tests/runtime/test_c_runtime.py)."""

from __future__ import annotations

import numpy as np

from edgedrnn.host.emulator import EmulatedTransport


class OutputFifo(EmulatedTransport):
    """A device whose h_out goes into a FIFO on its own (as in the SoC): a step runs and ends
    as soon as its input is there, latching the Θ registers of that moment."""

    def __init__(self, hw) -> None:
        super().__init__(hw)
        self.fifo: list[tuple[np.ndarray, bool]] = []

    def _drain(self) -> None:
        while True:
            self._maybe_step()
            if not self.h_queue:
                return
            beats, last = super().read_stream(len(self.h_queue))
            self.fifo += list(zip(beats, last, strict=True))

    def write_stream(self, beats: np.ndarray) -> None:
        super().write_stream(beats)
        self._drain()

    def read_reg(self, addr: int) -> int:
        self._drain()
        return super().read_reg(addr)

    def read_stream(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        self._drain()
        if len(self.fifo) < n:
            raise TimeoutError(f"h_out FIFO has {len(self.fifo)} beats, {n} requested")
        taken, self.fifo = self.fifo[:n], self.fifo[n:]
        return np.stack([b for b, _ in taken]), np.array([last for _, last in taken])
