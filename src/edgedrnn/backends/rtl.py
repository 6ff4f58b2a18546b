"""The ``rtl`` backend: co-simulation of the generated RTL with Verilator.

``edgedrnn.run(program, x, backend="rtl", **options)`` converts
:class:`edgedrnn.hw.top.EdgeDRNN` for ``program.hw`` to Verilog, builds (or fetches from the
cache) a Verilator model with the C++ testbench in :mod:`edgedrnn.sim`, and runs the sequence
through the host driver (:class:`edgedrnn.host.EdgeDRNNDriver`) over a
:class:`~edgedrnn.host.verilator.VerilatorTransport`. Per-step cycles come from STEP_CYCLES,
deltas passed on from the LAYERl_NZ_X/NZ_H registers, the overflow flag from STATUS.

Options (all keyword):
    mem_latency (int, default 1): cycles from an accepted AR to the first R beat.
    mem_stall (float, default 0): probability per cycle that ARREADY / RVALID are held low.
    stream_stall (float, default 0): probability per cycle that x_in VALID / h_out READY are
        held low.
    csr_stall (float, default ``stream_stall``): probability per cycle that the AXI-Lite
        master delays AWVALID / WVALID / ARVALID (independently) or holds BREADY / RREADY low.
    seed (int, default 0): seed of the random stalls.
    weight_base (int, default 0x10000): byte address of the weight image in the memory model.
    max_outstanding (int, default 64): bursts the memory model accepts before stalling AR.
    timeout (int, default 1_000_000): cycles a step or register access may take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..host.driver import EdgeDRNNDriver
from ..host.verilator import VerilatorTransport
from ..program import Program
from ..result import Result
from ..sim.build import build_model
from ..sim.verilated import VerilatedModel
from . import Backend

_OPTIONS = {
    "mem_latency",
    "mem_stall",
    "stream_stall",
    "seed",
    "weight_base",
    "max_outstanding",
    "timeout",
    "ar_stall",
    "r_stall",
    "csr_stall",
}


class RtlBackend(Backend):
    """The ``"rtl"`` backend: whole sequences on the Verilated RTL (no streaming)."""

    name = "rtl"

    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        **options: Any,
    ) -> Result:
        """Run a whole sequence from reset on the Verilated RTL; see the module docstring."""
        unknown = set(options) - _OPTIONS
        if unknown:
            raise TypeError(
                f"unknown rtl backend option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        weight_base = int(options.pop("weight_base", 0x10000))
        library = build_model(program.hw)
        with VerilatedModel(library, **options) as model:
            driver = EdgeDRNNDriver(VerilatorTransport(model))
            driver.configure(program, weight_base=weight_base)
            out = driver.run(x_q, theta_x_q, theta_h_q)
        return Result(
            outputs_q=out.outputs_q,
            nonzero=out.nonzero,
            overflow=out.overflow,
            cycles=out.cycles,
            backend=self.name,
        )


BACKEND = RtlBackend()
