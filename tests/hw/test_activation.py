"""Activation unit (edgedrnn.hw.activation) against datapath.md §5-6, in the Amaranth simulator."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from edgedrnn import fixedpoint as fp
from edgedrnn.hw.activation import Activation, bucket_rom, step_table
from edgedrnn.hw.pipeline import ACT_LATENCY


def _model(mr, mu, mcx, mch, hp):
    """datapath.md §5 steps 1-5 for arrays; returns (h, overflow per element)."""

    def s16(v):
        v = np.asarray(v, dtype=np.int64)
        clipped = (v > fp.INT16_MAX) | (v < fp.INT16_MIN)
        return np.clip(v, fp.INT16_MIN, fp.INT16_MAX), clipped

    a, o1 = s16(fp.rne(mr, 7))
    b, o2 = s16(fp.rne(mu, 7))
    q, o3 = s16(fp.rne(mch, 7))
    r, u = fp.sig(a), fp.sig(b)
    s = r * q + 2 * np.asarray(mcx, dtype=np.int64)
    cin, o4 = s16(fp.rne(s, 8))
    c = fp.tanh(cin)
    h, o5 = s16(fp.rne((256 - u) * c, 8) + fp.rne(u * np.asarray(hp, dtype=np.int64), 8))
    ovf = o1 | o2 | o3 | o4 | o5
    return h, ovf


def _run(mr, mu, mcx, mch, hp):
    dut = Activation()
    n = len(mr)
    out_h = np.zeros(n, dtype=np.int64)
    out_o = np.zeros(n, dtype=bool)

    async def bench(ctx):
        got = 0
        for t in range(n + ACT_LATENCY):
            if t < n:
                ctx.set(dut.i_valid, 1)
                ctx.set(dut.m_r, int(mr[t]))
                ctx.set(dut.m_u, int(mu[t]))
                ctx.set(dut.m_cx, int(mcx[t]))
                ctx.set(dut.m_ch, int(mch[t]))
                ctx.set(dut.h_prev, int(hp[t]))
            else:
                ctx.set(dut.i_valid, 0)
            if ctx.get(dut.o_valid):
                assert t - got == ACT_LATENCY
                out_h[got] = ctx.get(dut.o_h)
                out_o[got] = ctx.get(dut.o_overflow)
                got += 1
            await ctx.tick()
        assert got == n

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out_h, out_o


@pytest.mark.parametrize("table", ["sig", "tanh"])
def test_step_table_and_bucket_rom_reconstruct_whole_table(table):
    t = (fp.sig_table if table == "sig" else fp.tanh_table)().astype(np.int64)
    st = step_table(t)
    v = np.arange(fp.INT16_MIN, fp.INT16_MAX + 1)
    np.testing.assert_array_equal(st(v), t)
    rom = bucket_rom(st)
    np.testing.assert_array_equal(rom(v), t)
    # beyond int16 (the unit looks up unsaturated values): the end values
    wide = np.array([-(1 << 17), -40000, 40000, (1 << 17) - 1])
    np.testing.assert_array_equal(rom(wide), [t[0], t[0], t[-1], t[-1]])
    assert len(rom.base) <= 128  # small ROM in logic


def _table_sweep(vs):
    """Drive the unit so that its output is SIG(v) (first half) and TANH(v) (second half)."""
    n = len(vs)
    big = -(1 << 23) + 1
    # SIG: u = SIG(v) with c = 0 (q = 0, M_cx = 0) and h_prev = 256 -> h = u
    sig_in = (np.zeros(n), vs * 128, np.zeros(n), np.zeros(n), np.full(n, 256))
    # TANH: u = 0 (M_u very negative), r = 0, s = 2 M_cx, rne8(s) = v -> h = TANH(v)
    tanh_in = (np.full(n, big), np.full(n, big), vs * 128, np.zeros(n), np.zeros(n))
    args = [np.concatenate([a, b]).astype(np.int64) for a, b in zip(sig_in, tanh_in, strict=True)]
    h, _ = _run(*args)
    np.testing.assert_array_equal(h[:n], fp.sig(vs))
    np.testing.assert_array_equal(h[n:], fp.tanh(vs))


def test_tables_through_the_unit_at_edges_and_sample():
    steps = [step_table(fp.sig_table()), step_table(fp.tanh_table())]
    pts = {fp.INT16_MIN, fp.INT16_MAX, 0, -1, 1, -1024, -1025, 1023, 1024}
    for st in steps:
        for e in st.thresholds:  # every step edge (bucket thresholds and window ends)
            pts.update(range(e - 3, e + 4))
    vs = np.array(sorted(pts | set(range(fp.INT16_MIN, fp.INT16_MAX, 97))), dtype=np.int64)
    _table_sweep(vs)


@pytest.mark.slow
def test_tables_through_the_unit_all_inputs():
    _table_sweep(np.arange(fp.INT16_MIN, fp.INT16_MAX + 1, dtype=np.int64))


def test_random_neurons_match_spec():
    rng = np.random.default_rng(0)
    n = 1500
    acc = (1 << 23) - 1
    cols = []
    for _ in range(4):
        scale = rng.choice([1 << 9, 1 << 12, 1 << 16, acc], size=n)
        cols.append((rng.uniform(-1, 1, size=n) * scale).astype(np.int64))
    hp = rng.integers(fp.INT16_MIN, fp.INT16_MAX + 1, size=n)
    hp[: n // 2] = rng.integers(-600, 600, size=n // 2)
    h, o = _run(*cols, hp)
    h_ref, o_ref = _model(*cols, hp)
    np.testing.assert_array_equal(h, h_ref)
    np.testing.assert_array_equal(o, o_ref)
    assert o_ref.any() and not o_ref.all()
