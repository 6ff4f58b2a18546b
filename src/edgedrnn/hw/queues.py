"""Column queues: the passed deltas between the encoder, the weight fetch and the PE array.

The encoder's deltas (Δ, kind, index) go into the delta FIFO; its head goes, in one
handshake, to the weight fetch as a column request (kind, index) and into the command FIFO
as the PE array's command (Δ, kind), so the PE array knows which Δ belongs to the column
whose beats come next (the R channel returns the columns in request order). The delta FIFO
is written while it has room for :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_SLACK` more (the
``room`` flag is a register, so the encoder's ``ready`` starts at a flip-flop). The command
FIFO bounds the columns in flight between request and accumulation.
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .encoder import DELTA_LAYOUT
from .fetch import REQ_LAYOUT
from .pe import CMD_LAYOUT, KIND_HIDDEN, KIND_INPUT
from .pipeline import CMD_FIFO_DEPTH, DELTA_FIFO_DEPTH, DELTA_FIFO_LATENCY, DELTA_FIFO_SLACK


class ColumnQueues(wiring.Component):
    """The delta FIFO and the command FIFO (see the module docstring).

    Latency: a delta accepted on ``deltas`` in cycle t is offered on ``req`` and written to
    the command FIFO from cycle t + :data:`~edgedrnn.hw.pipeline.DELTA_FIFO_LATENCY` (both
    FIFOs are ``lib.fifo.SyncFIFOBuffered``); its command is on ``cmd`` as many cycles after
    that handshake.

    Interface attributes
    --------------------
    deltas : In(stream.Signature(DELTA_LAYOUT))
        Passed deltas from the encoder.
    req : Out(stream.Signature(REQ_LAYOUT))
        Column requests to the weight fetch.
    cmd : Out(stream.Signature(CMD_LAYOUT))
        Column commands to the PE array.
    sent_x, sent_h : Out(1)
        An input / hidden delta is accepted (the controller's NZ counts).
    idle : Out(1)
        Both FIFOs are empty.
    """

    deltas: In(stream.Signature(DELTA_LAYOUT))
    req: Out(stream.Signature(REQ_LAYOUT))
    cmd: Out(stream.Signature(CMD_LAYOUT))
    sent_x: Out(1)
    sent_h: Out(1)
    idle: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.delta_fifo = dfifo = fifo.SyncFIFOBuffered(
            width=DELTA_LAYOUT.size, depth=DELTA_FIFO_DEPTH
        )
        m.submodules.cmd_fifo = cfifo = fifo.SyncFIFOBuffered(
            width=CMD_LAYOUT.size, depth=CMD_FIFO_DEPTH
        )
        assert DELTA_FIFO_LATENCY == 2, "lib.fifo.SyncFIFOBuffered: a write is read 2 later"

        # delta FIFO: written while it has room for DELTA_FIFO_SLACK more (a register)
        room = Signal()
        m.d.sync += room.eq(dfifo.level < DELTA_FIFO_DEPTH - DELTA_FIFO_SLACK)
        sent = Signal()
        kind = self.deltas.payload.kind
        m.d.comb += [
            dfifo.w_data.eq(self.deltas.payload.as_value()),
            dfifo.w_en.eq(self.deltas.valid & room),
            self.deltas.ready.eq(room),
            sent.eq(self.deltas.valid & room),
            self.sent_x.eq(sent & (kind == KIND_INPUT)),
            self.sent_h.eq(sent & (kind == KIND_HIDDEN)),
        ]

        # delta FIFO -> fetch request + command FIFO (one handshake for both)
        head = data.View(DELTA_LAYOUT, dfifo.r_data)
        m.d.comb += [
            self.req.payload.index.eq(head.index),
            self.req.payload.kind.eq(head.kind),
            self.req.valid.eq(dfifo.r_rdy & cfifo.w_rdy),
            cfifo.w_data.eq(Cat(head.delta, head.kind)),
            cfifo.w_en.eq(dfifo.r_rdy & self.req.ready),
            dfifo.r_en.eq(self.req.ready & cfifo.w_rdy),
            self.cmd.payload.eq(cfifo.r_data),
            self.cmd.valid.eq(cfifo.r_rdy),
            cfifo.r_en.eq(self.cmd.ready),
            self.idle.eq((dfifo.level == 0) & (cfifo.level == 0)),
        ]
        return m
