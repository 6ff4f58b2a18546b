"""PE array (edgedrnn.hw.pe): column accumulation into the banks, saturation, bus widths."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn import fixedpoint as fp
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT, PEArray
from edgedrnn.hw.pipeline import PE_ACT_READ_LATENCY, PE_DRAIN, PE_IDLE_LEAD, PE_LANDED_DELAY
from edgedrnn.sparse.image import pack_columns


def _run(hw, rows, columns, layer, seed, p_cmd=0.6, p_beat=0.7, clear=(), slots=None):
    """Stream ``columns`` (kind, delta, int8 column bytes padded to whole beats) into a
    PEArray, then clear the row groups in ``clear`` and read all row groups back. On a
    sparse build (``hw.sparse_weights``) the input and hidden columns are packed ones of
    ``slots`` entries per (gate, lane).

    Returns (banks[4, rows], overflow seen, cycles from the last beat handshake to idle);
    ``idle_soon`` rises PE_IDLE_LEAD cycles before ``idle`` (checked here).
    """
    dut = PEArray(hw)
    P, bb = hw.num_pe, hw.bus_bytes
    rnd = random.Random(seed)
    groups = rows // P
    base = layer * dut.gmax
    got = {}
    res = {"ovf": False, "drain": None, "soon": None}

    async def bench(ctx):
        ctx.set(dut.groups, groups)
        col_bytes = 6 * slots * P if hw.sparse_weights else 3 * rows
        ctx.set(dut.col_beats, -(-col_bytes // bb))
        if hw.sparse_weights:
            ctx.set(dut.slots, slots)
        ctx.set(dut.bias_beats, -(-4 * rows // bb))
        ctx.set(dut.base, base)
        beats = [(c, b) for c, (_, _, col) in enumerate(columns) for b in range(len(col) // bb)]
        ci = bi = 0
        last = None
        for cyc in range(20_000):
            done = ci == len(columns) and bi == len(beats)
            if done and res["soon"] is None and ctx.get(dut.idle_soon):
                res["soon"] = cyc - last
            if done and ctx.get(dut.idle):
                res["drain"] = cyc - last
                assert res["soon"] == res["drain"] - PE_IDLE_LEAD, res
                break
            res["ovf"] |= bool(ctx.get(dut.overflow))
            cv = ci < len(columns) and rnd.random() < p_cmd
            if ci < len(columns):
                ctx.set(dut.cmd.payload.kind, columns[ci][0])
                ctx.set(dut.cmd.payload.delta, columns[ci][1])
            ctx.set(dut.cmd.valid, cv)
            bv = bi < len(beats) and beats[bi][0] < ci and rnd.random() < p_beat
            if bi < len(beats):
                c, b = beats[bi]
                chunk = columns[c][2][b * bb : (b + 1) * bb].astype(np.uint8).tobytes()
                ctx.set(dut.beats.payload, int.from_bytes(chunk, "little"))
            ctx.set(dut.beats.valid, bv)
            if cv and ctx.get(dut.cmd.ready):
                ci += 1
            if bv and ctx.get(dut.beats.ready):
                bi += 1
                last = cyc
            await ctx.tick()
        assert ci == len(columns) and bi == len(beats)
        res["ovf"] |= bool(ctx.get(dut.overflow))
        ctx.set(dut.cmd.valid, 0)
        ctx.set(dut.beats.valid, 0)
        for g in clear:
            ctx.set(dut.clr_en, 1)
            ctx.set(dut.clr_addr, base + g)
            await ctx.tick()
        ctx.set(dut.clr_en, 0)
        for g in range(groups):
            ctx.set(dut.act_addr, base + g)
            await ctx.tick().repeat(PE_ACT_READ_LATENCY)
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
    return acc, res["ovf"], res["drain"]


def _columns(rng, rows, bb, n, first_bias=True, deltas=(1, -300, -32768, 32767, 32767)):
    """Random columns and the numpy reference of the banks (saturating after each column)."""
    ref = np.zeros((4, rows), dtype=np.int64)
    cols = []
    clipped = False
    for c in range(n):
        if c == 0 and first_bias:
            kind = KIND_BIAS
        else:
            kind = int(rng.choice([KIND_INPUT, KIND_HIDDEN, KIND_INPUT, KIND_HIDDEN, KIND_BIAS]))
        m = 4 * rows if kind == KIND_BIAS else 3 * rows
        col = np.zeros(-(-m // bb) * bb, dtype=np.int8)
        col[:m] = rng.integers(-128, 128, size=m)
        col[m:] = rng.integers(-128, 128, size=len(col) - m)  # bus padding is ignored
        delta = 256 if kind == KIND_BIAS and c == 0 else int(rng.choice(deltas))
        cols.append((kind, delta, col))
        banks = (0, 1, 2, 3) if kind == KIND_BIAS else (0, 1, 2 if kind == KIND_INPUT else 3)
        for blk, bank in enumerate(banks):
            ref[bank], clip = fp.sat24(
                ref[bank] + col[blk * rows : (blk + 1) * rows].astype(np.int64) * delta
            )
            clipped |= clip
    return cols, ref, clipped


@pytest.mark.parametrize(
    "pe,bus",
    [(4, 64), (8, 64), (4, 256), (16, 64)],  # 1, 1, 8 chunks per beat; 2 beats per chunk
)
def test_pe_accumulates_columns(pe, bus):
    hw = HardwareConfig(num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40)
    rng = np.random.default_rng(pe + bus)
    rows = -(-int(rng.integers(5, 40)) // pe) * pe
    cols, ref, clipped = _columns(rng, rows, hw.bus_bytes, 24)
    acc, ovf, drain = _run(hw, rows, cols, layer=1, seed=pe)
    np.testing.assert_array_equal(acc, ref)
    assert (np.abs(ref) == fp.ACC_MAX).any()  # saturation exercised
    assert ovf == clipped
    assert drain == PE_DRAIN


@pytest.mark.parametrize(
    "pe,bus,groups,p_beat",
    [
        (8, 64, 1, 1.0),  # a (bank, group) again 3, 4 or 5 chunks later: forwarded
        (8, 64, 1, 0.8),  # ... with gaps
        (8, 64, 2, 1.0),
        (4, 256, 1, 1.0),  # wide bus, padding skipped
        (16, 64, 1, 1.0),  # narrow bus: a chunk every other cycle
    ],
)
def test_pe_back_to_back_small_groups(pe, bus, groups, p_beat):
    """Back-to-back columns of one or two row groups: with one row group a (bank, group)
    comes back 3, 4 or (after a gap) 5 chunks later, before its previous write, and must
    take the forwarded result; many columns saturate."""
    hw = HardwareConfig(num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40)
    rng = np.random.default_rng(pe * groups + bus)
    rows = groups * pe
    deltas = (32767, -32768, 16384, -16384, 8192, -1, 3, -4096)
    cols, ref, clipped = _columns(rng, rows, hw.bus_bytes, 60, deltas=deltas)
    acc, ovf, drain = _run(hw, rows, cols, layer=0, seed=groups, p_cmd=1.0, p_beat=p_beat)
    np.testing.assert_array_equal(acc, ref)
    assert ovf == clipped
    assert drain == PE_DRAIN


def test_pe_min_sum_saturates():
    """-(2^23-1) + (-1) = -2^23 must saturate to -(2^23-1) and raise overflow."""
    hw = HardwareConfig(num_pe=8, bus_bits=64, max_layers=1, max_hidden_size=8)
    rows = 8
    cols = []
    ref = np.zeros((4, rows), dtype=np.int64)
    plan = [(-128, 32767), (-128, 32767), (-1, 255), (-1, 1), (1, 3)]
    clipped = False
    for w, delta in plan:
        col = np.full(3 * rows, w, dtype=np.int8)
        cols.append((KIND_INPUT, delta, col))
        for bank in (0, 1, 2):
            ref[bank], clip = fp.sat24(ref[bank] + np.int64(w) * delta)
            clipped |= clip
    assert ref[0, 0] == fp.ACC_MIN + 3
    acc, ovf, _ = _run(hw, rows, cols, layer=0, seed=0, p_cmd=1.0, p_beat=1.0)
    np.testing.assert_array_equal(acc, ref)
    assert ovf and clipped


def test_pe_clear():
    hw = HardwareConfig(num_pe=4, bus_bits=64, max_layers=2, max_hidden_size=16)
    rng = np.random.default_rng(7)
    rows = 12
    cols, ref, _ = _columns(rng, rows, hw.bus_bytes, 6)
    acc, _, _ = _run(hw, rows, cols, layer=1, seed=3, clear=(1,))
    ref[:, 4:8] = 0
    np.testing.assert_array_equal(acc, ref)


# ------------------------------------------------------------------ sparse decode


def _sparse_columns(rng, rows, hw, n, slots, deltas=(1, -300, -32768, 32767, 32767), fill=1.0):
    """Random columns for a sparse build: a dense bias column first, then packed input and
    hidden columns with at most ``slots`` non-zeros per (gate, lane) (``fill``: chance of
    each), and the numpy reference of the banks (saturating after each column)."""
    P, bb = hw.num_pe, hw.bus_bytes
    ref = np.zeros((4, rows), dtype=np.int64)
    cols = []
    clipped = False
    for c in range(n):
        kind = KIND_BIAS if c == 0 else int(rng.choice([KIND_INPUT, KIND_HIDDEN]))
        if kind == KIND_BIAS:
            dense = rng.integers(-128, 128, size=4 * rows).astype(np.int8)
            body = dense.view(np.uint8)
            delta = 256
        else:
            w = np.zeros((3, rows // P, P), dtype=np.int8)  # (gate, group, lane)
            for g in range(3):
                for k in range(P):
                    keep = rng.permutation(rows // P)[:slots]
                    keep = keep[rng.random(len(keep)) < fill]
                    vals = rng.integers(-128, 128, size=len(keep))
                    vals[vals == 0] = 1
                    w[g, keep, k] = vals
            dense = w.reshape(3 * rows)
            body = pack_columns(dense[:, None], rows, P, slots)[0]
            delta = int(rng.choice(deltas))
        col = rng.integers(0, 256, size=-(-len(body) // bb) * bb).astype(np.uint8)
        col[: len(body)] = body  # bus padding is ignored
        cols.append((kind, delta, col.view(np.int8)))
        banks = (0, 1, 2, 3) if kind == KIND_BIAS else (0, 1, 2 if kind == KIND_INPUT else 3)
        for blk, bank in enumerate(banks):
            ref[bank], clip = fp.sat24(
                ref[bank] + dense[blk * rows : (blk + 1) * rows].astype(np.int64) * delta
            )
            clipped |= clip
    return cols, ref, clipped


@pytest.mark.parametrize(
    "pe,bus,rows,slots,p_beat",
    [
        (8, 64, 24, 2, 0.7),  # a slot is two beats, the bias column one beat per row group
        (4, 64, 12, 1, 1.0),  # a slot per beat; one slot per gate: a row back 3 chunks later
        (4, 256, 20, 3, 0.8),  # four slots per beat, the column's padding skipped
        (16, 64, 32, 2, 1.0),  # four beats per slot, two per bias row group
    ],
)
def test_pe_sparse_decode(pe, bus, rows, slots, p_beat):
    """A sparse build: per lane, each entry adds value·Δ into the row its index names; the
    dense bias column as in a dense build; banks, saturation and overflow exact."""
    hw = HardwareConfig(
        num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40, sparse_weights=True
    )
    rng = np.random.default_rng(pe + bus + slots)
    cols, ref, clipped = _sparse_columns(rng, rows, hw, 40, slots, fill=0.8)
    acc, ovf, drain = _run(hw, rows, cols, layer=1, seed=pe, p_beat=p_beat, slots=slots)
    np.testing.assert_array_equal(acc, ref)
    assert (np.abs(ref) == fp.ACC_MAX).any()  # saturation exercised
    assert ovf == clipped
    assert drain == PE_DRAIN


@pytest.mark.parametrize("pe,bus,groups", [(4, 64, 1), (8, 128, 2), (4, 64, 3)])
def test_pe_sparse_same_rows_back_to_back(pe, bus, groups):
    """Back to back, every cycle a slot: with one slot per gate a lane's row comes back 3
    chunks later (forwarded, per lane); an empty entry (0, 0) right after a real one of row
    0 neither writes nor is forwarded from. Many columns saturate and come back."""
    hw = HardwareConfig(
        num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40, sparse_weights=True
    )
    rng = np.random.default_rng(pe * groups)
    rows = groups * pe
    slots = min(2, groups)
    deltas = (32767, -32768, 16384, -16384, 8192, -1, 3, -4096)
    cols, ref, clipped = _sparse_columns(rng, rows, hw, 80, slots, deltas=deltas, fill=0.6)
    acc, ovf, drain = _run(hw, rows, cols, layer=0, seed=groups, p_cmd=1.0, p_beat=1.0, slots=slots)
    np.testing.assert_array_equal(acc, ref)
    assert ovf == clipped
    assert drain == PE_DRAIN


@pytest.mark.parametrize("pe,bus", [(4, 64), (8, 64), (4, 256), (16, 64)])
def test_pe_columns_of_two_layers_interleaved(pe, bus):
    """Column contexts: runs of columns of two layers of different sizes, the constants of the
    offered command's layer on the inputs (as the top level selects them by the command's
    context), under random stalls: each layer's banks equal its own reference, and
    ``landed`` pulses once per column, PE_LANDED_DELAY after its last beat handshake."""
    hw = HardwareConfig(num_pe=pe, bus_bits=bus, max_layers=2, max_hidden_size=40)
    rng = np.random.default_rng(pe * bus + 1)
    bb = hw.bus_bytes
    rows = [pe, 3 * pe]
    layer_cols, refs = [], []
    for li in range(2):
        cols, ref, _ = _columns(rng, rows[li], bb, 12, deltas=(1, -300, 77, 32767))
        layer_cols.append(cols)
        refs.append(ref)
    order = []  # (layer, column), in runs of 1-4 columns of a layer
    left = [0, 0]
    li = 0
    while left[0] < 12 or left[1] < 12:
        for _ in range(int(rng.integers(1, 5))):
            if left[li] < 12:
                order.append((li, left[li]))
                left[li] += 1
        li ^= 1
    dut = PEArray(hw)
    gmax = dut.gmax
    rnd = random.Random(pe)
    got = {}

    def consts(ctx, layer):
        ctx.set(dut.groups, rows[layer] // pe)
        ctx.set(dut.col_beats, -(-3 * rows[layer] // bb))
        ctx.set(dut.bias_beats, -(-4 * rows[layer] // bb))
        ctx.set(dut.base, layer * gmax)

    async def bench(ctx):
        beats = [(k, b) for k, (la, c) in enumerate(order)
                 for b in range(len(layer_cols[la][c][2]) // bb)]  # fmt: skip
        ci = bi = 0
        last_beat, landed = [], []
        for cyc in range(20_000):
            if ctx.get(dut.landed):
                landed.append(cyc)
            if ci == len(order) and bi == len(beats) and ctx.get(dut.idle):
                break
            cv = ci < len(order) and rnd.random() < 0.6
            if ci < len(order):
                la, c = order[ci]
                kind, delta, _ = layer_cols[la][c]
                ctx.set(dut.cmd.payload.kind, kind)
                ctx.set(dut.cmd.payload.delta, delta)
                consts(ctx, la)
            else:
                consts(ctx, 0)  # no command offered: the constants must not matter
                ctx.set(dut.base, 0)
                ctx.set(dut.groups, 1)
            ctx.set(dut.cmd.valid, cv)
            bv = bi < len(beats) and beats[bi][0] < ci and rnd.random() < 0.7
            if bi < len(beats):
                k, b = beats[bi]
                la, c = order[k]
                chunk = layer_cols[la][c][2][b * bb : (b + 1) * bb].astype(np.uint8).tobytes()
                ctx.set(dut.beats.payload, int.from_bytes(chunk, "little"))
            ctx.set(dut.beats.valid, bv)
            if cv and ctx.get(dut.cmd.ready):
                ci += 1
            if bv and ctx.get(dut.beats.ready):
                bi += 1
                if bi == len(beats) or beats[bi][0] != beats[bi - 1][0]:
                    last_beat.append(cyc)
            await ctx.tick()
        for _ in range(PE_LANDED_DELAY + 1):
            if ctx.get(dut.landed):
                landed.append(cyc)
            cyc += 1
            await ctx.tick()
        assert landed == [c + PE_LANDED_DELAY for c in last_beat]
        ctx.set(dut.cmd.valid, 0)
        ctx.set(dut.beats.valid, 0)
        for la in range(2):
            for g in range(rows[la] // pe):
                ctx.set(dut.act_addr, la * gmax + g)
                await ctx.tick().repeat(PE_ACT_READ_LATENCY)
                for bank, port in enumerate((dut.act_r, dut.act_u, dut.act_cx, dut.act_ch)):
                    for lane in range(pe):
                        got[la, bank, g * pe + lane] = ctx.get(port[lane])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for la in range(2):
        acc = np.array([[got[la, b, i] for i in range(rows[la])] for b in range(4)])
        np.testing.assert_array_equal(acc, refs[la])
