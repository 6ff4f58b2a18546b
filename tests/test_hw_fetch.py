"""Weight fetch (edgedrnn.hw.fetch): addresses and AXI burst splitting."""

from __future__ import annotations

import random

from amaranth.sim import Simulator

from edgedrnn import HardwareConfig
from edgedrnn.hw.fetch import WeightFetch
from edgedrnn.hw.pe import KIND_BIAS, KIND_INPUT


def _run(hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride, seed=0):
    dut = WeightFetch(hw)
    rnd = random.Random(seed)
    bursts = []

    async def bench(ctx):
        for sig, v in (
            (dut.col_beats, col_beats),
            (dut.bias_beats, bias_beats),
            (dut.bias_addr, bias_addr),
            (dut.col_addr, col_addr),
            (dut.stride, stride),
        ):
            ctx.set(sig, v)
        i = 0
        for _ in range(100_000):
            if i == len(reqs) and ctx.get(dut.idle):
                break
            valid = i < len(reqs) and rnd.random() < 0.7
            if i < len(reqs):
                ctx.set(dut.req.payload.kind, reqs[i][0])
                ctx.set(dut.req.payload.index, reqs[i][1])
            ctx.set(dut.req.valid, valid)
            arready = rnd.random() < 0.6
            ctx.set(dut.ar.arready, arready)
            if valid and ctx.get(dut.req.ready):
                i += 1
            if arready and ctx.get(dut.ar.arvalid):
                assert ctx.get(dut.ar.arsize) == hw.bus_bytes.bit_length() - 1
                assert ctx.get(dut.ar.arburst) == 1
                bursts.append((ctx.get(dut.ar.araddr), ctx.get(dut.ar.arlen) + 1))
            await ctx.tick()
        assert i == len(reqs)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return bursts


def _columns(bursts, bb):
    """Merge consecutive bursts back into contiguous (addr, beats) runs, checking AXI rules."""
    for addr, n in bursts:
        assert 1 <= n <= 256
        assert addr // 4096 == (addr + n * bb - 1) // 4096, "crosses a 4 KiB boundary"
    return bursts


def test_fetch_addresses_and_splitting():
    for bus in (64, 512):
        hw = HardwareConfig(num_pe=8, bus_bits=bus, max_hidden_size=8192)  # 300-beat columns
        bb = hw.bus_bytes
        col_beats, bias_beats = 300, 7  # > 256 beats: must split
        stride = col_beats * bb
        col_addr, bias_addr = 0x10000 + 3 * bb, 0x10000 - 5 * bb  # not 4 KiB aligned
        reqs = [(KIND_BIAS, 0), (KIND_INPUT, 0), (KIND_INPUT, 3), (KIND_INPUT, 17)]
        bursts = _columns(_run(hw, reqs, col_beats, bias_beats, bias_addr, col_addr, stride), bb)
        # regroup the bursts into columns in order
        expected = [(bias_addr, bias_beats)] + [
            (col_addr + k * stride, col_beats) for _, k in reqs[1:]
        ]
        it = iter(bursts)
        for addr, beats in expected:
            a, left = addr, beats
            while left:
                ba, n = next(it)
                assert ba == a
                a += n * bb
                left -= n
                assert left >= 0
            # a column is split only where it must be
        assert next(it, None) is None
        n_min = sum(
            len({(addr + i * bb) // 4096 for i in range(beats)}) for addr, beats in expected
        )
        assert len(bursts) >= n_min
        assert len(bursts) <= n_min + sum(beats // 256 for _, beats in expected)
