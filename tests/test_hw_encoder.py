"""Delta encoder (edgedrnn.hw.encoder) against datapath.md §5 "Delta encoding"."""

from __future__ import annotations

import random

import numpy as np
from amaranth.sim import Simulator

from edgedrnn import fixedpoint as fp
from edgedrnn.hw.encoder import DeltaEncoder
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT


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


def _run(lanes, groups, tx, th, seed):
    dut = DeltaEncoder(lanes)
    rnd = random.Random(seed)
    out, refs, ovf = [], [], False

    async def bench(ctx):
        nonlocal ovf
        ctx.set(dut.theta_x, tx)
        ctx.set(dut.theta_h, th)
        gi = 0
        for _ in range(20 * len(groups) * lanes + 50):
            valid = gi < len(groups) and rnd.random() < 0.8
            if gi < len(groups):
                values, rf, mask, kind, base = groups[gi]
                for k in range(lanes):
                    ctx.set(dut.elem.payload.values[k], values[k])
                    ctx.set(dut.elem.payload.refs[k], rf[k])
                ctx.set(dut.elem.payload.mask, mask)
                ctx.set(dut.elem.payload.kind, kind)
                ctx.set(dut.elem.payload.base, base)
            ctx.set(dut.elem.valid, valid)
            ready = rnd.random() < 0.7
            ctx.set(dut.out.ready, ready)
            if valid and ctx.get(dut.elem.ready):
                we = ctx.get(dut.ref_we)
                new = list(groups[gi][1])
                for k in range(lanes):
                    if we >> k & 1:
                        new[k] = ctx.get(dut.ref_new[k])
                refs.append(new)
                ovf |= bool(ctx.get(dut.overflow))
                gi += 1
            if ready and ctx.get(dut.out.valid):
                p = ctx.get(dut.out.payload)
                out.append((p.delta, p.kind, p.index))
            await ctx.tick()
        assert gi == len(groups)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out, refs, ovf


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
