"""Back-to-back step cycles on the simulated SoC, without the bridge between steps.

The host queues a whole sequence's inputs in the x_in FIFO and commits them at once, so the
accelerator runs the steps back to back under the real memory system; the stream window's
timestamps (X_START, H_ENDS, :mod:`edgedrnn.soc.streams`) give every step's cycles as
STEP_CYCLES counts them: step 0 from its first x_in cycle to its last h_out beat, step t from
the end of step t-1 to its own end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datapath.inputs import quantize_input
from ..host.driver import EdgeDRNNDriver, pack_beats
from ..hw import regmap
from ..program import Program
from .streams import H_ENDS, H_ENDS_LEVEL, X_START
from .system import STREAMS_BASE
from .transport import LiteXTransport


@dataclass(frozen=True)
class BackToBack:
    """A sequence run back to back: outputs and cycles per step."""

    outputs_q: np.ndarray  # int16 (T, H_last)
    cycles: np.ndarray  # int64 (T,)
    step_cycles_register: int  # STEP_CYCLES after the run (the last step's, as a check)


def run_back_to_back(
    link: LiteXTransport, program: Program, x, *, weight_base: int = 0x10000
) -> BackToBack:
    """Configure ``program`` and run the sequence ``x`` (T, I) back to back.

    The SoC's FIFOs must hold the whole sequence (``SoCConfig.fifo_steps`` steps of the
    largest sizes); returns the outputs and per-step cycles.
    """
    x_q = quantize_input(x, program.input_size)
    steps = x_q.shape[0]
    p = program.hw.num_pe
    drv = EdgeDRNNDriver(link)
    drv.configure(program, weight_base=weight_base)
    drv.wait_idle()
    beats = np.concatenate([pack_beats(x_q[t], p) for t in range(steps)])
    link.write_stream(beats)
    out_beats = regmap.stream_beats(program.output_size, p)
    data, last = link.read_stream(steps * out_beats)
    expect = np.zeros(steps * out_beats, bool)
    expect[out_beats - 1 :: out_beats] = True
    if not np.array_equal(last, expect):
        raise RuntimeError("h_out LAST flags out of place")
    outputs = data.reshape(steps, -1)[:, : program.output_size]
    bridge = link.bridge
    level = int(bridge.read(STREAMS_BASE + H_ENDS_LEVEL)[0])
    if level != steps:
        raise RuntimeError(f"{level} step ends recorded for {steps} steps (FIFO too small?)")
    ends = bridge.read(STREAMS_BASE + H_ENDS, steps, fixed=True).astype(np.int64)
    start = int(bridge.read(STREAMS_BASE + X_START)[0])
    cycles = np.diff(np.concatenate([[start - 1], ends]))
    return BackToBack(
        outputs_q=outputs.astype(np.int16),
        cycles=cycles,
        step_cycles_register=drv.step_cycles(),
    )
