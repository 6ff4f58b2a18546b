"""Whole sequences on the RTL top in the Amaranth simulator, run by the host driver.

:func:`simulate` connects :class:`~edgedrnn.host.driver.EdgeDRNNDriver` to an
:class:`~edgedrnn.host.amaranth_sim.AmaranthTransport` (bus models with random stalls around
:class:`edgedrnn.hw.top.EdgeDRNN`) and returns what the host saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgedrnn.host.amaranth_sim import AmaranthTransport, Stalls
from edgedrnn.host.driver import EdgeDRNNDriver, pack_beats
from edgedrnn.hw import regmap
from edgedrnn.program import Program

__all__ = ["SimResult", "Stalls", "simulate"]


@dataclass
class SimResult:
    """What the host saw over the measured sequence."""

    outputs: np.ndarray  # int64 (T, H_last)
    nonzero: np.ndarray  # int64 (T, L, 2)
    step_cycles: list[int]
    step_count: int
    status: int
    cycles: int  # clock cycles of the whole simulation
    bursts: list[tuple[int, int]] = field(default_factory=list)  # (address, beats)


def _raw(x: np.ndarray) -> np.ndarray:
    """Integer raw Q8.8 values as int16 (the driver takes other dtypes as real values)."""
    x = np.asarray(x)
    assert np.issubdtype(x.dtype, np.integer), f"raw Q8.8 integers expected, got {x.dtype}"
    assert x.size == 0 or (x.min() >= -(1 << 15) and x.max() < 1 << 15), "outside int16"
    return x.astype(np.int16)


def simulate(
    program: Program,
    x_q: np.ndarray,
    theta_x_q: np.ndarray | None = None,
    theta_h_q: np.ndarray | None = None,
    stalls: Stalls | None = None,
    weight_base: int = 0x1000,
    max_cycles: int = 200_000,
    vcd: str | None = None,
    prologue_x: np.ndarray | None = None,
    abort_after: int | None = None,
    probe_bad_config: bool = False,
) -> SimResult:
    """Run ``x_q`` (T, I) raw Q8.8 through the RTL; thresholds (T, L) change between steps.

    ``max_cycles`` bounds each register access and each step. Control-path options, all
    before the measured sequence:

    * ``probe_bad_config``: START with NUM_LAYERS = 0; x_in must not be taken and
      STATUS.ERROR must rise (checked here), then the driver configures as usual.
    * ``prologue_x``: an earlier sequence (its outputs discarded); the measured sequence then
      starts with RESET_STATE only (no SOFT_RESET, registers kept).
    * ``abort_after``: the prologue's last step gets only this many x beats, then the driver
      configures again (SOFT_RESET and every register).
    """
    x_q = _raw(x_q)
    if (theta_x_q is None) != (theta_h_q is None):
        steps = x_q.shape[0]
        if theta_x_q is None:
            theta_x_q = np.tile(program.theta_x_q, (steps, 1))
        else:
            theta_h_q = np.tile(program.theta_h_q, (steps, 1))
    with AmaranthTransport(program.hw, stalls=stalls, timeout=max_cycles, vcd=vcd) as link:
        driver = EdgeDRNNDriver(link)
        if probe_bad_config:
            driver.soft_reset()  # NUM_LAYERS = 0
            driver.start(reset_state=True)
            link.write_stream(np.zeros((1, program.hw.num_pe), dtype=np.int16))
            link.run(20)
            assert link.x_pending == 1, "x_in taken with a bad configuration"
            link.cancel_stream()
            status = driver.status()
            assert status & regmap.STATUS_ERROR, f"bad config did not set ERROR: {status:#x}"
            assert status & regmap.STATUS_RUNNING
        driver.configure(program, weight_base=weight_base)
        if prologue_x is not None:
            px = _raw(prologue_x)
            if abort_after is None:
                driver.run(px)
                driver.start(reset_state=True)
            else:
                driver.run(px[:-1])
                link.write_stream(pack_beats(px[-1], program.hw.num_pe)[:abort_after])
                while link.x_pending:
                    link.run(1)
                link.run(30)
                driver.configure(program, weight_base=weight_base)
        out = driver.run(x_q, theta_x_q, theta_h_q)
        return SimResult(
            outputs=out.outputs_q.astype(np.int64),
            nonzero=out.nonzero,
            step_cycles=[int(c) for c in out.cycles],
            step_count=driver.step_count(),
            status=driver.status(),
            cycles=link.cycles,
            bursts=list(link.bursts),
        )
