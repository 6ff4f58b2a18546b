"""Output side (edgedrnn.hw.output): latency, a row group per beat, reservations, flush."""

from __future__ import annotations

from amaranth.sim import Simulator

from edgedrnn.hw.output import Output
from edgedrnn.hw.pipeline import FLUSH_DELAY, OUT_FIFO_DEPTH, OUT_FIFO_SLACK, OUTPUT_LATENCY


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _entry(h, last_lane, last):
    return {"h": h, "mask": (1 << (last_lane + 1)) - 1, "last": last}


async def _collect(ctx, dut, beats, limit=100):
    """(cycle, data, last) of ``beats`` accepted h_out beats (always ready)."""
    got = []
    for cycle in range(limit):
        if ctx.get(dut.h_out.valid):
            data = ctx.get(dut.h_out.payload.data)
            got.append((cycle, [int(data[k]) for k in range(4)], ctx.get(dut.h_out.payload.last)))
            assert ctx.get(dut.last) == got[-1][2]
            if len(got) == beats:
                return got
        await ctx.tick()
    raise AssertionError(f"only {len(got)} beats")


def test_output_latency_and_beats():
    """An entry leaves as one beat OUTPUT_LATENCY cycles after its write, the next one in the
    cycle after; lanes past the entry's mask are zero; ``last`` only on the vector's final
    beat."""
    dut = Output(4)

    async def bench(ctx):
        ctx.set(dut.h_out.ready, 1)
        await ctx.tick()
        ctx.set(dut.entry.valid, 1)  # cycle 0: the first entry
        ctx.set(dut.entry.payload, _entry([10, -11, 12, 13], 3, 0))
        await ctx.tick()
        ctx.set(dut.entry.payload, _entry([20, 21, -22, 23], 2, 1))
        await ctx.tick()
        ctx.set(dut.entry.valid, 0)
        got = await _collect(ctx, dut, 2)  # from cycle 2
        cycles = [2 + c for c, _, _ in got]
        assert cycles[0] == OUTPUT_LATENCY
        assert cycles == [cycles[0], cycles[0] + 1]  # back to back
        assert [d for _, d, _ in got] == [[10, -11, 12, 13], [20, 21, -22, 0]]
        assert [la for _, _, la in got] == [0, 1]
        await ctx.tick()
        assert ctx.get(dut.empty) and not ctx.get(dut.h_out.valid)

    _run(dut, bench)


def test_output_back_pressure_holds_the_beat():
    dut = Output(4)

    async def bench(ctx):
        ctx.set(dut.entry.valid, 1)
        ctx.set(dut.entry.payload, _entry([1, 2, 3, 4], 1, 1))
        await ctx.tick()
        ctx.set(dut.entry.valid, 0)
        seen = []
        for cycle in range(20):
            ready = cycle % 3 == 2
            ctx.set(dut.h_out.ready, ready)
            if ctx.get(dut.h_out.valid) and ready:
                data = ctx.get(dut.h_out.payload.data)
                seen.append([int(data[k]) for k in range(4)])
            await ctx.tick()
        assert seen == [[1, 2, 0, 0]]

    _run(dut, bench)


def test_output_room_counts_reservations():
    """``room`` (a register) falls once OUT_FIFO_DEPTH - OUT_FIFO_SLACK entries are reserved;
    a pop gives one back, ``clear`` all."""
    dut = Output(4)
    limit = OUT_FIFO_DEPTH - OUT_FIFO_SLACK

    async def bench(ctx):
        await ctx.tick()
        assert ctx.get(dut.room)
        for k in range(limit):
            assert ctx.get(dut.room), k
            ctx.set(dut.reserve, 1)
            await ctx.tick()
        ctx.set(dut.reserve, 0)
        assert not ctx.get(dut.room)
        # one entry through the FIFO and out: its reservation comes back
        ctx.set(dut.h_out.ready, 1)
        ctx.set(dut.entry.valid, 1)
        ctx.set(dut.entry.payload, _entry([5, 6, 7, 8], 0, 1))
        await ctx.tick()
        ctx.set(dut.entry.valid, 0)
        await ctx.tick().repeat(OUTPUT_LATENCY)
        assert ctx.get(dut.room)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for _ in range(limit):
            assert ctx.get(dut.room)
            ctx.set(dut.reserve, 1)
            await ctx.tick()
        ctx.set(dut.reserve, 0)
        assert not ctx.get(dut.room)

    _run(dut, bench)


def test_output_flush_discards():
    """From FLUSH_DELAY cycles after ``flush``: h_out invalid, entries dropped, FIFO drained."""
    dut = Output(4)

    async def bench(ctx):
        ctx.set(dut.entry.valid, 1)
        ctx.set(dut.entry.payload, _entry([1, 2, 3, 4], 3, 1))
        await ctx.tick().repeat(3)  # three entries, h_out not ready
        ctx.set(dut.entry.valid, 0)
        await ctx.tick()
        assert ctx.get(dut.h_out.valid) and not ctx.get(dut.empty)
        ctx.set(dut.flush, 1)
        ctx.set(dut.entry.valid, 1)  # dropped from FLUSH_DELAY on
        for _ in range(FLUSH_DELAY):
            assert ctx.get(dut.h_out.valid)
            await ctx.tick()
        for _ in range(OUT_FIFO_DEPTH):
            assert not ctx.get(dut.h_out.valid)
            await ctx.tick()
        assert ctx.get(dut.empty)
        ctx.set(dut.flush, 0)
        ctx.set(dut.entry.valid, 0)
        await ctx.tick().repeat(FLUSH_DELAY + OUTPUT_LATENCY + 1)
        assert ctx.get(dut.empty) and not ctx.get(dut.h_out.valid)

    _run(dut, bench)
