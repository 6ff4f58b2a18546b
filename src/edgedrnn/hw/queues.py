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

from amaranth import Cat, Elaboratable, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
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


class BypassFIFO(Elaboratable):
    """A synchronous FIFO with an output register that an empty FIFO's input goes straight to.

    The interface of ``lib.fifo.SyncFIFOBuffered`` (``w_data``, ``w_en``, ``w_rdy``,
    ``r_data``, ``r_rdy``, ``r_en``, ``level``; ``depth`` entries, the output register one of
    them), with its latency 1 instead of 2 when the FIFO is empty: an entry written in cycle t
    is on ``r_data`` in cycle t + 1 (:data:`~edgedrnn.hw.pipeline.DELTA_FIFO_LATENCY`). The
    output register is loaded, when it is empty or read, from the storage's head (a memory
    with an asynchronous read port, as distributed RAM) or, when the storage is empty, from
    the input; the source is a 2:1 multiplexer selected by the register ``s_empty`` ("the
    storage holds nothing"), so the order is the order of the writes. ``r_data`` and
    ``r_rdy`` are registers.
    """

    def __init__(self, *, width: int, depth: int) -> None:
        assert depth >= 2, "the output register and at least one storage entry"
        self.width, self.depth = width, depth
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()
        self.level = Signal(range(depth + 1))

    def elaborate(self, platform) -> Module:
        m = Module()
        inner = self.depth - 1
        m.submodules.storage = storage = Memory(shape=self.width, depth=inner, init=[])
        w_port = storage.write_port()
        r_port = storage.read_port(domain="comb")
        produce = Signal(range(inner))
        consume = Signal(range(inner))
        s_level = Signal(range(inner + 1))
        s_empty = Signal(init=1)  # s_level == 0, a register

        do_write = Signal()
        free = Signal()  # the output register takes an entry this cycle if one is there
        s_write, s_read = Signal(), Signal()
        m.d.comb += [
            self.w_rdy.eq(s_level != inner),
            do_write.eq(self.w_en & self.w_rdy),
            free.eq(~self.r_rdy | self.r_en),
            s_read.eq(free & ~s_empty),
            s_write.eq(do_write & ~(free & s_empty)),  # else it goes past the storage
            w_port.addr.eq(produce),
            w_port.data.eq(self.w_data),
            w_port.en.eq(s_write),
            r_port.addr.eq(consume),
            self.level.eq(s_level + self.r_rdy),
        ]
        with m.If(s_write):
            m.d.sync += produce.eq(Mux(produce == inner - 1, 0, produce + 1))
        with m.If(s_read):
            m.d.sync += consume.eq(Mux(consume == inner - 1, 0, consume + 1))
        with m.If(s_write & ~s_read):
            m.d.sync += [s_level.eq(s_level + 1), s_empty.eq(0)]
        with m.If(s_read & ~s_write):
            m.d.sync += [s_level.eq(s_level - 1), s_empty.eq(s_level == 1)]

        with m.If(free & (~s_empty | do_write)):
            m.d.sync += [
                self.r_data.eq(Mux(s_empty, self.w_data, r_port.data)),
                self.r_rdy.eq(1),
            ]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m


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
