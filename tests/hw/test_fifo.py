"""FlagFIFO (edgedrnn.hw.fifo): order, flags from registers, against a model."""

from __future__ import annotations

import random
from collections import deque

import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from edgedrnn.hw.fifo import FlagFIFO


def _run(depth: int, seed: int, cycles: int = 400) -> None:
    dut = FlagFIFO(width=12, depth=depth)
    rnd = random.Random(seed)
    p_w, p_r = rnd.uniform(0.2, 0.9), rnd.uniform(0.2, 0.9)

    async def bench(ctx):
        model: deque[int] = deque()
        written = 0
        for _ in range(cycles):
            # the flags and the head as the model says, before this cycle's enables
            assert ctx.get(dut.r_rdy) == (len(model) > 0)
            assert ctx.get(dut.w_rdy) == (len(model) < depth)
            if model:
                assert ctx.get(dut.r_data) == model[0]
            w_en, r_en = rnd.random() < p_w, rnd.random() < p_r
            value = written % 4096
            ctx.set(dut.w_en, w_en)
            ctx.set(dut.w_data, value)
            ctx.set(dut.r_en, r_en)
            take = r_en and len(model) > 0
            put = w_en and len(model) < depth
            await ctx.tick()
            if take:
                model.popleft()
            if put:
                model.append(value)
                written += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 11), st.integers(0, 2**16))
def test_flag_fifo_random(depth, seed):
    """Random writes and reads (full and empty included) against a deque: order, r_rdy and
    w_rdy every cycle; a write to an empty FIFO is readable the next cycle."""
    _run(depth, seed)


def test_flag_fifo_depth_checked():
    with pytest.raises(ValueError, match="at least 2"):
        FlagFIFO(width=4, depth=1)
