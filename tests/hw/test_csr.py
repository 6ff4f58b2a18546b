"""AXI4-Lite register block (edgedrnn.hw.csr) in the Amaranth simulator."""

from __future__ import annotations

import random

from amaranth.sim import Simulator

from edgedrnn.hw import regmap
from edgedrnn.hw.csr import RegisterBlock


class _Host:
    def __init__(self, ctx, bus, rnd):
        self.ctx, self.bus, self.rnd = ctx, bus, rnd

    async def write(self, addr, value, strb=0xF):
        ctx, bus = self.ctx, self.bus
        ctx.set(bus.awaddr, addr)
        ctx.set(bus.wdata, value)
        ctx.set(bus.wstrb, strb)
        ctx.set(bus.awvalid, 1)
        ctx.set(bus.wvalid, 1)
        while not (ctx.get(bus.awready) and ctx.get(bus.wready)):
            await ctx.tick()
        await ctx.tick()
        ctx.set(bus.awvalid, 0)
        ctx.set(bus.wvalid, 0)
        while True:
            ready = self.rnd.random() < 0.5
            ctx.set(bus.bready, ready)
            if ready and ctx.get(bus.bvalid):
                assert ctx.get(bus.bresp) == 0
                await ctx.tick()
                ctx.set(bus.bready, 0)
                return
            await ctx.tick()

    async def read(self, addr):
        ctx, bus = self.ctx, self.bus
        ctx.set(bus.araddr, addr)
        ctx.set(bus.arvalid, 1)
        while not ctx.get(bus.arready):
            await ctx.tick()
        await ctx.tick()
        ctx.set(bus.arvalid, 0)
        while True:
            ready = self.rnd.random() < 0.5
            ctx.set(bus.rready, ready)
            if ready and ctx.get(bus.rvalid):
                v = ctx.get(bus.rdata)
                await ctx.tick()
                ctx.set(bus.rready, 0)
                return v
            await ctx.tick()


def test_register_block():
    L = 3
    dut = RegisterBlock(L, config_value=0x12345)
    a = regmap.addr_of
    pulses = []

    async def bench(ctx):
        h = _Host(ctx, dut.bus, random.Random(0))
        assert await h.read(a("ID")) == regmap.ID_VALUE
        assert await h.read(a("VERSION")) == 0x00020001
        assert await h.read(a("CONFIG")) == 0x12345
        # RW registers, per layer, with byte strobes
        await h.write(a("NUM_LAYERS"), 2)
        await h.write(a("THETA_X", 1), 0xAABBCCDD)
        await h.write(a("THETA_X", 1), 0x00001122, strb=0b0001)
        assert await h.read(a("THETA_X", 1)) == 0xAABBCC22
        assert ctx.get(dut.theta_x[1]) == 0xAABBCC22
        assert ctx.get(dut.num_layers) == 2
        for layer in range(L):
            await h.write(a("HIDDEN_SIZE", layer), 10 + layer)
        assert [ctx.get(dut.hidden_size[i]) for i in range(L)] == [10, 11, 12]
        # RO inputs, writes to RO ignored, unmapped reads 0
        ctx.set(dut.nz_h[2], 77)
        ctx.set(dut.step_cycles, 1234)
        assert await h.read(a("NZ_H", 2)) == 77
        await h.write(a("STEP_CYCLES"), 5)
        assert await h.read(a("STEP_CYCLES")) == 1234
        assert await h.read(0xFFC) == 0
        assert await h.read(a("CTRL")) == 0
        # sticky bits: set by pulses, W1C through STATUS_CLEAR
        ctx.set(dut.set_overflow, 1)
        await ctx.tick()
        ctx.set(dut.set_overflow, 0)
        ctx.set(dut.busy, 1)
        st = await h.read(a("STATUS"))
        assert st & regmap.STATUS_OVERFLOW and st & regmap.STATUS_BUSY
        await h.write(a("STATUS_CLEAR"), regmap.STATUS_ERROR)
        assert await h.read(a("STATUS")) & regmap.STATUS_OVERFLOW
        await h.write(a("STATUS_CLEAR"), regmap.STATUS_OVERFLOW)
        assert not await h.read(a("STATUS")) & regmap.STATUS_OVERFLOW
        # CTRL pulses
        await h.write(a("CTRL"), regmap.CTRL_START | regmap.CTRL_RESET_STATE)
        assert await h.read(a("STATUS")) & regmap.STATUS_RUNNING
        await h.write(a("CTRL"), regmap.CTRL_SOFT_RESET)
        st = await h.read(a("STATUS"))
        assert not st & regmap.STATUS_RUNNING
        assert await h.read(a("NUM_LAYERS")) == 0

    async def watch(ctx):
        async for _, _, start, reset_state, soft in ctx.tick().sample(
            dut.start, dut.reset_state, dut.soft_reset
        ):
            if start or reset_state or soft:
                pulses.append((start, reset_state, soft))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_process(watch)
    sim.run()
    assert pulses == [(1, 1, 0), (0, 0, 1)]  # one-cycle pulses


