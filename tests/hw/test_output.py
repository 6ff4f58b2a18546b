"""Output side (edgedrnn.hw.output): latency, a row group per beat, reservations, flush, the
bypass of the FIFO."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from edgedrnn.hw.output import Output
from edgedrnn.hw.pipeline import (
    ACT_ISSUE_LATENCY,
    ACT_LATENCY,
    FLUSH_DELAY,
    OUT_FIFO_DEPTH,
    OUT_FIFO_SLACK,
    OUT_POP_COUNT_DELAY,
    OUTPUT_LATENCY,
)


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _entry(h, last_lane, last):
    return {"h": h, "mask": (1 << (last_lane + 1)) - 1, "last": last}


def test_output_latency_and_beats():
    """An entry leaves as one beat OUTPUT_LATENCY cycles after its write, the next one in the
    cycle after; lanes past the entry's mask are zero; ``last`` only on the vector's final
    beat."""
    dut = Output(4)

    async def bench(ctx):
        ctx.set(dut.h_out.ready, 1)
        await ctx.tick()
        entries = [_entry([10, -11, 12, 13], 3, 0), _entry([20, 21, -22, 23], 2, 1)]
        got = []
        for cycle in range(8):  # cycle 0: the first entry, cycle 1 the second
            ctx.set(dut.entry.valid, cycle < 2)
            if cycle < 2:
                ctx.set(dut.entry.payload, entries[cycle])
            if ctx.get(dut.h_out.valid):
                data = ctx.get(dut.h_out.payload.data)
                last = ctx.get(dut.h_out.payload.last)
                assert ctx.get(dut.last) == last
                got.append((cycle, [int(data[k]) for k in range(4)], last))
            await ctx.tick()
        cycles = [c for c, _, _ in got]
        assert cycles == [OUTPUT_LATENCY, OUTPUT_LATENCY + 1]  # back to back
        assert [d for _, d, _ in got] == [[10, -11, 12, 13], [20, 21, -22, 0]]
        assert [la for _, _, la in got] == [0, 1]
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
        await ctx.tick().repeat(OUTPUT_LATENCY + OUT_POP_COUNT_DELAY)
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


# ------------------------------------------------------------------ the bypass into ob
def _beats_model(arrivals, ready, flush, cycles):
    """The accepted beats ``(cycle, id)`` the output side should give: an entry that arrives
    while the FIFO is empty (at the start of the cycle) and ``ob`` free or sending goes
    straight into ``ob``; otherwise it is written to the FIFO, whose head ``ob`` takes when
    free (the FIFO first). ``flush`` acts FLUSH_DELAY cycles later: entries dropped, ``ob``
    emptied, the FIFO drained one entry a cycle."""

    def flush_r(t):
        return (t - FLUSH_DELAY) in flush

    fifo, ob, out_valid, got = [], None, False, []
    for t in range(cycles):
        send = out_valid and ready(t)
        if send:
            got.append((t, ob))
        e = arrivals.get(t)
        if flush_r(t):
            if fifo:
                fifo.pop(0)
            ob = None
        else:
            if send:
                ob = None
            had = bool(fifo)
            if fifo and ob is None:
                ob = fifo.pop(0)
            elif e is not None and not had and ob is None:
                e, ob = None, e  # the bypass
            if e is not None:
                fifo.append(e)
        assert len(fifo) <= OUT_FIFO_DEPTH
        out_valid = ob is not None and not flush_r(t + 1)
    return got


async def _drive(ctx, dut, arrivals, ready, flush, cycles):
    """Drive entries ``{cycle: id}`` (lane 0 = id, the vector's last entry when id is odd),
    ``h_out.ready`` and ``flush``; the accepted beats as ``(cycle, id)``; ``last`` checked."""
    got = []
    for t in range(cycles):
        e = arrivals.get(t)
        ctx.set(dut.entry.valid, e is not None)
        if e is not None:
            ctx.set(dut.entry.payload, _entry([e, -e, 2 * e, 3], 2, e % 2))
        ctx.set(dut.h_out.ready, ready(t))
        ctx.set(dut.flush, t in flush)
        if ctx.get(dut.h_out.valid) and ready(t):
            data = [int(v) for v in ctx.get(dut.h_out.payload.data)]
            e_out = data[0]
            assert data == [e_out, -e_out, 2 * e_out, 0]
            assert ctx.get(dut.h_out.payload.last) == e_out % 2 == ctx.get(dut.last)
            got.append((t, e_out))
        else:
            assert not ctx.get(dut.last)
        await ctx.tick()
    return got


def _check(arrivals, ready, flush=frozenset(), cycles=120):
    dut = Output(4)
    out = []

    async def bench(ctx):
        out.extend(await _drive(ctx, dut, arrivals, ready, flush, cycles))

    _run(dut, bench)
    assert out == _beats_model(arrivals, ready, flush, cycles)
    return out


def test_output_bypass_when_empty():
    """With the FIFO empty and ``ob`` free or sending, an entry is on ``h_out``
    OUTPUT_LATENCY cycles after it arrives, in the order they came: a row group per cycle,
    gaps, one entry alone, the FIFO never used."""
    assert OUTPUT_LATENCY == 1
    arrivals = {5 + k: 1 + k for k in range(12)} | {20: 13, 22: 14, 23: 15, 40: 16}
    dut = Output(4)
    out = []

    async def bench(ctx):
        for t in range(60):
            e = arrivals.get(t)
            ctx.set(dut.entry.valid, e is not None)
            if e is not None:
                ctx.set(dut.entry.payload, _entry([e, 0, 0, 0], 3, 0))
            ctx.set(dut.h_out.ready, 1)
            assert ctx.get(dut.empty)  # every entry went straight into ob
            if ctx.get(dut.h_out.valid):
                out.append((t, int(ctx.get(dut.h_out.payload.data)[0])))
            await ctx.tick()

    _run(dut, bench)
    assert out == [(t + OUTPUT_LATENCY, e) for t, e in sorted(arrivals.items())]


def test_output_back_pressure_keeps_order():
    """``h_out.ready`` low: ``ob`` holds its beat, later entries wait in the FIFO (not the
    bypass), and leave in order, one a cycle once ready; then the bypass again."""
    arrivals = {2: 1, 3: 2, 4: 3, 6: 4, 7: 5, 30: 6, 31: 7}

    def ready(t):
        return t < 4 or t >= 12

    out = _check(arrivals, ready, cycles=50)
    assert [e for _, e in out] == [1, 2, 3, 4, 5, 6, 7]
    assert [t for t, _ in out] == [3, 12, 13, 14, 15, 31, 32]


def test_output_interleaved_bypass_and_fifo_random():
    """Random arrivals (within the reservations) and a random ``h_out.ready``: the beats
    leave in order, at the cycles of the model (bypass when the FIFO is empty)."""
    rng = np.random.default_rng(7)
    for trial in range(12):
        p_in, p_ready = rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0)
        readies = rng.random(400) < p_ready

        def ready(c, readies=readies):
            return bool(readies[c])

        arrivals, pending, e = {}, [], 0
        # an entry arrives only while fewer than DEPTH - SLACK are outstanding (reservations)
        model_out = set()
        for t in range(300):
            if rng.random() < p_in and e < 150:
                e += 1
                arrivals[t] = e
                got = _beats_model(arrivals, ready, frozenset(), t + 1)
                model_out = {x for _, x in got}
                pending = [x for x in arrivals.values() if x not in model_out]
                if len(pending) > OUT_FIFO_DEPTH - OUT_FIFO_SLACK:
                    del arrivals[t]
                    e -= 1
        out = _check(arrivals, ready, cycles=400)
        assert [x for _, x in out] == sorted(arrivals.values()), trial


def test_output_flush_mid_vector_then_bypass():
    """A flush while entries sit in ``ob`` and the FIFO (and more arrive): none of them
    leaves; entries after the flush take the bypass and leave in order."""
    arrivals = {k: 1 + k for k in range(8)} | {40: 11, 41: 12, 45: 13}

    def ready(t):
        return t < 2 or t >= 30

    flush = set(range(6, 6 + OUT_FIFO_DEPTH + 2))
    out = _check(arrivals, ready, flush=flush, cycles=60)
    assert out == [(1, 1), (41, 11), (42, 12), (46, 13)]


def test_output_bypass_releases_the_reservation():
    """A bypassed entry gives its reservation back as it enters ``ob``: ``room`` (a
    register) rises OUT_POP_COUNT_DELAY + 1 cycles after; an issue a cycle, each entry
    ACT_ISSUE_LATENCY + ACT_LATENCY cycles after its reservation (OUT_RESERVATION_LOOP),
    never runs out of room while ``h_out`` is ready."""
    dut = Output(4)
    limit = OUT_FIFO_DEPTH - OUT_FIFO_SLACK
    lag = ACT_ISSUE_LATENCY + ACT_LATENCY  # the reservation's cycle to its entry's arrival

    async def bench(ctx):
        ctx.set(dut.h_out.ready, 1)
        for _ in range(limit):
            ctx.set(dut.reserve, 1)
            await ctx.tick()
        ctx.set(dut.reserve, 0)
        assert not ctx.get(dut.room)
        ctx.set(dut.entry.valid, 1)  # bypassed: the FIFO is empty, ob free
        ctx.set(dut.entry.payload, _entry([5, 6, 7, 8], 0, 1))
        await ctx.tick()
        ctx.set(dut.entry.valid, 0)
        assert not ctx.get(dut.room)  # the pop is counted OUT_POP_COUNT_DELAY cycles late
        await ctx.tick().repeat(OUT_POP_COUNT_DELAY)
        assert ctx.get(dut.room) and ctx.get(dut.empty)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        issued, beats = [], 0
        for t in range(80):
            issue = t < 60 and ctx.get(dut.room)
            ctx.set(dut.reserve, issue)
            if issue:
                issued.append(t)
            e = (t - lag) in issued
            ctx.set(dut.entry.valid, e)
            ctx.set(dut.entry.payload, _entry([t, 0, 0, 0], 0, 0))
            beats += ctx.get(dut.h_out.valid)
            await ctx.tick()
        assert issued == list(range(60))
        assert beats == 60

    _run(dut, bench)
