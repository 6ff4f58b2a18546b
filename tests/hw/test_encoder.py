"""Delta encoder (edgedrnn.hw.encoder) against datapath.md §5 "Delta encoding"."""

from __future__ import annotations

import random

import numpy as np
from amaranth import ResetInserter, Signal
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from edgedrnn import fixedpoint as fp
from edgedrnn.hw.encoder import DeltaEncoder
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT
from edgedrnn.hw.pipeline import ENCODER_LATENCY, ENCODER_RETIRE_DELAY, ENCODER_STAGES


def _expected(groups, tx, th):
    out, refs, ovf = [], [], False
    for values, rf, mask, kind, base in groups:
        new = list(rf)
        if kind == KIND_BIAS:
            out.append((256, kind, base))
            refs.append(new)
            continue
        theta = tx if kind == KIND_INPUT else th
        for k in range(len(values)):
            if not mask >> k & 1:
                continue
            d, clipped = fp.sat16(values[k] - rf[k])
            d = int(d)
            ovf |= clipped
            if d != 0 and abs(d) >= theta:
                out.append((d, kind, base + k))
                new[k] = rf[k] + d
        refs.append(new)
    return out, refs, ovf


def _run(lanes, groups, tx, th, seed, depth=8):
    """Feed ``groups`` at random times, never more than ``depth`` not yet retired."""
    dut = DeltaEncoder(lanes, depth=depth)
    rnd = random.Random(seed)
    out, ovf = [], False
    refs = {i: list(g[1]) for i, g in enumerate(groups)}
    max_used = 0

    async def bench(ctx):
        nonlocal ovf, max_used
        ctx.set(dut.theta_x, tx)
        ctx.set(dut.theta_h, th)
        gi, used = 0, 0
        for _ in range(20 * len(groups) * lanes + 80):
            valid = gi < len(groups) and used < depth and rnd.random() < 0.8
            if valid:
                values, rf, mask, kind, base = groups[gi]
                # an input row group from x_in: the values come in ``x``, not ``values``
                from_x = kind == KIND_INPUT and rnd.random() < 0.3
                for k in range(lanes):
                    noise = rnd.randrange(-9, 9)
                    ctx.set(dut.elem.payload.values[k], noise if from_x else values[k])
                    ctx.set(dut.elem.payload.x[k], values[k] if from_x else noise)
                    ctx.set(dut.elem.payload.refs[k], rf[k])
                ctx.set(dut.elem.payload.from_x, from_x)
                ctx.set(dut.elem.payload.mask, mask)
                ctx.set(dut.elem.payload.kind, kind)
                ctx.set(dut.elem.payload.base, base)
                ctx.set(dut.elem.payload.addr, gi)
            ctx.set(dut.elem.valid, valid)
            ready = rnd.random() < 0.7
            ctx.set(dut.out.ready, ready)
            we = ctx.get(dut.ref_we)
            if we:
                addr = ctx.get(dut.ref_addr)
                for k in range(lanes):
                    if we >> k & 1:
                        refs[addr][k] = ctx.get(dut.ref_new[k])
            ovf |= bool(ctx.get(dut.overflow))
            if ready and ctx.get(dut.out.valid):
                p = ctx.get(dut.out.payload)
                out.append((p.delta, p.kind, p.index))
            used += valid - ctx.get(dut.retired)
            assert 0 <= used <= depth
            max_used = max(max_used, used)
            if valid:
                gi += 1
            await ctx.tick()
        assert gi == len(groups)
        assert used == 0 and ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out, [refs[i] for i in range(len(groups))], ovf


def test_encoder_random_groups():
    rng = np.random.default_rng(0)
    for lanes, seed in ((4, 1), (8, 2)):
        groups = [([0] * lanes, [0] * lanes, 1, KIND_BIAS, 0)]
        for g in range(30):
            kind = KIND_INPUT if g < 15 else KIND_HIDDEN
            scale = int(rng.choice([40, 200, 32767]))
            values = [int(v) for v in rng.integers(-scale, scale + 1, size=lanes)]
            rf = [int(v) for v in rng.integers(-scale, scale + 1, size=lanes)]
            # equal values (Δ = 0) and |Δ| exactly at the threshold
            rf[0] = values[0]
            values[1] = rf[1] + 50
            mask = int(rng.integers(1, 1 << lanes))
            groups.append((values, rf, mask, kind, g * lanes))
        tx, th = 50, 120
        out, refs, ovf = _run(lanes, groups, tx, th, seed)
        exp_out, exp_refs, exp_ovf = _expected(groups, tx, th)
        assert out == exp_out
        assert refs == exp_refs
        assert ovf == exp_ovf
        assert exp_ovf  # the data saturates somewhere


