"""Scan (edgedrnn.hw.scan): the issue sequence of a layer, its latency, credits, the memories."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn.hw.common import StateMap
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT
from edgedrnn.hw.pipeline import AVAIL_LEAD, ENCODER_GROUP_FIFO_DEPTH, SCAN_LATENCY
from edgedrnn.hw.scan import Scan

HW = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_input_size=8, max_hidden_size=8)
P = HW.num_pe


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _layer(ctx, dut, n_in, n_hid, *, layer0, ref_base=0, h_base=0, hin_base=0):
    lay = dut.layer
    g_in, g_hid = -(-n_in // P), -(-n_hid // P)
    ctx.set(lay.layer0, layer0)
    ctx.set(lay.n_in, n_in)
    ctx.set(lay.g_in_m1, g_in - 1)
    ctx.set(lay.g_hid_m1, g_hid - 1)
    ctx.set(lay.mask_in_last, (1 << (n_in - (g_in - 1) * P)) - 1)
    ctx.set(lay.mask_hid_last, (1 << (n_hid - (g_hid - 1) * P)) - 1)
    ctx.set(lay.ref_base, ref_base)
    ctx.set(lay.h_base, h_base)
    ctx.set(lay.hin_base, hin_base)


def _elem(ctx, dut):
    e = dut.elem.payload
    x = ctx.get(e.x)
    xs = tuple(int(x[k]) for k in range(P))
    return (ctx.get(e.kind), ctx.get(e.mask), ctx.get(e.base), ctx.get(e.from_x), xs)


def test_scan_layer0_sequence_and_latency():
    """Bias, then the row groups of h (the hidden part), then layer 0's inputs a row group per
    x_in beat (the input part): each group is on ``elem`` SCAN_LATENCY cycles after its issue,
    with its lanes, base and kind."""
    dut = Scan(HW)
    n_in, n_hid = 6, 5
    xs = [100, -200, 300, -400, 500, -600]

    async def bench(ctx):
        cycle = 0
        issued, seen = [], []

        async def step():
            """Sample ``elem`` (retired at once, as by an encoder), then a clock edge."""
            nonlocal cycle
            if ctx.get(dut.elem.valid):
                seen.append((cycle, _elem(ctx, dut)))
            ctx.set(dut.retired, ctx.get(dut.elem.valid))
            await ctx.tick()
            cycle += 1

        _layer(ctx, dut, n_in, n_hid, layer0=1)
        ctx.set(dut.setup_h, 1)
        await step()
        ctx.set(dut.setup_h, 0)
        assert ctx.get(dut.ready)
        ctx.set(dut.bias, 1)
        issued.append(cycle)
        await step()
        ctx.set(dut.bias, 0)
        ctx.set(dut.scan_h, 1)
        for g in range(2):
            assert ctx.get(dut.ready)
            assert ctx.get(dut.done) == (g == 1)
            issued.append(cycle)
            await step()
        ctx.set(dut.scan_h, 0)
        ctx.set(dut.setup, 1)
        await step()
        ctx.set(dut.setup, 0)
        await step()
        ctx.set(dut.scan_x, 1)
        ctx.set(dut.x_in.valid, 1)
        beats = [xs[:P], xs[P:] + [0] * (2 * P - n_in)]
        for k, beat in enumerate(beats):
            ctx.set(dut.x_in.payload, beat)
            assert ctx.get(dut.x_in.ready)
            assert ctx.get(dut.step_start) == (k == 0)
            assert ctx.get(dut.done) == (k == len(beats) - 1)
            issued.append(cycle)
            await step()
        ctx.set(dut.scan_x, 0)
        ctx.set(dut.x_in.valid, 0)
        for _ in range(SCAN_LATENCY + 1):
            await step()
        assert [c + SCAN_LATENCY for c in issued] == [c for c, _ in seen]
        elems = [e for _, e in seen]
        assert elems[0][:3] == (KIND_BIAS, 1, 0)
        hid = [e[:4] for e in elems[1:3]]
        assert hid == [(KIND_HIDDEN, 0b1111, n_in, 0), (KIND_HIDDEN, 0b0001, n_in + P, 0)]
        assert elems[3] == (KIND_INPUT, 0b1111, 0, 1, tuple(beats[0]))
        assert elems[4] == (KIND_INPUT, 0b0011, P, 1, tuple(beats[1]))
        assert len(elems) == 5
        assert ctx.get(dut.idle)

    _run(dut, bench)


def test_scan_credits():
    """Without retirements at most ``credits`` groups are issued. The credit is given as if
    the cycle issued: after cycles without an issue one retirement is not enough, two are,
    and then the scan issues back to back up to ``credits`` in flight again."""
    dut = Scan(HW)

    async def bench(ctx):
        _layer(ctx, dut, 8, 8 * ENCODER_GROUP_FIFO_DEPTH, layer0=0)
        ctx.set(dut.scan_h, 1)
        issued = 0
        for _ in range(3 * ENCODER_GROUP_FIFO_DEPTH):
            issued += ctx.get(dut.ready)
            await ctx.tick()
        assert issued == ENCODER_GROUP_FIFO_DEPTH
        ctx.set(dut.retired, 1)
        await ctx.tick()
        ctx.set(dut.retired, 0)
        assert not ctx.get(dut.ready)  # in flight: credits - 1, as if this cycle issued
        await ctx.tick()
        assert not ctx.get(dut.ready)
        ctx.set(dut.retired, 1)
        await ctx.tick()
        ctx.set(dut.retired, 0)
        assert ctx.get(dut.ready)  # credits - 2 in flight: a register, the next cycle
        await ctx.tick()  # issued
        assert ctx.get(dut.ready)  # and once more
        await ctx.tick()
        assert not ctx.get(dut.ready)  # credits in flight

    _run(dut, bench)


def test_scan_memories():
    """h writes are read back SCAN_LATENCY later (ACT's address) and by the scan of a
    layer > 0, which issues a row group only while ``avail``; ``clr_en`` zeroes a word."""
    dut = Scan(HW)
    gmax = StateMap.of(HW).gmax

    async def bench(ctx):
        words = {0: [1, 2, 3, 4], 1: [-5, 6, -7, 8], gmax: [9, 9, 9, 9]}
        for addr, word in words.items():
            ctx.set(dut.h_we, 0b1111)
            ctx.set(dut.h_addr, addr)
            ctx.set(dut.h_wdata, word)
            await ctx.tick()
        ctx.set(dut.h_we, 0)
        ctx.set(dut.act_sel, 1)
        for addr, word in words.items():
            ctx.set(dut.act_addr, addr)
            await ctx.tick().repeat(SCAN_LATENCY)
            assert list(ctx.get(dut.h_data)) == word
        ctx.set(dut.act_sel, 0)
        # layer 1 reads layer 0's h (hin_base 0) as its input, row group by row group
        _layer(ctx, dut, 5, 4, layer0=0, ref_base=StateMap.of(HW).refg, h_base=gmax)
        ctx.set(dut.setup, 1)
        await ctx.tick()
        ctx.set(dut.setup, 0)
        await ctx.tick()
        ctx.set(dut.scan_x, 1)
        ctx.set(dut.written, 1)  # in the h memory: read, not forwarded
        values = []
        for cycle in range(12):
            ctx.set(dut.avail, cycle in (2, 5))
            if ctx.get(dut.elem.valid):
                assert not ctx.get(dut.elem.payload.from_x)
                values.append(list(ctx.get(dut.elem.payload.values)))
                assert ctx.get(dut.elem.payload.mask) == (0b1111 if len(values) == 1 else 1)
            assert ctx.get(dut.take) == (cycle in (2, 5))
            await ctx.tick()
        assert values == [words[0], words[1]]
        ctx.set(dut.scan_x, 0)
        ctx.set(dut.clr_en, 1)
        ctx.set(dut.clr_addr, 1)
        await ctx.tick()
        ctx.set(dut.clr_en, 0)
        ctx.set(dut.act_sel, 1)
        ctx.set(dut.act_addr, 1)
        await ctx.tick().repeat(SCAN_LATENCY)
        assert list(ctx.get(dut.h_data)) == [0, 0, 0, 0]

    _run(dut, bench)


def test_scan_restarts_after_last_group_and_clear():
    """The row-group count restarts by itself: after a vector's last row group (the next
    vector, of another length, starts at row group 0 with ``done`` on its own last) and at
    ``clr_en`` (a SOFT_RESET's CLEAR stops a scan halfway)."""
    dut = Scan(HW)

    async def bench(ctx):
        dones, bases = [], []

        async def tick():
            """Record and retire ``elem`` (as the encoder does), then a clock edge."""
            if ctx.get(dut.elem.valid):
                bases.append(ctx.get(dut.elem.payload.base))
            ctx.set(dut.retired, ctx.get(dut.elem.valid))
            await ctx.tick()

        async def scan_h(n):
            """SCAN_H for ``n`` cycles (every one an issue: credits are plenty)."""
            ctx.set(dut.scan_h, 1)
            for _ in range(n):
                assert ctx.get(dut.ready)
                dones.append(ctx.get(dut.done))
                await tick()
            ctx.set(dut.scan_h, 0)
            for _ in range(SCAN_LATENCY + 1):
                await tick()

        n_in = 4
        _layer(ctx, dut, n_in, 8, layer0=0)  # 2 row groups of h
        await tick()
        await scan_h(2)
        _layer(ctx, dut, n_in, 12, layer0=0)  # 3 row groups, set a cycle before the issue
        await tick()
        await scan_h(3)
        assert dones == [0, 1, 0, 0, 1]
        assert bases == [n_in + k * P for k in (0, 1, 0, 1, 2)]
        # halfway through, CLEAR: the count restarts
        dones.clear(), bases.clear()
        await scan_h(1)
        ctx.set(dut.clr_en, 1)
        await tick()
        ctx.set(dut.clr_en, 0)
        await tick()
        await scan_h(3)
        assert dones == [0, 0, 0, 1]
        assert bases == [n_in + k * P for k in (0, 0, 1, 2)]

    _run(dut, bench)


HW_FWD = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_input_size=32, max_hidden_size=32)


