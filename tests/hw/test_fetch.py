"""Weight fetch (edgedrnn.hw.fetch): addresses, AXI burst splitting, throughput, ``idle``."""

from __future__ import annotations

import itertools
import random

from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from edgedrnn import HardwareConfig
from edgedrnn.hw.fetch import WeightFetch, index_bits, stride_bits
from edgedrnn.hw.pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT
from edgedrnn.hw.pipeline import FETCH_LATENCY


def split(addr, beats, bb):
    """Model: greedy INCR bursts of at most 256 beats that never cross 4 KiB."""
    out = []
    while beats:
        n = min(beats, 256, (4096 - addr % 4096) // bb)
        out.append((addr, n))
        addr += n * bb
        beats -= n
    return out


def expected_bursts(reqs, col_beats, bias_beats, bias_addr, col_addr, stride, bb):
    out = []
    for kind, index in reqs:
        if kind == KIND_BIAS:
            out.append(split(bias_addr, bias_beats, bb))
        else:
            out.append(split(col_addr + index * stride, col_beats, bb))
    return out


def _run(hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride, p_valid, p_ready, seed):
    """Drive ``reqs`` with random req.valid / arready; return the ARs and a cycle trace.

    Checks on the way: AR fields, ``idle`` (high exactly when every request accepted before this
    cycle has had all its ARs accepted before this cycle) and that AR and request handshakes
    never wait on each other combinationally (req.ready does not depend on arready).
    """
    dut = WeightFetch(hw)
    rnd = random.Random(seed)
    bb = hw.bus_bytes
    exp = expected_bursts(reqs, col_beats, bias_beats, bias_addr, col_addr, stride, bb)
    want = [len(b) for b in exp]
    bursts, accepted, ar_cycles = [], [], []

    async def bench(ctx):
        for sig, v in (
            (dut.col_beats, col_beats),
            (dut.bias_beats, bias_beats),
            (dut.bias_addr, bias_addr),
            (dut.col_addr, col_addr),
            (dut.stride, stride),
        ):
            ctx.set(sig, v)
        i = 0  # requests accepted
        done = 0  # ARs accepted
        for cyc in range(200_000):
            # idle: high iff all ARs of the requests accepted so far have been accepted
            owed = sum(want[:i])
            assert ctx.get(dut.idle) == (owed == done), (cyc, i, done, owed)
            if i == len(reqs) and done == sum(want) and cyc > 0:
                break
            valid = i < len(reqs) and rnd.random() < p_valid
            if i < len(reqs):
                ctx.set(dut.req.payload.kind, reqs[i][0])
                ctx.set(dut.req.payload.index, reqs[i][1])
            ctx.set(dut.req.valid, valid)
            ctx.set(dut.ar.arready, 0)
            ready0 = ctx.get(dut.req.ready)
            arready = rnd.random() < p_ready
            ctx.set(dut.ar.arready, arready)
            assert ctx.get(dut.req.ready) == ready0
            if valid and ready0:
                accepted.append(cyc)
                i += 1
            if arready and ctx.get(dut.ar.arvalid):
                assert ctx.get(dut.ar.arsize) == bb.bit_length() - 1
                assert ctx.get(dut.ar.arburst) == 1
                bursts.append((ctx.get(dut.ar.araddr), ctx.get(dut.ar.arlen) + 1))
                ar_cycles.append(cyc)
                done += 1
            await ctx.tick()
        else:
            raise AssertionError("timeout")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return bursts, accepted, ar_cycles


def _check(hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride, **kw):
    bb = hw.bus_bytes
    exp = expected_bursts(reqs, col_beats, bias_beats, bias_addr, col_addr, stride, bb)
    bursts, accepted, ar_cycles = _run(
        hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride, **kw
    )
    for addr, n in bursts:  # the AXI rules, independently of the model
        assert 1 <= n <= 256
        assert addr % bb == 0
        assert addr // 4096 == (addr + n * bb - 1) // 4096, "crosses a 4 KiB boundary"
    assert bursts == [b for col in exp for b in col]
    return exp, accepted, ar_cycles


def test_fetch_addresses_and_splitting():
    for bus in (64, 512):
        hw = HardwareConfig(num_pe=8, bus_bits=bus, max_hidden_size=8192)  # 300-beat columns
        bb = hw.bus_bytes
        col_beats, bias_beats = 300, 7  # > 256 beats: must split
        stride = col_beats * bb
        col_addr, bias_addr = 0x10000 + 3 * bb, 0x10000 - 5 * bb  # not 4 KiB aligned
        reqs = [(KIND_BIAS, 0), (KIND_INPUT, 0), (KIND_INPUT, 3), (KIND_HIDDEN, 17)]
        exp, _, _ = _check(
            hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride,
            p_valid=0.7, p_ready=0.6, seed=0,
        )  # fmt: skip
        # the bias column crosses a 4 KiB boundary; a column is split only where it must be
        assert exp[0] == [(bias_addr, 5), (0x10000, 2)]
        cmax = min(256, 4096 // bb)
        assert all(-(-300 // cmax) <= len(col) <= -(-300 // cmax) + 1 for col in exp[1:])


def test_fetch_64bit_page_halves():
    """64-bit bus: 512 beats per 4 KiB page, so a page takes two 256-beat bursts."""
    hw = HardwareConfig(num_pe=8, bus_bits=64, max_hidden_size=8192)
    stride = 1536 * 8
    reqs = [(KIND_INPUT, 0), (KIND_INPUT, 1), (KIND_BIAS, 5)]
    for col_addr in (0x2000, 0x2008, 0x27F8, 0x2800, 0x2FF8):
        exp, _, _ = _check(
            hw, reqs, 1300, 257, col_addr + 0x100, col_addr, stride,
            p_valid=0.8, p_ready=0.7, seed=col_addr,
        )  # fmt: skip
        if col_addr == 0x2008:  # greedy: 256 from the unaligned start, then to the boundary
            assert exp[0][:3] == [(0x2008, 256), (0x2808, 255), (0x3000, 256)]


def _burst_runs(ar_cycles):
    return all(b - a == 1 for a, b in itertools.pairwise(ar_cycles))


def test_fetch_throughput_and_latency():
    """arready always high, a request always offered: ARs back to back, no bubbles."""
    hw = HardwareConfig(num_pe=8, bus_bits=64)
    bb = hw.bus_bytes
    # one-burst columns: one request accepted and one AR issued per cycle
    reqs = [(KIND_INPUT, k) for k in range(20)]
    exp, acc, arc = _check(hw, reqs, 3, 4, 0x800, 0x1000, 3 * bb, p_valid=1.0, p_ready=1.0, seed=1)
    assert arc[0] - acc[0] == FETCH_LATENCY
    assert acc == list(range(acc[0], acc[0] + len(reqs)))
    assert _burst_runs(arc)
    # split columns (2-3 bursts each, near 4 KiB boundaries) and single ones mixed
    reqs = [(KIND_INPUT, k) for k in range(12)] + [(KIND_BIAS, 0)] + [(KIND_HIDDEN, 40)]
    for col_beats, stride in ((300, 301 * bb), (20, 500 * bb), (257, 257 * bb)):
        exp, acc, arc = _check(
            hw, reqs, col_beats, 2, 0x7F0, 0x0FF8, stride, p_valid=1.0, p_ready=1.0, seed=2
        )
        assert arc[0] - acc[0] == FETCH_LATENCY
        assert _burst_runs(arc)
        # requests are taken as fast as the ARs go out: the gap before request i is at most
        # max(2, bursts of the column then being split, FETCH_LATENCY + 1 requests earlier)
        for i in range(1, len(acc)):
            window = exp[max(0, i - FETCH_LATENCY - 2) : i]
            assert acc[i] - acc[i - 1] <= max(2, max(len(c) for c in window))


def test_fetch_error():
    hw = HardwareConfig(num_pe=8, bus_bits=64)
    dut = WeightFetch(hw)

    async def bench(ctx):
        for rvalid, rready, rresp, err in (
            (1, 1, 0, 0),
            (1, 1, 2, 1),
            (1, 0, 2, 0),
            (0, 1, 3, 0),
            (1, 1, 3, 1),
        ):
            ctx.set(dut.ar.rvalid, rvalid)
            ctx.set(dut.ar.rready, rready)
            ctx.set(dut.ar.rresp, rresp)
            assert ctx.get(dut.error) == err
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@st.composite
def _cases(draw):
    bus = draw(st.sampled_from([64, 128, 256, 512]))
    hw = HardwareConfig(num_pe=8, bus_bits=bus, max_hidden_size=draw(st.sampled_from([1024, 8192])))
    bb = hw.bus_bytes

    def address():  # word aligned, often within a few beats of a 4 KiB boundary
        page = draw(st.integers(0, 1 << 16))
        near = draw(st.booleans())
        off = draw(st.integers(-300, 300) if near else st.integers(0, 4096 // bb - 1))
        return max(0, page * 4096 + off * bb)

    stride = draw(st.integers(1, ((1 << stride_bits(hw)) - 1) // bb)) * bb
    n = draw(st.integers(1, 10))
    imax = (1 << index_bits(hw)) - 1
    idx = st.one_of(st.integers(0, 40), st.integers(0, imax))
    kinds = st.sampled_from([KIND_INPUT, KIND_HIDDEN, KIND_BIAS])
    reqs = [(draw(kinds), draw(idx)) for _ in range(n)]
    beats = st.one_of(st.integers(1, 12), st.integers(1, 1100))
    return dict(
        hw=hw,
        reqs=reqs,
        col_beats=draw(beats),
        bias_beats=draw(beats),
        bias_addr=address(),
        col_addr=address(),
        stride=stride,
        p_valid=draw(st.sampled_from([0.3, 0.8, 1.0])),
        p_ready=draw(st.sampled_from([0.2, 0.6, 1.0])),
        seed=draw(st.integers(0, 1 << 16)),
    )


@settings(max_examples=60)
@given(_cases())
def test_fetch_random_against_model(case):
    """Random addresses (near 4 KiB boundaries), lengths, strides, kinds and stalls."""
    _check(**case)


def test_fetch_constants_taken_with_each_request():
    """Column contexts: the layer constants on the inputs are those of the request offered
    (two sets, switching between requests, as the top level selects them by the request's
    context); each request's bursts follow its own set, under random stalls."""
    hw = HardwareConfig(num_pe=8, bus_bits=64, max_hidden_size=1024)
    bb = hw.bus_bytes
    sets = [
        # col_beats, bias_beats, bias_addr, col_addr, stride
        (6, 8, 0x800, 0x1000, 6 * bb),
        (300, 3, 0x7F8, 0x4008, 301 * bb),
    ]
    rnd = random.Random(5)
    reqs = [(rnd.choice((KIND_INPUT, KIND_HIDDEN, KIND_BIAS)), rnd.randrange(40), (n // 3) % 2)
            for n in range(30)]  # fmt: skip
    exp = [b for kind, index, c in reqs for b in expected_bursts([(kind, index)], *sets[c], bb)[0]]
    dut = WeightFetch(hw)
    bursts = []

    async def bench(ctx):
        i = 0
        for _ in range(20_000):
            if i == len(reqs) and len(bursts) == len(exp):
                break
            valid = i < len(reqs) and rnd.random() < 0.7
            if i < len(reqs):
                kind, index, c = reqs[i]
                ctx.set(dut.req.payload.kind, kind)
                ctx.set(dut.req.payload.index, index)
                for sig, v in zip(
                    (dut.col_beats, dut.bias_beats, dut.bias_addr, dut.col_addr, dut.stride),
                    sets[c],
                    strict=True,
                ):
                    ctx.set(sig, v)
            else:  # constants of no request: must not matter any more
                for sig in (dut.col_beats, dut.bias_beats, dut.bias_addr, dut.col_addr):
                    ctx.set(sig, 1)
                ctx.set(dut.stride, 0)
            ctx.set(dut.req.valid, valid)
            arready = rnd.random() < 0.5
            ctx.set(dut.ar.arready, arready)
            if valid and ctx.get(dut.req.ready):
                i += 1
            if arready and ctx.get(dut.ar.arvalid):
                bursts.append((ctx.get(dut.ar.araddr), ctx.get(dut.ar.arlen) + 1))
            await ctx.tick()
        else:
            raise AssertionError("timeout")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert bursts == exp
