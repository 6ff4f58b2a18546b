"""Activation side (edgedrnn.hw.activate): issue, read alignment, h writer, availability."""

from __future__ import annotations

import random
from collections import deque

from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn import fixedpoint as fp
from edgedrnn.hw.activate import ActivationArray
from edgedrnn.hw.pipeline import (
    ACT_ISSUE_LATENCY,
    ACT_LATENCY,
    AVAIL_LEAD,
    PE_ACT_READ_LATENCY,
    SCAN_LATENCY,
)

HW = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_input_size=8, max_hidden_size=12)
P = HW.num_pe


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _cx(addr, lane):
    """The test's accumulator M_cx of a lane in accumulator word ``addr``."""
    return 3000 * (addr + 1) - 2000 * lane


def _hp(addr, lane):
    """The test's previous h of a lane in h word ``addr``."""
    return 700 * (addr + 1) + 100 * lane


def _h(cx, hp):
    """datapath.md §5 with M_r = M_u = M_ch = 0."""
    u = int(fp.sig(0))
    c = int(fp.tanh(fp.sat16(fp.rne(2 * cx, 8))[0]))
    return int(fp.sat16(fp.rne((256 - u) * c, 8) + fp.rne(u * hp, 8))[0])


def test_activate_layer():
    """A layer of 7 neurons (two row groups) from word 3 on: each row group's new h comes
    ACT_ISSUE_LATENCY + ACT_LATENCY cycles after its issue, computed from the reads of its
    own words (the test answers the reads with the PE array's and the h memory's latency),
    written with the lanes that exist and counted in ``avail`` from the next cycle."""
    dut = ActivationArray(HW)
    n_hid, base = 7, 3

    async def bench(ctx):
        lay = dut.layer
        ctx.set(lay.g_hid, 2)
        ctx.set(lay.n_hid, n_hid)
        ctx.set(lay.h_base, base)
        ctx.set(lay.acc_base, base)
        ctx.set(lay.mask_hid_last, 0b0111)
        ctx.set(lay.last_layer, 1)
        ctx.set(dut.room, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        assert ctx.get(dut.left) and ctx.get(dut.idle)
        ctx.set(dut.run, 1)
        acc_reads = deque([None] * PE_ACT_READ_LATENCY)
        h_reads = deque([None] * SCAN_LATENCY)
        issues, outs, avail = [], [], []
        for cycle in range(30):
            # the PE array's and the h memory's read ports
            a, h = acc_reads.popleft(), h_reads.popleft()
            if a is not None:
                ctx.set(dut.acc_cx, [_cx(a, k) for k in range(P)])
            if h is not None:
                ctx.set(dut.h_prev, [_hp(h, k) for k in range(P)])
            acc_reads.append(ctx.get(dut.acc_addr))
            h_reads.append(ctx.get(dut.h_addr))
            if ctx.get(dut.reserve):
                issues.append(cycle)
            if ctx.get(dut.new_h.valid):
                assert ctx.get(dut.h_we) == (0b1111 if not outs else 0b0111)
                outs.append(
                    (
                        cycle,
                        ctx.get(dut.h_waddr),
                        list(ctx.get(dut.h_wdata)),
                        ctx.get(dut.new_h.payload.mask),
                        ctx.get(dut.new_h.payload.last),
                    )
                )
            avail.append(ctx.get(dut.avail))
            await ctx.tick()
        assert issues == [0, 1]
        assert not ctx.get(dut.left) and ctx.get(dut.drained) and ctx.get(dut.idle)
        lat = ACT_ISSUE_LATENCY + ACT_LATENCY
        assert [c for c, *_ in outs] == [c + lat for c in issues]
        for g, (_, addr, hs, mask, last) in enumerate(outs):
            assert addr == base + g
            want = [_h(_cx(base + g, k), _hp(base + g, k)) for k in range(P)]
            assert hs == want
            assert (mask, last) == ((0b1111, 0) if g == 0 else ((1 << (n_hid - P)) - 1, 1))
        # the last layer's new h is never taken: not counted (a step's layer 1 must see none
        # of it before its layer 0's activation starts, which may be after its scan does)
        assert not any(avail)

    _run(dut, bench)


def test_activate_avail_counts_hidden_layers():
    """A layer below the last: each row group of new h is counted in ``avail`` from
    AVAIL_LEAD − 1 cycles before it is written (``written`` from the cycle after), ``fwd``
    marks its write, and ``take`` uncounts it."""
    dut = ActivationArray(HW)

    async def bench(ctx):
        lay = dut.layer
        ctx.set(lay.g_hid, 2)
        ctx.set(lay.n_hid, 8)
        ctx.set(lay.mask_hid_last, 0b1111)
        ctx.set(lay.last_layer, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        writes, fwds, avail, written = [], [], [], []
        for cycle in range(20):
            if ctx.get(dut.h_we):
                writes.append(cycle)
            if ctx.get(dut.fwd):
                fwds.append(cycle)
            avail.append(ctx.get(dut.avail))
            written.append(ctx.get(dut.written))
            await ctx.tick()
        first = writes[0]
        assert len(writes) == 2 and fwds == writes
        lead = first + 1 - AVAIL_LEAD  # the first cycle the scan may take it
        assert avail[lead - 1] == 0 and all(avail[lead:])
        assert written[first] == 0 and all(written[first + 1 :])
        ctx.set(dut.run, 0)
        for _ in range(2):
            assert ctx.get(dut.avail) and ctx.get(dut.written)
            ctx.set(dut.take, 1)
            await ctx.tick()
        ctx.set(dut.take, 0)
        assert not ctx.get(dut.avail) and not ctx.get(dut.written)

    _run(dut, bench)


def test_activate_last_layer_waits_for_room():
    dut = ActivationArray(HW)

    async def bench(ctx):
        ctx.set(dut.layer.g_hid, 3)
        ctx.set(dut.layer.last_layer, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        issued = 0
        for cycle in range(12):
            ctx.set(dut.room, cycle % 4 == 0)
            issued += ctx.get(dut.reserve)
            assert ctx.get(dut.reserve) == (cycle % 4 == 0 and issued <= 3)
            await ctx.tick()
        assert issued == 3
        # not the last layer: no room needed, nothing reserved
        ctx.set(dut.layer.last_layer, 0)
        ctx.set(dut.room, 0)
        ctx.set(dut.start, 1)
        ctx.set(dut.run, 0)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        for _ in range(3):
            assert ctx.get(dut.left) and not ctx.get(dut.reserve)
            await ctx.tick()
        assert not ctx.get(dut.left)

    _run(dut, bench)


def test_activate_avail_counts_rows_taken():
    """``avail`` counts new h row groups not yet taken by the next layer's scan."""
    dut = ActivationArray(HW)

    async def bench(ctx):
        ctx.set(dut.layer.g_hid, 3)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        await ctx.tick().repeat(3)
        ctx.set(dut.run, 0)
        taken = 0
        for cycle in range(40):
            take = ctx.get(dut.avail) and cycle % 5 == 0
            ctx.set(dut.take, take)
            taken += take
            await ctx.tick()
        ctx.set(dut.take, 0)
        assert taken == 3 and not ctx.get(dut.avail)

    _run(dut, bench)


def test_activate_takes_ahead_of_the_writes():
    """The next layer's scan takes each row group as soon as ``avail`` shows it (AVAIL_LEAD
    − 1 cycles before its write): ``written`` is low at those takes and high again only
    once a write has come that nothing took; ``avail`` never shows a row group that is not
    written AVAIL_LEAD − 1 cycles later."""
    dut = ActivationArray(HW)
    g = 3

    async def bench(ctx):
        ctx.set(dut.layer.g_hid, g)
        ctx.set(dut.layer.n_hid, g * P - 1)
        ctx.set(dut.layer.last_layer, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        ctx.set(dut.run, 1)
        takes, writes, seen_written = [], [], []
        for cycle in range(30):
            if ctx.get(dut.left) == 0:
                ctx.set(dut.run, 0)
            take = ctx.get(dut.avail)
            ctx.set(dut.take, take)
            if take:
                takes.append(cycle)
                seen_written.append(ctx.get(dut.written))
            if ctx.get(dut.fwd):
                writes.append(cycle)
            await ctx.tick()
        assert len(takes) == len(writes) == g
        assert [w - t for t, w in zip(takes, writes, strict=True)] == [AVAIL_LEAD - 1] * g
        assert seen_written == [0] * g and not ctx.get(dut.written)

    _run(dut, bench)


def test_activate_read_after_next_covers_every_read():
    """``read_after_next`` (the controller's hold of the PE array for the next cycle) is high
    in every cycle t whose t + 2 issues a row group (reads the accumulators), from ``start``
    on; and, where the next issue is certain (not the last layer, or ``room2``), only then:
    the hold is g(H) cycles, not one more. Random row-group counts and output room, ``room2``
    high only where ``room`` follows the cycle after, as the output side's registers are."""
    rng = random.Random(5)
    dut = ActivationArray(HW)

    async def bench(ctx):
        for trial in range(40):
            g = rng.randint(1, 3)
            last = rng.random() < 0.5
            tight = rng.random() < 0.5  # room and room2 always high
            cycles = 12
            room = [tight or rng.random() < 0.6 for _ in range(cycles + 1)]
            room2 = [tight or (room[t + 1] and rng.random() < 0.7) for t in range(cycles)]
            ctx.set(dut.layer.g_hid, g)
            ctx.set(dut.layer.last_layer, last)
            issue, ran = [], []
            for t in range(cycles):
                ctx.set(dut.start, t == 0)
                ctx.set(dut.run, t > 0)
                ctx.set(dut.room, room[t])
                ctx.set(dut.room2, room2[t])
                left = ctx.get(dut.left)
                issue.append(t > 0 and left and (room[t] or not last))
                ran.append(ctx.get(dut.read_after_next))
                await ctx.tick()
            assert sum(issue) <= g
            for t in range(cycles - 2):
                if issue[t + 2]:
                    assert ran[t], (trial, g, last, t)
                elif tight or not last:
                    assert not ran[t], (trial, g, last, t)
            ctx.set(dut.run, 0)
            await ctx.tick()

    _run(dut, bench)