def test_encoder_theta_zero_passes_every_change_and_bias_ignores_theta():
    lanes = 4
    groups = [
        ([0] * 4, [0] * 4, 1, KIND_BIAS, 0),
        ([5, 5, -3, 0], [5, 4, 0, 0], 0b1111, KIND_INPUT, 0),
    ]
    out, _, _ = _run(lanes, groups, 0, 0, 0)
    assert out == [(256, KIND_BIAS, 0), (1, KIND_INPUT, 1), (-3, KIND_INPUT, 2)]
    out, _, _ = _run(lanes, groups, 30000, 30000, 0)
    assert out == [(256, KIND_BIAS, 0)]


def test_encoder_latency():
    """A group with passed lanes: the reference write ENCODER_STAGES cycles after it came in,
    its first delta ENCODER_LATENCY cycles after (past the empty group FIFO: retired in the
    cycle of its reference write, as the serializer takes it), the next lanes one per cycle;
    a group with none passed is retired in the cycle of its reference write (both reported
    ENCODER_RETIRE_DELAY cycles later)."""
    dut = DeltaEncoder(4)

    async def bench(ctx):
        ctx.set(dut.out.ready, 1)
        ctx.set(dut.theta_h, 10)
        ctx.set(dut.elem.payload, {"values": [0, 50, 3, -50], "refs": [0] * 4, "x": [0] * 4,
                                   "from_x": 0, "mask": 0b1111, "kind": KIND_HIDDEN,
                                   "base": 8, "addr": 5})  # fmt: skip
        ctx.set(dut.elem.valid, 1)
        we, outs, retired = [], [], []
        for cycle in range(ENCODER_LATENCY + 4):
            if ctx.get(dut.ref_we):
                we.append((cycle, ctx.get(dut.ref_we), ctx.get(dut.ref_addr)))
            if ctx.get(dut.out.valid):
                outs.append((cycle, ctx.get(dut.out.payload.delta), ctx.get(dut.out.payload.index)))
            retired.append(ctx.get(dut.retired))
            await ctx.tick()
            if cycle == 0:  # the second group: no lane passes
                ctx.set(dut.elem.payload.values, [0, 0, 0, 0])
            elif cycle == 1:
                ctx.set(dut.elem.valid, 0)
        assert we == [(ENCODER_STAGES, 0b1010, 5)]
        assert outs == [(ENCODER_LATENCY, 50, 9), (ENCODER_LATENCY + 1, -50, 11)]
        # the first group goes from E4 into the serializer, the second is dropped in E4
        assert ENCODER_STAGES + 1 == ENCODER_LATENCY
        d = ENCODER_RETIRE_DELAY
        assert retired[ENCODER_STAGES + d] == 1 and retired[ENCODER_STAGES + 1 + d] == 1
        assert sum(retired) == 2 and ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


_i16 = st.integers(fp.INT16_MIN, fp.INT16_MAX)


@settings(max_examples=12, deadline=None)
@given(
    lanes=st.sampled_from([2, 4, 8]),
    tx=st.one_of(st.integers(0, 3), st.integers(0, 65535), st.sampled_from([32767, 32768, 32769])),
    th=st.integers(0, 65535),
    data=st.data(),
)
def test_encoder_property_thresholds_and_saturation(lanes, tx, th, data):
    """Random groups (extreme values, Θ beyond int16) equal the spec's encoding."""
    n = data.draw(st.integers(1, 12))
    groups = []
    for g in range(n):
        values = data.draw(st.lists(_i16, min_size=lanes, max_size=lanes))
        rf = data.draw(st.lists(_i16, min_size=lanes, max_size=lanes))
        mask = data.draw(st.integers(1, (1 << lanes) - 1))
        kind = data.draw(st.sampled_from([KIND_INPUT, KIND_HIDDEN]))
        groups.append((values, rf, mask, kind, g * lanes))
    out, refs, ovf = _run(lanes, groups, tx, th, seed=n, depth=data.draw(st.sampled_from([2, 8])))
    exp_out, exp_refs, exp_ovf = _expected(groups, tx, th)
    assert (out, refs, ovf) == (exp_out, exp_refs, exp_ovf)


def test_few_bits_counts_up_to_two_exhaustively():
    """The serializer's "none / one / two bits set" (boolean logic, no carry chain) on every
    8-bit mask and a sample of 16-bit ones."""
    from amaranth import Cat, Module, Signal

    from edgedrnn.hw.encoder import _few_bits

    for width, values in ((8, range(256)), (16, random.Random(3).sample(range(1 << 16), 600))):
        m = Module()
        bits = Signal(width)
        flags = Signal(3)
        m.d.comb += flags.eq(Cat(*_few_bits(bits)))

        async def bench(ctx, bits=bits, flags=flags, values=values):
            for v in values:
                ctx.set(bits, v)
                n = bin(v).count("1")
                assert ctx.get(flags) == (n == 0) | (n == 1) << 1 | (n == 2) << 2, v

        sim = Simulator(m)
        sim.add_testbench(bench)
        sim.run()


def _group(ctx, dut, lanes, values, base, kind=KIND_HIDDEN):
    ctx.set(dut.elem.payload, {"values": values, "refs": [0] * lanes, "x": [0] * lanes,
                               "from_x": 0, "mask": (1 << lanes) - 1, "kind": kind,
                               "base": base, "addr": base})  # fmt: skip


