"""Column queues: the passed deltas between the encoder, the weight fetch and the PE array.

The encoder's deltas (Δ, kind, index) go into the delta FIFO; its head goes, in one
handshake, to the weight fetch as a column request (kind, index) and into the command FIFO
as the PE array's command (Δ, kind), so the PE array knows which Δ belongs to the column
whose beats come next (the R channel returns the columns in request order). The delta FIFO
is written while it has room for :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_SLACK` more (the
``room`` flag is a register, so the encoder's ``ready`` starts at a flip-flop). The command
FIFO bounds the columns in flight between request and accumulation.

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
from .fifo import BypassFIFO
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
    the command FIFO from cycle t + :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_LATENCY` when
    the delta FIFO is empty (a :class:`BypassFIFO`); its command is on ``cmd``
    :data:`~edgedrnn.hw.pipeline.CMD_FIFO_LATENCY` cycles after that handshake (the command
    FIFO is a ``lib.fifo.SyncFIFOBuffered``).

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
        m.submodules.delta_fifo = dfifo = BypassFIFO(
            width=DELTA_LAYOUT.size + 1, depth=DELTA_FIFO_DEPTH
        )
        m.submodules.cmd_fifo = cfifo = fifo.SyncFIFOBuffered(
            width=CMD_LAYOUT.size, depth=CMD_FIFO_DEPTH
        )
        assert DELTA_FIFO_LATENCY == 1, "BypassFIFO: a write to an empty FIFO is read 1 later"
        assert CMD_FIFO_LATENCY == 2, "lib.fifo.SyncFIFOBuffered: a write is read 2 later"

        # delta FIFO: written while it has room for DELTA_FIFO_SLACK more (a register)
        room = Signal()
        m.d.sync += room.eq(dfifo.level < DELTA_FIFO_DEPTH - DELTA_FIFO_SLACK)
        sent = Signal()
        kind = self.deltas.payload.kind
        m.d.comb += [
            dfifo.w_data.eq(Cat(self.deltas.payload.as_value(), self.ctx)),
            dfifo.w_en.eq(self.deltas.valid & room),
            self.deltas.ready.eq(room),
            sent.eq(self.deltas.valid & room),
            self.sent.eq(sent),
            self.sent_x.eq(sent & (kind == KIND_INPUT)),
            self.sent_h.eq(sent & (kind == KIND_HIDDEN)),
        ]

        # delta FIFO -> fetch request + command FIFO (one handshake for both)
        head = data.View(DELTA_LAYOUT, dfifo.r_data[: DELTA_LAYOUT.size])
        head_ctx = dfifo.r_data[DELTA_LAYOUT.size]
        cmd = Signal(CMD_LAYOUT)
        m.d.comb += [
            self.req.payload.index.eq(head.index),
            self.req.payload.kind.eq(head.kind),
            self.req.payload.ctx.eq(head_ctx),
            self.req.valid.eq(dfifo.r_rdy & cfifo.w_rdy),
            cmd.delta.eq(head.delta),
            cmd.kind.eq(head.kind),
            cmd.ctx.eq(head_ctx),
            cfifo.w_data.eq(cmd.as_value()),
            cfifo.w_en.eq(dfifo.r_rdy & self.req.ready),
            dfifo.r_en.eq(self.req.ready & cfifo.w_rdy),
            self.cmd.payload.eq(cfifo.r_data),
            self.cmd.valid.eq(cfifo.r_rdy),
            cfifo.r_en.eq(self.cmd.ready),
            self.idle.eq((dfifo.level == 0) & (cfifo.level == 0)),
        ]
        return m
