"""Output side: the last layer's new h, a row group (NUM_PE elements) per ``h_out`` beat.

New h of the last layer comes in a row group per entry (``h[P]``, the mask of its lanes
that exist, whether it ends the vector); the output register (``ob``) sends an entry on
``h_out`` as one beat, its lanes past the vector's end zero and ``last`` on the vector's
final beat; a second register (``ob2``) holds the entry behind it while ``h_out`` is not
ready. An entry that arrives while the output FIFO is empty and ``ob2`` is free goes past
the FIFO, into ``ob`` when it is free or sends its beat this cycle (the bypass: on ``h_out``
the next cycle), else into ``ob2``; otherwise it waits in the FIFO, whose head is taken
while ``ob2`` is free, so entries leave in the order they came. Whether the FIFO is read or
written depends on registers only (``ob2`` free, the FIFO's flags), not on the
``h_out.ready`` port, which only decides whether ``ob`` takes ``ob2``'s or the new entry.

The entry stream has no back-pressure: the activation issue reserves an entry per row group
it issues (``reserve``) and issues only while ``room`` (a register: fewer than
OUT_FIFO_DEPTH - OUT_FIFO_SLACK entries reserved and not yet in ``ob`` or ``ob2``, from the
FIFO or the bypass; a pop is counted a cycle late, OUT_POP_COUNT_DELAY). ``flush`` (FLUSH,
CLEAR) acts FLUSH_DELAY cycle later, from a register rather than the controller's decode:
``h_out`` invalid, no new entries, the FIFO drained. ``clear`` (the end of CLEAR) drops the
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
    sending (the bypass); one entry per cycle while ``h_out`` is ready. Under back-pressure
    the entry behind ``ob`` waits in ``ob2`` (on ``h_out`` the cycle after ``ob``'s beat is
    sent) and the ones behind it in the FIFO, each taken into ``ob`` or ``ob2`` the cycle
    after the one before it: the beats leave exactly as from ``ob`` and the FIFO alone.

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
    room2 : Out(1)
        Two more entries may be reserved (a register): ``room`` is high next cycle whatever
        is reserved in this one.
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
                "room2": Out(1),
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

        # Output registers: ob (h_out's beat) and ob2 behind it. An entry is taken into them
        # (from the FIFO's head or, the FIFO empty, straight from the input: OUT_POP_DELAY =
        # 0) while ob2 is free, a register: so whether the FIFO is read or written does not
        # depend on h_out.ready, which only moves ob2 into ob (or a taken entry into ob) when
        # ob's beat is sent. An entry taken while ob is free or sending goes into ob (on
        # h_out the next cycle), else into ob2; entries leave in the order they came.
        assert OUT_SERIALIZER_STAGES == 1, "ob, with ob2 behind it for the back-pressure"
        assert OUT_POP_DELAY == 0, "the entry bypasses the FIFO"
        ob = Signal(layout, reset_less=True)
        ob2 = Signal(layout, reset_less=True)
        v1, v2 = Signal(), Signal()  # ob, ob2 hold an entry
        # h_out.valid = v1 & ~flush_r, kept in a register of its own: the step's end
        # (``last``) is one gate from registers and ``h_out.ready``
        out_valid = Signal()
        for k in range(P):
            m.d.comb += h_out.payload.data[k].eq(Mux(ob.mask[k], ob.h[k], 0))
        m.d.comb += [
            h_out.payload.last.eq(ob.last),
            h_out.valid.eq(out_valid),
        ]
        out_pop = Signal()  # an entry leaves for ob/ob2 (from the FIFO or the bypass) or is dropped
        send = Signal()
        m.d.comb += [send.eq(h_out.valid & h_out.ready), self.last.eq(send & h_out.payload.last)]
        take = Signal()  # an entry goes into ob or ob2 this cycle
        src = Signal(layout)  # the FIFO's head, or the input while the FIFO is empty
        v1_next = Signal()
        m.d.comb += [
            src.eq(Mux(ofifo.r_rdy, ofifo.r_data, self.entry.payload)),
            take.eq(~v2 & (ofifo.r_rdy | self.entry.valid) & ~flush_r),
            ofifo.w_en.eq(self.entry.valid & ~flush_r & (v2 | ofifo.r_rdy)),
            v1_next.eq(v1),
        ]
        with m.If(flush_r):
            m.d.comb += [ofifo.r_en.eq(1), out_pop.eq(ofifo.r_rdy), v1_next.eq(0)]
            m.d.sync += v2.eq(0)
        with m.Else():
            m.d.comb += [ofifo.r_en.eq(~v2), out_pop.eq(take)]
            with m.If(~v1 | send):
                # ob is free or sends: it takes ob2's entry, else the one taken now
                with m.If(v2):
                    m.d.sync += [ob.eq(ob2), v2.eq(0)]
                with m.Elif(take):
                    m.d.sync += ob.eq(src)
                with m.Else():
                    m.d.comb += v1_next.eq(0)
                with m.If(v2 | take):
                    m.d.comb += v1_next.eq(1)
            with m.Elif(take):
                m.d.sync += [ob2.eq(src), v2.eq(1)]
        m.d.sync += [v1.eq(v1_next), out_valid.eq(v1_next & ~flush_r_next)]

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
        limit = OUT_FIFO_DEPTH - OUT_FIFO_SLACK
        m.d.sync += [
            resv.eq(resv_next),
            self.room.eq(resv_next < limit),
            self.room2.eq(resv_next < limit - 1),
        ]
        with m.If(self.clear):
            m.d.sync += [resv.eq(0), self.room.eq(1), self.room2.eq(1)]
        return m
