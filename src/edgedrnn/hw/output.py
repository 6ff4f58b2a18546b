"""Output side: the last layer's new h, a row group (NUM_PE elements) per ``h_out`` beat.

New h of the last layer comes in a row group per entry (``h[P]``, the mask of its lanes
that exist, whether it ends the vector); the output register (``ob``) sends an entry on
``h_out`` as one beat, its lanes past the vector's end zero and ``last`` on the vector's
final beat. An entry that arrives while the output FIFO is empty and ``ob`` is free (or sends
its beat this cycle) goes straight into ``ob`` (the bypass: on ``h_out`` the next cycle);
otherwise it waits in the FIFO, whose head ``ob`` takes when free, so entries leave in the
order they came. The FIFO's read enable is one gate from registers and the ``h_out.ready``
port.

The entry stream has no back-pressure: the activation issue reserves an entry per row group
it issues (``reserve``) and issues only while ``room`` (a register: fewer than
OUT_FIFO_DEPTH - OUT_FIFO_SLACK entries reserved and not yet in ``ob``, from the FIFO or the
bypass; a pop is counted a cycle late, OUT_POP_COUNT_DELAY). ``flush`` (FLUSH, CLEAR) acts
FLUSH_DELAY cycle later, from a register rather than the controller's decode: ``h_out``
invalid, no new entries, the FIFO drained. ``clear`` (the end of CLEAR) drops the
reservations.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .common import delay
from .fifo import FlagFIFO
from .pipeline import (
    FLUSH_DELAY,
    OUT_FIFO_DEPTH,
    OUT_FIFO_LATENCY,
    OUT_FIFO_SLACK,
    OUT_POP_COUNT_DELAY,
    OUT_POP_DELAY,
    OUT_SERIALIZER_STAGES,
)


def h_out_layout(lanes: int) -> data.StructLayout:
    """Payload of the top level's ``h_out`` stream: ``data[lanes]`` (a row group of the last
    layer's new h, lanes past the vector's end zero) and ``last`` (the vector's final beat)."""
    return data.StructLayout({"data": data.ArrayLayout(signed(16), lanes), "last": unsigned(1)})


def entry_layout(lanes: int) -> data.StructLayout:
    """A row group of new h: ``h[lanes]``, the lanes that exist, whether the vector ends."""
    return data.StructLayout(
        {
            "h": data.ArrayLayout(signed(16), lanes),
            "mask": unsigned(lanes),
            "last": unsigned(1),
        }
    )


class Output(wiring.Component):
    """The output FIFO, its reservations and the serializer (see the module docstring).

    Latency: an entry that arrives in cycle t is on ``h_out`` (valid) in cycle t +
    :data:`~edgedrnn.hw.pipeline.OUTPUT_LATENCY` when the FIFO is empty and ``ob`` free or
    sending (the bypass); one entry per cycle while ``h_out`` is ready. An entry that waits
    in the FIFO (``h_out`` not ready) is on ``h_out`` OUT_FIFO_LATENCY + OUT_SERIALIZER_STAGES
    cycles after ``ob`` frees at the earliest.

    Parameters
    ----------
    lanes : int
        NUM_PE: elements per entry.

    Interface attributes
    --------------------
    entry : In(stream.Signature(entry_layout(lanes), always_ready=True))
        New h of the last layer, a row group per entry (reserved beforehand).
    reserve : In(1)
        A row group of the last layer is issued to the activation units: one entry reserved.
    room : Out(1)
        Another entry may be reserved (a register).
    flush : In(1)
        Discard: from FLUSH_DELAY cycles later ``h_out`` is invalid, entries are dropped and
        the FIFO is drained.
    clear : In(1)
        Drop all reservations (the FIFO is empty).
    empty : Out(1)
        The FIFO is empty.
    h_out : Out(stream.Signature(h_out_layout(lanes)))
        A row group per beat, ``last`` on the vector's final one.
    last : Out(1)
        The vector's final beat is accepted.
    """

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        super().__init__(
            {
                "entry": In(stream.Signature(entry_layout(lanes), always_ready=True)),
                "reserve": In(1),
                "room": Out(1),
                "flush": In(1),
                "clear": In(1),
                "empty": Out(1),
                "h_out": Out(stream.Signature(h_out_layout(lanes))),
                "last": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        P = self.lanes
        layout = entry_layout(P)
        h_out = self.h_out
        # the FIFO's flags are flip-flops (FlagFIFO): ob's load is a few gates from registers
        m.submodules.out_fifo = ofifo = FlagFIFO(width=layout.size, depth=OUT_FIFO_DEPTH)
        assert OUT_FIFO_LATENCY == 1, "FlagFIFO: a write is readable the next cycle"
        flush_line = delay(m, self.flush, FLUSH_DELAY, "flush_r")
        flush_r = flush_line[-1]
        flush_r_next = [self.flush, *flush_line][-2]  # what flush_r holds next cycle
        m.d.comb += [
            ofifo.w_data.eq(self.entry.payload.as_value()),
            self.empty.eq(~ofifo.r_rdy),
        ]

        # output register: OUT_SERIALIZER_STAGES = 1 register (ob) behind the FIFO; an entry
        # that finds the FIFO empty and ob free (or sent this cycle) goes straight into ob
        # (OUT_POP_DELAY = 0: popped in the cycle it arrives)
        assert OUT_SERIALIZER_STAGES == 1, "the head entry is held in one register"
        assert OUT_POP_DELAY == 0, "the entry bypasses the FIFO"
        ob = Signal(layout, reset_less=True)
        ob_valid, ob_valid_next = Signal(), Signal()
        # h_out.valid = ob_valid & ~flush_r, kept in a register of its own: the step's end
        # (``last``) is one gate from registers and ``h_out.ready``
        out_valid = Signal()
        for k in range(P):
            m.d.comb += h_out.payload.data[k].eq(Mux(ob.mask[k], ob.h[k], 0))
        m.d.comb += [
            h_out.payload.last.eq(ob.last),
            h_out.valid.eq(out_valid),
        ]
        out_pop = Signal()  # an entry leaves for ob (from the FIFO or the bypass) or is dropped
        send = Signal()
        m.d.comb += [send.eq(h_out.valid & h_out.ready), self.last.eq(send & h_out.payload.last)]
        m.d.comb += ob_valid_next.eq(ob_valid)
        # the FIFO is empty (nothing older waits): a new entry goes to ob, not the FIFO
        bypass = Signal()
        m.d.comb += [
            bypass.eq(self.entry.valid & ~ofifo.r_rdy & (~ob_valid | send) & ~flush_r),
            ofifo.w_en.eq(self.entry.valid & ~flush_r & ~bypass),
        ]
        with m.If(flush_r):
            m.d.comb += [ofifo.r_en.eq(1), out_pop.eq(ofifo.r_rdy), ob_valid_next.eq(0)]
        with m.Else():
            with m.If(send):
                m.d.comb += ob_valid_next.eq(0)
            with m.If(ofifo.r_rdy & (~ob_valid | send)):
                m.d.comb += [ofifo.r_en.eq(1), out_pop.eq(1), ob_valid_next.eq(1)]
                m.d.sync += ob.eq(ofifo.r_data)
            with m.Elif(bypass):
                m.d.comb += [out_pop.eq(1), ob_valid_next.eq(1)]
                m.d.sync += ob.eq(self.entry.payload)
        m.d.sync += [ob_valid.eq(ob_valid_next), out_valid.eq(ob_valid_next & ~flush_r_next)]

        # entries reserved by issued row groups and not yet popped (into ob, or dropped); a pop
        # is counted OUT_POP_COUNT_DELAY cycles late, from a register (``popped``), so the
        # count's adder and ``room`` are off the path from ``h_out.ready`` (the count only
        # runs ahead of the entries really held: the FIFO never overflows)
        assert OUT_POP_COUNT_DELAY == 1, "one register on the pop"
        popped = Signal()
        m.d.sync += popped.eq(out_pop & ~self.clear)
        resv = Signal(range(OUT_FIFO_DEPTH + 1))
        resv_next = Signal.like(resv)
        m.d.comb += resv_next.eq(resv + self.reserve - popped)
        m.d.sync += [resv.eq(resv_next), self.room.eq(resv_next < OUT_FIFO_DEPTH - OUT_FIFO_SLACK)]
        with m.If(self.clear):
            m.d.sync += [resv.eq(0), self.room.eq(1)]
        return m
