"""The ``rtl`` backend: co-simulation of the generated RTL with Verilator.

``edgedrnn.run(program, x, backend="rtl", **options)`` converts
:class:`edgedrnn.hw.top.EdgeDRNN` for ``program.hw`` to Verilog (a program with a sparse
weight image runs on the sparse-decoding build, ``hw.sparse_weights``: docs/rtl.md), builds
(or fetches from the cache) a Verilator model with the C++ testbench in
:mod:`edgedrnn.sim`, and runs the sequence through the host driver
(:class:`edgedrnn.host.EdgeDRNNDriver`) over a
:class:`~edgedrnn.host.verilator.VerilatorTransport`. Deltas passed on come from the
LAYERl_NZ_X/NZ_H registers, the overflow flag from STATUS, and per step the two cycle counts
from the device's own registers (docs/rtl-backend.md, "Latency and cycles"): ``latency[t]``
(LATENCY), cycles from step t's first x_in beat offered to its last h_out beat accepted;
``cycles[t]`` (STEP_CYCLES), cycles from the end of step t-1 (for t = 0 its first x_in beat
offered) to the end of step t, so they sum to the run's total even when the accelerator works
on step t before its input arrives. The testbench measures both from the handshakes
(:class:`edgedrnn.sim.timing.StepTiming`); a disagreement is an error.

Options (all keyword):
    frame_cycles (int, default 0): pacing: step t's first x_in beat is offered
        ``frame_cycles`` cycles after step t-1's (or as soon as the host has queued it, if
        later); 0 = back to back (each step's input as soon as the host queues it).
    mem_latency (int, default 1): cycles from an accepted AR to the first R beat.
    mem_stall (float, default 0): probability per cycle that ARREADY / RVALID are held low.
    stream_stall (float, default 0): probability per cycle that x_in VALID / h_out READY are
        held low.
    csr_stall (float, default ``stream_stall``): probability per cycle that the AXI-Lite
        master delays AWVALID / WVALID / ARVALID (independently) or holds BREADY / RREADY low.
    seed (int, default 0): seed of the random stalls.
    weight_base (int, default 0x10000): byte address of the weight image in the memory model.
    max_outstanding (int, default 64): bursts the memory model accepts before stalling AR.
    timeout (int, default 1_000_000): cycles a step or register access may take (a paced
        step: beyond its wait for the frame).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..host.driver import EdgeDRNNDriver
from ..host.verilator import VerilatorTransport
from ..hw import regmap
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
    "frame_cycles",
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
        self.check_options(options, _OPTIONS)
        weight_base = int(options.pop("weight_base", 0x10000))
        frame_cycles = int(options.pop("frame_cycles", 0))
        if frame_cycles < 0:
            raise ValueError(f"frame_cycles must be >= 0, got {frame_cycles}")
        # a paced step's input may wait up to a frame after the host queued it
        options["timeout"] = int(options.get("timeout", 1_000_000)) + frame_cycles
        library = build_model(program.hw)
        with VerilatedModel(library, **options) as model:
            link = VerilatorTransport(model)
            driver = EdgeDRNNDriver(link)
            driver.configure(program, weight_base=weight_base)
            link.set_pacing(
                regmap.stream_beats(program.input_size, program.hw.num_pe), frame_cycles
            )
            out = driver.run(x_q, theta_x_q, theta_h_q)
            timing = link.step_timing()
        same = np.array_equal(timing.cycles, out.cycles)
        if not (same and np.array_equal(timing.latency, out.latency)):
            raise RuntimeError(
                "the device's STEP_CYCLES/LATENCY registers disagree with the testbench: "
                f"{out.cycles.tolist()} / {out.latency.tolist()} against "
                f"{timing.cycles.tolist()} / {timing.latency.tolist()}"
            )
        return out.to_result(self.name)


BACKEND = RtlBackend()
