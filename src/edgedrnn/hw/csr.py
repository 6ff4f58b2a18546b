"""AXI4-Lite register block generated from :mod:`edgedrnn.hw.regmap`.

The block owns the RW registers (exposed as outputs), the sticky STATUS bits and RUNNING; the
core feeds it the read-only values and pulses (``set_overflow``, ``set_error``). CTRL bits come
out as one-cycle pulses. Writes honour ``wstrb``; a write to a read-only or unmapped address is
ignored and a read of a write-only or unmapped address returns 0 (responses are always OKAY).
One write and one read are served at a time (AW and W must both be valid; B and R are held
until accepted). Latency: BVALID the cycle after the write's handshake, RVALID two cycles
after the read's (the read data is selected in its own cycle; see ``elaborate``).

**Read-back of the layer registers.** The core takes the RW layer registers from flip-flops
(all layers at once), but the host reads them back from a copy in a small memory
(:class:`LayerReadback`, distributed RAM on an FPGA, one word per register and layer,
written with the flip-flops): a read then costs one memory read instead of a multiplexer
over every layer register's 32 bits (about 1,400 LUT4 and 700 wide-multiplexer cells of the
8-PE ECP5 build). SOFT_RESET zeroes the flip-flops in one cycle; the copy marks every word
*stale* instead (a word that is stale reads as 0, and the first write to it writes all four
bytes, the unwritten ones 0), so a read returns exactly what the flip-flop holds.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from . import regmap
from .axi import AXI4LiteSignature


def layer_registers(access: str, sparse: bool = False) -> list[regmap.Register]:
    """The layer registers of ``access`` ("RW": the host writes them, all 32 bits kept; "RO")
    that a build has: the sparse-only ones (``Register.sparse``) on a sparse build only."""
    return [r for r in regmap.LAYER_REGISTERS if r.access == access and (sparse or not r.sparse)]


#: Layer registers that the host writes (all 32 bits kept; the core uses what it needs) and
#: the read-only ones, of a dense build.
LAYER_RW = layer_registers("RW")
LAYER_RO = layer_registers("RO")


def core_signature(max_layers: int, sparse: bool = False) -> wiring.Signature:
    """The register block's core side, as the block sees it (``Out``: to the core).

    ``num_layers``, ``weight_base`` and the per-layer RW registers (arrays of ``max_layers``
    words, named after the layer registers in lower case; ``slots`` on a sparse build only)
    out; CTRL pulses ``start``, ``reset_state``, ``soft_reset`` and the status bits
    ``running``, ``overflow``, ``error`` out; ``busy``, the pulses ``set_overflow``,
    ``set_error``, the counters ``step_cycles``, ``step_count``, ``latency`` and the
    per-layer RO registers (``nz_x[l]``, ``nz_h[l]``) in.
    """
    arr = data.ArrayLayout(unsigned(32), max_layers)
    members = {
        "num_layers": Out(32),
        "weight_base": Out(32),
        "start": Out(1),
        "reset_state": Out(1),
        "soft_reset": Out(1),
        "running": Out(1),
        "overflow": Out(1),
        "error": Out(1),
        "busy": In(1),
        "set_overflow": In(1),
        "set_error": In(1),
        "step_cycles": In(32),
        "step_count": In(32),
        "latency": In(32),
    }
    for r in layer_registers("RW", sparse) + layer_registers("RO", sparse):
        members[r.name.lower()] = (Out if r.access == "RW" else In)(arr)
    return wiring.Signature(members)


def connect_core(m: Module, block: RegisterBlock, core) -> None:
    """Connect ``block``'s core side to ``core``, an ``In(core_signature(L))`` member."""
    for name, member in core_signature(block.max_layers, block.sparse).members.items():
        ours, theirs = getattr(block, name), getattr(core, name)
        if member.flow == Out:
            m.d.comb += theirs.eq(ours)
        else:
            m.d.comb += ours.eq(theirs)


def byte_mask(strb: Value) -> Value:
    """The 32-bit mask of an AXI4-Lite write's four byte strobes."""
    return Cat(*[strb[i].replicate(8) for i in range(4)])


