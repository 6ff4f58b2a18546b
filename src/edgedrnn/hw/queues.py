"""Column queues: the passed deltas between the encoder, the weight fetch and the PE array.

The encoder's deltas (Δ, kind, index) go into the delta FIFO; its head goes, in one
handshake, to the weight fetch as a column request (kind, index) and into the command FIFO
as the PE array's command (Δ, kind), so the PE array knows which Δ belongs to the column
whose beats come next (the R channel returns the columns in request order). The delta FIFO
is written while it has room for :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_SLACK` more (the
``room`` flag is a register, so the encoder's ``ready`` starts at a flip-flop). The command
FIFO bounds the columns in flight between request and accumulation.

The delta FIFO's head (the entry offered to the fetch) is a register; the entries behind it
wait in a ``lib.fifo.SyncFIFO``. A delta that finds the FIFO empty, the head register empty
or leaving in that cycle, goes straight into the head register (the bypass), so it is
offered the cycle after it is accepted; otherwise the head register takes the FIFO's head
(its memory read through one multiplexer, whose select is the FIFO's level). The command
FIFO is a ``lib.fifo.SyncFIFOBuffered`` (it is not on the way to the first beat: the beats
come FETCH_LATENCY + the memory latency after the request).

Every entry carries a context bit (``ctx`` when the delta is accepted: the controller flips
it at a change of layer, after the encoder has let the old layer's last delta out), on to the
request and the command, so that the weight fetch and the PE array take each column's layer
constants from the copy of its own context (docs/rtl.md, *Column contexts*).
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .encoder import DELTA_LAYOUT
from .fetch import REQ_LAYOUT
from .pe import CMD_LAYOUT, KIND_HIDDEN, KIND_INPUT
from .pipeline import (
    CMD_FIFO_DEPTH,
    CMD_FIFO_LATENCY,
    DELTA_FIFO_DEPTH,
    DELTA_FIFO_LATENCY,
    DELTA_FIFO_SLACK,
)


class ColumnQueues(wiring.Component):
    """The delta FIFO and the command FIFO (see the module docstring).

    Latency: a delta accepted on ``deltas`` in cycle t is offered on ``req`` and written to
    the command FIFO from cycle t + :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_LATENCY` (when
    the delta FIFO holds nothing else, or the head leaves in cycle t); its command is on
    ``cmd`` :data:`~edgedrnn.hw.pipeline.CMD_FIFO_LATENCY` cycles after that handshake.

    Interface attributes
    --------------------
    deltas : In(stream.Signature(DELTA_LAYOUT))
        Passed deltas from the encoder.
    req : Out(stream.Signature(REQ_LAYOUT))
        Column requests to the weight fetch.
    cmd : Out(stream.Signature(CMD_LAYOUT))
        Column commands to the PE array.
    ctx : In(1)
        The context of the deltas accepted now.
    sent_x, sent_h, sent : Out(1)
        An input / hidden / any delta (the bias too) is accepted (the controller's NZ counts
        and its count of columns in flight).
    idle : Out(1)
        Both FIFOs are empty.
    """

    deltas: In(stream.Signature(DELTA_LAYOUT))
    req: Out(stream.Signature(REQ_LAYOUT))
    cmd: Out(stream.Signature(CMD_LAYOUT))
    ctx: In(1)
    sent_x: Out(1)
    sent_h: Out(1)
    sent: Out(1)
    idle: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        width = DELTA_LAYOUT.size + 1  # the delta and its context bit
        # the delta FIFO: its head in a register (what the fetch and the command FIFO see),
        # the entries behind it in a SyncFIFO; an entry that finds both empty (or the head
        # leaving in that cycle) goes straight into the head register
        m.submodules.delta_fifo = dfifo = fifo.SyncFIFO(width=width, depth=DELTA_FIFO_DEPTH - 1)
        m.submodules.cmd_fifo = cfifo = fifo.SyncFIFOBuffered(
            width=CMD_LAYOUT.size, depth=CMD_FIFO_DEPTH
        )
        assert DELTA_FIFO_LATENCY == 1, "the head register: a write is offered the next cycle"
        assert CMD_FIFO_LATENCY == 2, "lib.fifo.SyncFIFOBuffered: a write is read 2 later"
        head_data = Signal(width)
        head_valid = Signal()
        level = Signal(range(DELTA_FIFO_DEPTH + 1))  # entries: the head and those behind it
        m.d.comb += level.eq(dfifo.level + head_valid)

        # delta FIFO: written while it has room for DELTA_FIFO_SLACK more (a register)
        room = Signal()
        m.d.sync += room.eq(level < DELTA_FIFO_DEPTH - DELTA_FIFO_SLACK)
        sent = Signal()
        kind = self.deltas.payload.kind
        m.d.comb += [
            self.deltas.ready.eq(room),
            sent.eq(self.deltas.valid & room),
            self.sent.eq(sent),
            self.sent_x.eq(sent & (kind == KIND_INPUT)),
            self.sent_h.eq(sent & (kind == KIND_HIDDEN)),
        ]

        # the head leaves in one handshake to the fetch request and the command FIFO; the
        # head register takes the FIFO's head, else (the FIFO empty) the accepted delta;
        # its source is chosen from the FIFO's level (a register)
        pop = Signal()
        free = Signal()  # the head register may load this cycle
        m.d.comb += [
            pop.eq(head_valid & self.req.ready & cfifo.w_rdy),
            free.eq(~head_valid | pop),
            dfifo.w_data.eq(Cat(self.deltas.payload.as_value(), self.ctx)),
            dfifo.w_en.eq(sent & ~(free & ~dfifo.r_rdy)),
        ]
        with m.If(free):
            m.d.sync += head_valid.eq(dfifo.r_rdy | sent)
            with m.If(dfifo.r_rdy):
                m.d.comb += dfifo.r_en.eq(1)
                m.d.sync += head_data.eq(dfifo.r_data)
            with m.Else():
                m.d.sync += head_data.eq(dfifo.w_data)  # the bypass

        head = data.View(DELTA_LAYOUT, head_data[: DELTA_LAYOUT.size])
        head_ctx = head_data[DELTA_LAYOUT.size]
        cmd = Signal(CMD_LAYOUT)
        m.d.comb += [
            self.req.payload.index.eq(head.index),
            self.req.payload.kind.eq(head.kind),
            self.req.payload.ctx.eq(head_ctx),
            self.req.valid.eq(head_valid & cfifo.w_rdy),
            cmd.delta.eq(head.delta),
            cmd.kind.eq(head.kind),
            cmd.ctx.eq(head_ctx),
            cfifo.w_data.eq(cmd.as_value()),
            cfifo.w_en.eq(head_valid & self.req.ready),
            self.cmd.payload.eq(cfifo.r_data),
            self.cmd.valid.eq(cfifo.r_rdy),
            cfifo.r_en.eq(self.cmd.ready),
            self.idle.eq(~head_valid & (dfifo.level == 0) & (cfifo.level == 0)),
        ]
        return m