def _forward_case(n_in, seed):
    """Run a layer > 0's input scan of ``n_in`` elements against a model of the activation
    side (see test_scan_forwards_new_h); return each row group's cycles from take to write."""
    hw = HW_FWD
    rng = random.Random(seed)
    credits = rng.choice([2, 3, ENCODER_GROUP_FIFO_DEPTH])
    dut = Scan(hw, credits=credits)
    sm = StateMap.of(hw)
    g = -(-n_in // P)
    hin = sm.gmax  # layer 1 reads layer 0's h, written at h word gmax + k
    ones = (1 << P) - 1
    mask_last = (1 << (n_in - (g - 1) * P)) - 1

    def word():
        return [rng.randrange(-(1 << 15), 1 << 15) for _ in range(P)]

    new = [word() for _ in range(g)]
    writes, at = [], AVAIL_LEAD + rng.randrange(4)
    for _ in range(g):
        writes.append(at)
        at += 1 + (rng.randrange(4) if rng.random() < 0.4 else 0)
    early = {w - AVAIL_LEAD for w in writes}
    wr_at = {w: k for k, w in enumerate(writes)}
    takes, seen = [], []

    async def bench(ctx):
        # stale words where the new h goes (the previous step's), padding lanes too
        for k in range(g):
            ctx.set(dut.h_we, ones)
            ctx.set(dut.h_addr, hin + k)
            ctx.set(dut.h_wdata, word())
            await ctx.tick()
        ctx.set(dut.h_we, 0)
        _layer(ctx, dut, n_in, 4, layer0=0, ref_base=sm.refg, h_base=0, hin_base=hin)
        ctx.set(dut.setup, 1)
        await ctx.tick()
        ctx.set(dut.setup, 0)
        ctx.set(dut.scan_x, 1)
        e_cnt = w_cnt = 0  # avail's count (early), the written count (below 1: ahead)
        avail = written = 0
        inflight = []
        for cycle in range(writes[-1] + 12 * g + 20):
            k = wr_at.get(cycle)
            ctx.set(dut.fwd, k is not None)
            if k is not None:
                lanes = mask_last if k == g - 1 else ones
                garbage = word()  # the lanes past the size are not written
                data = [new[k][i] if lanes >> i & 1 else garbage[i] for i in range(P)]
                ctx.set(dut.h_we, lanes)
                ctx.set(dut.h_addr, hin + k)
                ctx.set(dut.h_wdata, data)
            else:
                ctx.set(dut.h_we, 0)
                ctx.set(dut.h_wdata, word())  # garbage while nothing is written
            ctx.set(dut.avail, avail)
            ctx.set(dut.written, written)
            # an encoder that retires groups at random (0, 1 or 2 a cycle)
            retire = min(len([t for t in inflight if t < cycle]), rng.choice([0, 0, 1, 2]))
            del inflight[:retire]
            ctx.set(dut.retired, retire)
            if ctx.get(dut.elem.valid):
                e = dut.elem.payload
                vals = ctx.get(e.x) if ctx.get(e.from_x) else ctx.get(e.values)
                seen.append(([int(vals[i]) for i in range(P)], ctx.get(e.mask)))
                inflight.append(cycle)
            take = ctx.get(dut.take)
            done = take and ctx.get(dut.done)
            if take:
                takes.append(cycle)
            e_cnt += (cycle in early) - take
            w_cnt += (k is not None) - take
            assert e_cnt >= 0 and w_cnt > -AVAIL_LEAD
            avail, written = int(e_cnt > 0), int(w_cnt >= 1)
            await ctx.tick()
            if done:
                ctx.set(dut.scan_x, 0)  # as the controller leaves SCAN_X

    _run(dut, bench)
    assert (len(takes), len(seen)) == (g, g), (takes, writes, len(seen), credits)
    for k, (vals, mask) in enumerate(seen):
        lanes = mask_last if k == g - 1 else ones
        assert mask == lanes
        assert [v for i, v in enumerate(vals) if lanes >> i & 1] == [
            v for i, v in enumerate(new[k]) if lanes >> i & 1
        ], k
    return [w - t for t, w in zip(takes, writes, strict=True)]


@pytest.mark.parametrize(
    ("n_in", "seed"),
    [(30, 1), (32, 2), (13, 3), (1, 4), (4, 5), (30, 6), (32, 7), (17, 8)],
)
def test_scan_forwards_new_h(n_in, seed):
    """A layer > 0's input scan against the activation side's timing: row group k of the new
    h is written (``h_we``, ``fwd``) in cycle W_k and counted in ``avail`` from W_k + 1 −
    AVAIL_LEAD (``written`` from W_k + 1), the writes at random gaps; the scan issues up
    to AVAIL_LEAD − 1 cycles before a write and the encoder sees exactly the word the h
    memory holds after it (stale words there before), in order, with the lane mask of a
    last row group whose lanes past the size are not written; an encoder that retires at
    random (2, 3 or 8 credits) holds the scan on its credits."""
    dists = _forward_case(n_in, seed)
    assert max(dists) <= AVAIL_LEAD - 1


def test_scan_forwarding_covers_every_stage():
    """Across random cases each distance from a take to its write occurs: the word read
    from the h memory (the write before the issue) and forwarded into S1, S2 and the
    encoder's input (the write in the issue's cycle, one and two cycles after)."""
    seen = set()
    for seed in range(10, 22):
        seen |= set(_forward_case(30, seed))
    assert set(range(AVAIL_LEAD)) <= seen and min(seen) < 0, seen
