"""Column queues (edgedrnn.hw.queues): order, the fork to fetch and PE, latency, room."""

from __future__ import annotations

import random

from amaranth.sim import Simulator

from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT
from edgedrnn.hw.pipeline import DELTA_FIFO_DEPTH, DELTA_FIFO_LATENCY, DELTA_FIFO_SLACK
from edgedrnn.hw.queues import ColumnQueues


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_queues_latency():
    """A delta written in cycle t is offered to the fetch in t + DELTA_FIFO_LATENCY; its
    command reaches the PE side DELTA_FIFO_LATENCY cycles after that handshake."""
    dut = ColumnQueues()

    async def bench(ctx):
        ctx.set(dut.req.ready, 1)
        await ctx.tick()  # room is a register
        assert ctx.get(dut.deltas.ready) and ctx.get(dut.idle)
        ctx.set(dut.deltas.valid, 1)
        ctx.set(dut.deltas.payload, {"delta": -77, "kind": KIND_HIDDEN, "index": 9})
        assert ctx.get(dut.sent_h) and not ctx.get(dut.sent_x)
        await ctx.tick()
        ctx.set(dut.deltas.valid, 0)
        for _ in range(DELTA_FIFO_LATENCY - 1):
            assert not ctx.get(dut.req.valid)
            await ctx.tick()
        assert ctx.get(dut.req.valid)
        assert ctx.get(dut.req.payload.index) == 9
        assert ctx.get(dut.req.payload.kind) == KIND_HIDDEN
        await ctx.tick()
        for _ in range(DELTA_FIFO_LATENCY - 1):
            assert not ctx.get(dut.cmd.valid)
            await ctx.tick()
        assert ctx.get(dut.cmd.valid)
        assert ctx.get(dut.cmd.payload.delta) == -77
        assert ctx.get(dut.cmd.payload.kind) == KIND_HIDDEN
        assert not ctx.get(dut.idle)
        ctx.set(dut.cmd.ready, 1)
        await ctx.tick()
        assert ctx.get(dut.idle)

    _run(dut, bench)


def test_queues_keep_order_under_stalls():
    """Random valid/ready on all three streams: every delta reaches both sides, in order,
    with the context (``ctx``) it was accepted in; ``sent`` counts every delta."""
    dut = ColumnQueues()
    rnd = random.Random(1)
    kinds = (KIND_INPUT, KIND_HIDDEN, KIND_BIAS)
    deltas = [
        (rnd.randrange(-3000, 3000), rnd.choice(kinds), rnd.randrange(600), (n // 7) % 2)
        for n in range(80)
    ]

    async def bench(ctx):
        sent, reqs, cmds = 0, [], []
        counts = [0, 0, 0]
        for _ in range(2000):
            v = sent < len(deltas) and rnd.random() < 0.7
            if sent < len(deltas):
                d, k, i, c = deltas[sent]
                ctx.set(dut.deltas.payload, {"delta": d, "kind": k, "index": i})
                ctx.set(dut.ctx, c)
            ctx.set(dut.deltas.valid, v)
            ctx.set(dut.req.ready, rnd.random() < 0.5)
            ctx.set(dut.cmd.ready, rnd.random() < 0.4)
            counts[0] += ctx.get(dut.sent_x)
            counts[1] += ctx.get(dut.sent_h)
            counts[2] += ctx.get(dut.sent)
            if v and ctx.get(dut.deltas.ready):
                sent += 1
            if ctx.get(dut.req.valid) and ctx.get(dut.req.ready):
                pay = dut.req.payload
                reqs.append((ctx.get(pay.kind), ctx.get(pay.index), ctx.get(pay.ctx)))
            if ctx.get(dut.cmd.valid) and ctx.get(dut.cmd.ready):
                pay = dut.cmd.payload
                cmds.append((ctx.get(pay.delta), ctx.get(pay.kind), ctx.get(pay.ctx)))
            await ctx.tick()
        assert reqs == [(k, i, c) for _, k, i, c in deltas]
        assert cmds == [(d, k, c) for d, k, _, c in deltas]
        assert counts == [sum(k == KIND_INPUT for _, k, _, _ in deltas),
                          sum(k == KIND_HIDDEN for _, k, _, _ in deltas), len(deltas)]  # fmt: skip
        assert ctx.get(dut.idle)

    _run(dut, bench)


def test_queues_room_keeps_slack():
    """With nothing read, the delta FIFO fills up to its slack and never overflows."""
    dut = ColumnQueues()

    async def bench(ctx):
        taken = 0
        ctx.set(dut.deltas.valid, 1)
        ctx.set(dut.deltas.payload, {"delta": 1, "kind": KIND_INPUT, "index": 0})
        for _ in range(3 * DELTA_FIFO_DEPTH):
            taken += ctx.get(dut.deltas.ready)
            await ctx.tick()
        # the registered room flag lets one more in than DEPTH - SLACK, never more than DEPTH
        assert taken == DELTA_FIFO_DEPTH - DELTA_FIFO_SLACK + 1

    _run(dut, bench)
