"""Per-step timing measured by a simulation testbench: latency and cycles of every step.

Both simulation transports (:class:`edgedrnn.host.verilator.VerilatorTransport`,
:class:`edgedrnn.host.amaranth_sim.AmaranthTransport`) number the ``x_in`` beats by steps and
record three cycle numbers per step (see docs/rtl-backend.md, "Latency and cycles"):

* ``push``: the host queued the step's first ``x_in`` beat;
* ``offer``: that beat's VALID was raised (with pacing, not before the previous step's offer
  plus the frame);
* ``end``: the step's last ``h_out`` beat (LAST set) was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepTiming:
    """Cycle numbers recorded per step by a testbench, and the figures derived from them.

    Parameters
    ----------
    push:
        int64 (T,): cycle in which the host queued the step's first ``x_in`` beat.
    offer:
        int64 (T,): cycle in which the step's first ``x_in`` beat was offered (VALID raised).
    end:
        int64 (T,): cycle in which the step's last ``h_out`` beat was accepted.
    frame_cycles:
        The pacing the run used (0: back to back).
    """

    push: np.ndarray
    offer: np.ndarray
    end: np.ndarray
    frame_cycles: int = 0

    @property
    def steps(self) -> int:
        """Steps with all three records."""
        return int(min(len(self.push), len(self.offer), len(self.end)))

    @property
    def latency(self) -> np.ndarray:
        """int64 (T,): clock cycles from the step's first ``x_in`` beat offered to its last
        ``h_out`` beat accepted, both cycles counted (the LATENCY register's count)."""
        n = self.steps
        return (self.end[:n] - self.offer[:n] + 1).astype(np.int64)

    @property
    def cycles(self) -> np.ndarray:
        """int64 (T,): clock cycles from the end of step t-1 to the end of step t (for t = 0:
        :attr:`latency`), the STEP_CYCLES register's count; they sum to :attr:`total` even
        when the work of consecutive steps overlaps."""
        n = self.steps
        out = np.zeros(n, dtype=np.int64)
        if n:
            out[0] = self.end[0] - self.offer[0] + 1
            out[1:] = np.diff(self.end[:n])
        return out

    @property
    def total(self) -> int:
        """Clock cycles from the first ``x_in`` beat offered to the last ``h_out`` beat
        accepted, both counted."""
        n = self.steps
        if not n:
            return 0
        return int(self.end[n - 1] - self.offer[0] + 1)
