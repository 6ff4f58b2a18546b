"""PE array (edgedrnn.hw.pe): column accumulation into the banks, saturation, bus widths."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn import fixedpoint as fp
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT, PEArray


def _run(hw, rows, columns, layer, seed):
    """columns: list of (kind, delta, int8 column bytes padded to whole beats)."""
    dut = PEArray(hw)
    P, bb = hw.num_pe, hw.bus_bytes
    rnd = random.Random(seed)
    groups = rows // P
    base = layer * dut.gmax
    got = {}

    async def bench(ctx):
        ctx.set(dut.groups, groups)
        ctx.set(dut.col_beats, -(-3 * rows // bb))
        ctx.set(dut.bias_beats, -(-4 * rows // bb))
        ctx.set(dut.base, base)
        beats = [(c, b) for c, (_, _, col) in enumerate(columns) for b in range(len(col) // bb)]
        ci = bi = 0
        for _ in range(20_000):
            if ci == len(columns) and bi == len(beats) and ctx.get(dut.idle):
                break
            cv = ci < len(columns) and rnd.random() < 0.6
            if ci < len(columns):
                ctx.set(dut.cmd.payload.kind, columns[ci][0])
                ctx.set(dut.cmd.payload.delta, columns[ci][1])
            ctx.set(dut.cmd.valid, cv)
            bv = bi < len(beats) and beats[bi][0] < ci and rnd.random() < 0.7
            if bi < len(beats):
                c, b = beats[bi]
                chunk = columns[c][2][b * bb : (b + 1) * bb].astype(np.uint8).tobytes()
                ctx.set(dut.beats.payload, int.from_bytes(chunk, "little"))
            ctx.set(dut.beats.valid, bv)
            if cv and ctx.get(dut.cmd.ready):
                ci += 1
            if bv and ctx.get(dut.beats.ready):
                bi += 1
            await ctx.tick()
        assert ci == len(columns) and bi == len(beats)
        for g in range(groups):
            ctx.set(dut.act_addr, base + g)
            await ctx.tick()
            for bank, port in enumerate((dut.act_r, dut.act_u, dut.act_cx, dut.act_ch)):
                for lane in range(P):
                    got[bank, g * P + lane] = ctx.get(port[lane])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    acc = np.zeros((4, rows), dtype=np.int64)
    for b in range(4):
        for i in range(rows):
            acc[b, i] = got[b, i]
    return acc


@pytest.mark.parametrize(
    "pe,bus",
    [(4, 64), (8, 64), (4, 256), (16, 64)],  # 1, 1, 8 chunks per beat; 2 beats per chunk
)
def test_pe_accumulates_columns(pe, bus):
    hw = HardwareConfig(num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40)
    rng = np.random.default_rng(pe + bus)
    rows = -(-int(rng.integers(5, 40)) // pe) * pe
    bb = hw.bus_bytes
    ref = np.zeros((4, rows), dtype=np.int64)
    cols = []
    for c in range(24):
        kind = KIND_BIAS if c == 0 else int(rng.choice([KIND_INPUT, KIND_HIDDEN]))
        n = 4 * rows if kind == KIND_BIAS else 3 * rows
        col = np.zeros(-(-n // bb) * bb, dtype=np.int8)
        col[:n] = rng.integers(-128, 128, size=n)
        col[n:] = rng.integers(-128, 128, size=len(col) - n)  # bus padding is ignored
        delta = 256 if kind == KIND_BIAS else int(rng.choice([1, -300, -32768, 32767, 32767]))
        cols.append((kind, delta, col))
        banks = (0, 1, 2, 3) if kind == KIND_BIAS else (0, 1, 2 if kind == KIND_INPUT else 3)
        for blk, bank in enumerate(banks):
            ref[bank] = fp.sat24(
                ref[bank] + col[blk * rows : (blk + 1) * rows].astype(np.int64) * delta
            )[0]
    acc = _run(hw, rows, cols, layer=1, seed=pe)
    np.testing.assert_array_equal(acc, ref)
    assert (np.abs(ref) == fp.ACC_MAX).any()  # saturation exercised