def test_layer_readback_random():
    """The RW layer registers read back exactly what the core sees (the read-back copy in
    a memory): random writes with byte strobes to every layer's registers, SOFT_RESETs
    between them (a stale word reads 0 and its first write zeroes the unwritten bytes)."""
    L = 3
    for sparse in (False, True):
        dut = RegisterBlock(L, config_value=0, sparse=sparse)
        regs = [r for r in regmap.LAYER_REGISTERS if r.access == "RW" and (sparse or not r.sparse)]
        rnd = random.Random(7 + sparse)

        async def bench(ctx, dut=dut, regs=regs, rnd=rnd):
            h = _Host(ctx, dut.bus, rnd)
            model = {(r.name, layer): 0 for r in regs for layer in range(L)}
            for _ in range(120):
                op = rnd.random()
                r, layer = rnd.choice(regs), rnd.randrange(L)
                if op < 0.08:
                    await h.write(regmap.addr_of("CTRL"), regmap.CTRL_SOFT_RESET)
                    model = dict.fromkeys(model, 0)
                elif op < 0.6:
                    value, strb = rnd.getrandbits(32), rnd.randrange(16)
                    await h.write(r.address(layer), value, strb=strb)
                    mask = sum(0xFF << 8 * i for i in range(4) if strb >> i & 1)
                    old = model[r.name, layer]
                    model[r.name, layer] = (old & ~mask) | (value & mask)
                else:
                    want = model[r.name, layer]
                    assert await h.read(r.address(layer)) == want
                    assert ctx.get(getattr(dut, r.name.lower())[layer]) == want

        sim = Simulator(dut)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()


def test_read_right_after_a_layer_register_write():
    """A read issued while a write to the read-back copy is still to land waits for it (two
    cycles) and returns the new value two cycles after its handshake; the write and the read
    overlap on the bus."""
    dut = RegisterBlock(2, config_value=0)
    addr = regmap.addr_of("THETA_H", 1)

    async def bench(ctx):
        bus = dut.bus
        ctx.set(bus.bready, 1)
        ctx.set(bus.rready, 1)
        for value in (0x1234, 0xCAFE_F00D):
            ctx.set(bus.awaddr, addr)
            ctx.set(bus.wdata, value)
            ctx.set(bus.wstrb, 0xF)
            ctx.set(bus.awvalid, 1)
            ctx.set(bus.wvalid, 1)
            ctx.set(bus.araddr, addr)
            assert ctx.get(bus.awready)
            await ctx.tick()  # the write's handshake
            ctx.set(bus.awvalid, 0)
            ctx.set(bus.wvalid, 0)
            ctx.set(bus.arvalid, 1)
            assert not ctx.get(bus.arready)  # the copy's write is in its first register
            await ctx.tick()
            assert not ctx.get(bus.arready)  # in its second: it lands this cycle
            await ctx.tick()
            assert ctx.get(bus.arready)
            await ctx.tick()  # the read's handshake: the copy is read in this cycle
            ctx.set(bus.arvalid, 0)
            assert not ctx.get(bus.rvalid)
            await ctx.tick()  # the read data is selected
            assert ctx.get(bus.rvalid) and ctx.get(bus.rdata) == value
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