def test_encoder_bypass_back_to_back():
    """Groups of one passed lane each, one per cycle, the output always ready: every group
    goes past the empty group FIFO (the serializer lets its last lane go as the next group
    comes), so there is a delta on ``out`` every cycle, ENCODER_LATENCY after its group."""
    lanes, n = 4, 12
    dut = DeltaEncoder(lanes)

    async def bench(ctx):
        ctx.set(dut.out.ready, 1)
        ctx.set(dut.theta_h, 1)
        outs = []
        for cycle in range(n + ENCODER_LATENCY + 3):
            ctx.set(dut.elem.valid, cycle < n)
            lane = cycle % lanes
            _group(ctx, dut, lanes, [cycle + 1 if k == lane else 0 for k in range(lanes)],
                   base=4 * cycle)  # fmt: skip
            if ctx.get(dut.out.valid):
                p = ctx.get(dut.out.payload)
                outs.append((cycle, p.delta, p.index))
            await ctx.tick()
        assert outs == [(g + ENCODER_LATENCY, g + 1, 4 * g + g % lanes) for g in range(n)]
        assert ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_encoder_full_group_fifo_back_pressure():
    """The output not ready: the serializer holds the first group, the next ``depth`` fill
    the group FIFO (the sender's credits); then the deltas come out one per cycle, in order,
    with no gap between the groups; after that, with the FIFO empty, a group goes past it
    again (ENCODER_LATENCY)."""
    lanes, depth = 4, 4
    dut = DeltaEncoder(lanes, depth=depth)
    n = depth + 1

    async def bench(ctx):
        ctx.set(dut.theta_h, 1)
        ctx.set(dut.out.ready, 0)
        retired = 0
        for g in range(n):
            ctx.set(dut.elem.valid, 1)
            _group(ctx, dut, lanes, [g + 1, 0, -(g + 1), 0], base=10 * g)
            retired += ctx.get(dut.retired)
            await ctx.tick()
        ctx.set(dut.elem.valid, 0)
        for _ in range(10):
            retired += ctx.get(dut.retired)
            assert ctx.get(dut.out.valid)
            await ctx.tick()
        assert retired == 1  # the serializer's group: the others wait in the FIFO
        ctx.set(dut.out.ready, 1)
        outs, start = [], None
        for cycle in range(3 * n):
            if ctx.get(dut.out.valid):
                start = cycle if start is None else start
                p = ctx.get(dut.out.payload)
                outs.append((cycle - start, p.delta, p.index))
            retired += ctx.get(dut.retired)
            await ctx.tick()
        exp = []
        for g in range(n):
            exp += [(len(exp), g + 1, 10 * g), (len(exp) + 1, -(g + 1), 10 * g + 2)]
        assert outs == exp and retired == n and ctx.get(dut.idle)
        # empty again: the next group goes past the FIFO
        ctx.set(dut.elem.valid, 1)
        _group(ctx, dut, lanes, [0, 0, 0, 7], base=100)
        for cycle in range(ENCODER_LATENCY + 2):
            assert ctx.get(dut.out.valid) == (cycle == ENCODER_LATENCY)
            if cycle == ENCODER_LATENCY:
                assert ctx.get(dut.out.payload.index) == 103
            await ctx.tick()
            ctx.set(dut.elem.valid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_encoder_reset_mid_stream():
    """A domain reset with groups in the pipeline, the group FIFO and the serializer leaves
    the encoder empty (the registered "FIFO empty" flag included): the next group goes past
    the FIFO with ENCODER_LATENCY, nothing of the old ones comes out."""
    lanes = 4
    enc = DeltaEncoder(lanes, depth=4)
    rst = Signal()
    dut = ResetInserter(rst)(enc)

    async def bench(ctx):
        ctx.set(enc.theta_h, 1)
        ctx.set(enc.out.ready, 0)
        for g in range(3):
            ctx.set(enc.elem.valid, 1)
            _group(ctx, enc, lanes, [1, 1, 0, 0], base=10 * g)
            await ctx.tick()
        for _ in range(ENCODER_STAGES):  # one group in the serializer, two in the FIFO
            await ctx.tick()
        ctx.set(enc.elem.valid, 0)
        ctx.set(rst, 1)
        await ctx.tick()
        ctx.set(rst, 0)
        ctx.set(enc.out.ready, 1)
        assert ctx.get(enc.idle) and not ctx.get(enc.out.valid)
        ctx.set(enc.elem.valid, 1)
        _group(ctx, enc, lanes, [0, 5, 0, 0], base=40)
        outs = []
        for cycle in range(ENCODER_LATENCY + 4):
            if ctx.get(enc.out.valid):
                outs.append((cycle, ctx.get(enc.out.payload.delta), ctx.get(enc.out.payload.index)))
            await ctx.tick()
            ctx.set(enc.elem.valid, 0)
        assert outs == [(ENCODER_LATENCY, 5, 41)] and ctx.get(enc.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
