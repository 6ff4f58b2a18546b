"""Weight fetch: an AXI4 read master that turns column requests into bursts.

A request is a column kind and index. Its byte address is ``bias_addr`` for the bias column and
``col_addr + index · stride`` otherwise (one 16 × ``stride_bits`` multiplier; the address is
registered when the request is taken); it is ``bias_beats`` or ``col_beats`` bus words long
(layer constants). The column is read with as few INCR bursts as the AXI rules allow: at most
256 beats, never crossing a 4 KiB boundary. AR requests are issued back to back (one burst per
cycle while ``arready``), without waiting for data, so any number of bursts can be outstanding;
the number of columns in flight is bounded by the requester (the top level's command FIFO). The
R channel is not touched here: it goes straight to the PE array, in order. ``error`` pulses on a
non-OKAY ``rresp`` of an accepted beat. ``idle`` is high when no request is being split.

Addresses must be multiples of the bus width in bytes (the Program's layout guarantees it for
the offsets; WEIGHT_BASE must be aligned too, else STATUS.ERROR and nothing runs).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..program import HardwareConfig
from .axi import BURST_INCR, AXI4ReadSignature
from .pe import KIND_BIAS, groups_max

REQ_LAYOUT = data.StructLayout({"index": unsigned(16), "kind": unsigned(2)})


def stride_bits(hw: HardwareConfig) -> int:
    """Bits of COLUMN_STRIDE the multiplier uses (enough for the largest padded column)."""
    return (3 * groups_max(hw) * hw.num_pe + hw.bus_bytes).bit_length()


class WeightFetch(wiring.Component):
    """Column requests in, AXI4 AR bursts out (see module docstring)."""

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        super().__init__(
            {
                "req": In(stream.Signature(REQ_LAYOUT)),
                "col_beats": In(16),
                "bias_beats": In(16),
                "bias_addr": In(32),
                "col_addr": In(32),
                "stride": In(32),
                "ar": Out(AXI4ReadSignature(32, hw.bus_bits)),
                "idle": Out(1),
                "error": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        hw = self.hw
        bb = hw.bus_bytes
        lg = bb.bit_length() - 1
        ar = self.ar

        active = Signal()
        addr = Signal(32)
        rem = Signal(17)
        to_4k = Signal(13)  # beats left before the next 4 KiB boundary (1..4096/bb)
        m.d.comb += to_4k.eq((4096 - addr[:12]) >> lg)
        len0 = Signal(17)
        m.d.comb += len0.eq(Mux(rem < to_4k, rem, to_4k))
        length = Signal(9)
        m.d.comb += length.eq(Mux(len0 > 256, 256, len0))

        m.d.comb += [
            ar.araddr.eq(addr),
            ar.arlen.eq(length - 1),
            ar.arsize.eq(lg),
            ar.arburst.eq(BURST_INCR),
            ar.arvalid.eq(active),
            self.idle.eq(~active),
            self.error.eq(ar.rvalid & ar.rready & (ar.rresp != 0)),
        ]
        done = Signal()
        with m.If(ar.arvalid & ar.arready):
            m.d.sync += [addr.eq(addr + (length << lg)), rem.eq(rem - length)]
            m.d.comb += done.eq(rem == length)
            with m.If(rem == length):
                m.d.sync += active.eq(0)
        m.d.comb += self.req.ready.eq(~active | done)
        with m.If(self.req.valid & self.req.ready):
            m.d.sync += [
                active.eq(1),
                addr.eq(
                    Mux(
                        self.req.payload.kind == KIND_BIAS,
                        self.bias_addr,
                        self.col_addr
                        + self.req.payload.index * self.stride[: stride_bits(self.hw)],
                    )
                ),
                rem.eq(Mux(self.req.payload.kind == KIND_BIAS, self.bias_beats, self.col_beats)),
            ]
        return m
