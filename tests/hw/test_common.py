"""Shared sizes and helpers (edgedrnn.hw.common): the state-memory map, delay lines."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn.hw.common import StateMap, clog2, delay, groups_max


def test_state_map():
    hw = HardwareConfig(num_pe=8, bus_bits=64, max_layers=3, max_input_size=40, max_hidden_size=20)
    sm = StateMap.of(hw)
    assert (sm.gmax, sm.gx, sm.refg) == (3, 5, 8) == (groups_max(hw), 5, 8)
    assert (sm.ref_depth, sm.h_depth, sm.clear_depth) == (24, 9, 24)
    assert [clog2(n) for n in (1, 2, 3, 4, 5, 1024)] == [0, 1, 2, 2, 3, 10]


def test_delay_line():
    m = Module()
    x = Signal(8)
    line = delay(m, x, 3, "d")
    assert [s.name for s in line] == ["d1", "d2", "d3"]

    async def bench(ctx):
        seen = []
        for t in range(8):
            ctx.set(x, 10 + t)
            seen.append([ctx.get(s) for s in line])
            await ctx.tick()
        assert seen[5] == [14, 13, 12]  # register k holds x of k + 1 cycles ago

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