class LayerReadback(wiring.Component):
    """The read-back copy of the RW layer registers (see the module docstring).

    Word ``(layer << word_bits) | offset // 4`` holds layer ``layer``'s register at
    ``offset``. Latency: a read is combinational (the memory's read port is asynchronous,
    distributed RAM on an FPGA); a write goes through two registers and lands at the end
    of the cycle after next (``pending`` meanwhile: the register block takes no read then),
    so the memory's write port is driven from flip-flops only and the stale flags' select
    has a cycle of its own.

    Parameters
    ----------
    max_layers : int
        Layers.
    word_bits : int
        Address bits of a register within a layer (its offset's word index).

    Interface attributes
    --------------------
    w_en : In(1)
        Write ``w_data`` with byte strobes ``w_strb`` to word ``w_addr``.
    w_addr, w_data, w_strb : In
        The write.
    stale_all : In(1)
        SOFT_RESET: every word reads 0 from the next cycle on, until written (it wins over a
        write in the same cycle, as the flip-flops' zeroing does).
    r_addr : In
        The word read.
    r_data : Out(32)
        Its memory word.
    r_stale : Out(1)
        It is stale: it reads as 0 (the register block applies this, a cycle later).
    pending : Out(1)
        A write is in one of the two registers, still to land (from registers).
    """

    def __init__(self, max_layers: int, word_bits: int) -> None:
        self.depth = max_layers << word_bits
        abits = max(1, (self.depth - 1).bit_length())
        super().__init__(
            {
                "w_en": In(1),
                "w_addr": In(abits),
                "w_data": In(32),
                "w_strb": In(4),
                "stale_all": In(1),
                "r_addr": In(abits),
                "r_data": Out(32),
                "r_stale": Out(1),
                "pending": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=unsigned(32), depth=self.depth, init=[])
        wp = mem.write_port(granularity=8)
        rp = mem.read_port(domain="comb")
        stale = Signal(self.depth)
        # the write in two stages: the write registered (w1), then a stale word's whole write
        # (its unstrobed bytes 0) registered from its stale flag, which the second stage
        # clears, so the 64 flags' select has a cycle of its own
        w1_en, w1_addr = Signal(), Signal.like(self.w_addr)
        w1_data, w1_strb = Signal(32), Signal(4)
        m.d.sync += [
            w1_en.eq(self.w_en),
            w1_addr.eq(self.w_addr),
            w1_data.eq(self.w_data),
            w1_strb.eq(self.w_strb),
        ]
        fresh = Signal()
        mask = byte_mask(w1_strb)
        m.d.comb += [
            fresh.eq(~stale.bit_select(w1_addr, 1)),
            self.pending.eq(w1_en | wp.en.any()),
        ]
        m.d.sync += [
            wp.addr.eq(w1_addr),
            wp.data.eq(Mux(fresh, w1_data, w1_data & mask)),
            wp.en.eq(Mux(w1_en, Mux(fresh, w1_strb, 0b1111), 0)),
        ]
        m.d.comb += [
            rp.addr.eq(self.r_addr),
            self.r_data.eq(rp.data),
            self.r_stale.eq(stale.bit_select(self.r_addr, 1)),
        ]
        with m.If(w1_en):
            m.d.sync += stale.bit_select(w1_addr, 1).eq(0)
        with m.If(self.stale_all):
            m.d.sync += stale.eq(-1)
        return m


class RegisterBlock(wiring.Component):
    """The AXI4-Lite slave and register file.

    Parameters
    ----------
    max_layers : int
        Layers the per-layer register arrays hold.
    config_value : int
        The read-only CONFIG register.
    sparse : bool
        A sparse-decoding build: the layer registers include SLOTS.

    Interface attributes
    --------------------
    bus : In(AXI4LiteSignature(12, 32))
        The host's register bus.
    num_layers, weight_base, input_size[l], ... : Out
        The members of :func:`core_signature`: the RW registers, CTRL pulses and status bits
        out; ``busy``, ``set_overflow``, ``set_error``, the counters and ``nz_x[l]``,
        ``nz_h[l]`` in. A CTRL pulse is high the cycle after the write's handshake.
    """

    def __init__(self, max_layers: int, config_value: int, sparse: bool = False) -> None:
        self.max_layers = max_layers
        self.config_value = config_value
        self.sparse = sparse
        members = {"bus": In(AXI4LiteSignature(regmap.ADDR_BITS, 32))}
        members.update(core_signature(max_layers, sparse).members)
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        bus = self.bus
        L = self.max_layers
        ga = regmap.addr_of
        layer_rw = layer_registers("RW", self.sparse)
        layer_ro = layer_registers("RO", self.sparse)

        # ------------------------------------------------------------------ write
        do_write = Signal()
        m.d.comb += do_write.eq(bus.awvalid & bus.wvalid & ~bus.bvalid)
        m.d.comb += [bus.awready.eq(do_write), bus.wready.eq(do_write), bus.bresp.eq(0)]
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)
        with m.If(do_write):
            m.d.sync += bus.bvalid.eq(1)

        mask = Signal(32)
        m.d.comb += mask.eq(byte_mask(bus.wstrb))

        def rw(reg: Signal):
            m.d.sync += reg.eq((reg & ~mask) | (bus.wdata & mask))

        waddr = bus.awaddr & ~3

        # the layer registers' read-back copy: word (layer << word_bits) | offset // 4
        word_bits = max((r.addr >> 2) for r in layer_rw).bit_length()
        stride_bits = regmap.LAYER_STRIDE.bit_length() - 1
        assert (
            1 << stride_bits == regmap.LAYER_STRIDE and regmap.LAYER_BASE % regmap.LAYER_STRIDE == 0
        )
        assert 1 << word_bits <= (regmap.LAYER_STRIDE >> 2)

        def readback_index(addr) -> Value:
            layer = addr[stride_bits:] - regmap.LAYER_BASE // regmap.LAYER_STRIDE
            return Cat(addr[2 : 2 + word_bits], layer)

        m.submodules.readback = readback = LayerReadback(L, word_bits)
        m.d.comb += [
            readback.w_addr.eq(readback_index(bus.awaddr)),
            readback.w_data.eq(bus.wdata),
            readback.w_strb.eq(bus.wstrb),
            readback.stale_all.eq(self.soft_reset),
            readback.r_addr.eq(readback_index(bus.araddr)),
        ]
        m.d.sync += [self.start.eq(0), self.reset_state.eq(0), self.soft_reset.eq(0)]
        clear = Signal(32)
        with m.If(do_write), m.Switch(waddr):
            with m.Case(ga("CTRL")):
                m.d.sync += [
                    self.start.eq(bus.wdata[0] & bus.wstrb[0]),
                    self.reset_state.eq(bus.wdata[1] & bus.wstrb[0]),
                    self.soft_reset.eq(bus.wdata[2] & bus.wstrb[0]),
                ]
            with m.Case(ga("STATUS_CLEAR")):
                m.d.comb += clear.eq(bus.wdata & mask)
            with m.Case(ga("NUM_LAYERS")):
                rw(self.num_layers)
            with m.Case(ga("WEIGHT_BASE")):
                rw(self.weight_base)
            for layer in range(L):
                for r in layer_rw:
                    with m.Case(r.address(layer)):
                        rw(getattr(self, r.name.lower())[layer])
                        m.d.comb += readback.w_en.eq(1)

        # ------------------------------------------------------------- status bits
        with m.If(self.start):
            m.d.sync += self.running.eq(1)
        with m.If(self.set_overflow):
            m.d.sync += self.overflow.eq(1)
        with m.Elif(clear[1]):
            m.d.sync += self.overflow.eq(0)
        with m.If(self.set_error):
            m.d.sync += self.error.eq(1)
        with m.Elif(clear[2]):
            m.d.sync += self.error.eq(0)
        with m.If(self.soft_reset):
            m.d.sync += [self.running.eq(0), self.overflow.eq(0), self.error.eq(0)]
            m.d.sync += [self.num_layers.eq(0), self.weight_base.eq(0)]
            for r in layer_rw:
                m.d.sync += getattr(self, r.name.lower()).eq(0)

        # ------------------------------------------------------------------- read
        # Two stages. The handshake's cycle reads the three sources by the read address into
        # registers: the read-back copy's word and stale flag (``rd_word``, ``rd_stale``), the
        # RO layer registers' (``rd_ro``) and the other registers' (``rd_misc``), and which of
        # them the address names (``rd_sel``, none: unmapped or write-only, read 0). The next
        # cycle ORs the named one into the read data and raises RVALID, a few LUTs from
        # flip-flops. No read while a write to the copy is still to land.
        rd_busy = Signal()
        rd_word, rd_ro, rd_misc = Signal(32), Signal(32), Signal(32)
        rd_stale = Signal()
        rd_sel = Signal(3)  # rd_word, rd_ro, rd_misc
        m.d.comb += [
            bus.arready.eq(~bus.rvalid & ~rd_busy & ~readback.pending),
            bus.rresp.eq(0),
        ]
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [
                rd_busy.eq(1),
                rd_sel.eq(0),
                rd_word.eq(readback.r_data),
                rd_stale.eq(readback.r_stale),
                rd_ro.eq(0),
                rd_misc.eq(0),
            ]
            misc = {
                "ID": regmap.ID_VALUE,
                "VERSION": regmap.VERSION_VALUE,
                "CONFIG": self.config_value,
                "STATUS": Cat(self.busy, self.overflow, self.error, self.running),
                "NUM_LAYERS": self.num_layers,
                "WEIGHT_BASE": self.weight_base,
                "STEP_CYCLES": self.step_cycles,
                "STEP_COUNT": self.step_count,
                "LATENCY": self.latency,
            }
            with m.Switch(bus.araddr & ~3):
                for name, value in misc.items():
                    with m.Case(ga(name)):
                        m.d.sync += [rd_misc.eq(value), rd_sel.eq(0b100)]
                for layer in range(L):
                    for r in layer_rw:
                        with m.Case(r.address(layer)):
                            m.d.sync += rd_sel.eq(0b001)
                    for r in layer_ro:
                        with m.Case(r.address(layer)):
                            m.d.sync += [
                                rd_ro.eq(getattr(self, r.name.lower())[layer]),
                                rd_sel.eq(0b010),
                            ]
        with m.If(rd_busy):
            m.d.sync += [
                rd_busy.eq(0),
                bus.rvalid.eq(1),
                bus.rdata.eq(
                    (rd_word & (rd_sel[0] & ~rd_stale).replicate(32))
                    | (rd_ro & rd_sel[1].replicate(32))
                    | (rd_misc & rd_sel[2].replicate(32))
                ),
            ]
        return m
