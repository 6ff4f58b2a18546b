"""Synchronous FIFOs whose flags are flip-flops, for paths the 125 MHz placement has no room on.

Both keep the ports of ``lib.fifo`` (``w_data``, ``w_en``, ``w_rdy``, ``r_data``, ``r_en``,
``r_rdy``) and store their entries in a memory with an asynchronous read port (distributed
RAM on an FPGA), a ring with a write and a read pointer (:func:`_ring`).

* :class:`FlagFIFO`: ``lib.fifo.SyncFIFO``'s behaviour (first word falls through, readable
  the cycle after its write). ``lib.fifo.SyncFIFO`` keeps a binary ``level`` and derives
  ``r_rdy`` (level ≠ 0) and ``w_rdy`` from it, so a read enable that is itself a few gates
  deep (a serializer's "take the next entry") runs through the level's adder and compare
  into the next cycle's flags. FlagFIFO keeps its occupancy as a thermometer code instead
  (``occ[k]``: more than ``k`` entries), one flip-flop per entry whose next value is a LUT of
  the enables and its two neighbours: ``r_rdy`` is ``occ[0]`` and ``w_rdy`` is
  ``~occ[depth − 1]``, both flip-flops.
* :class:`BypassFIFO`: ``lib.fifo.SyncFIFOBuffered``'s (``r_data`` and ``r_rdy`` registers),
  with its latency 1 instead of 2 when empty: the input goes straight to the output register.
"""

from __future__ import annotations

from amaranth import Cat, Elaboratable, Module, Mux, Signal, Value
from amaranth.lib.memory import Memory


class _Ports(Elaboratable):
    """The ports of ``lib.fifo``'s FIFOs but ``level``: ``w_data``, ``w_en``, ``w_rdy``,
    ``r_data``, ``r_en``, ``r_rdy``."""

    def __init__(self, *, width: int, depth: int, least: int = 2) -> None:
        if depth < least:
            raise ValueError(f"{type(self).__name__} depth must be at least {least}, not {depth}")
        self.width, self.depth = width, depth
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()


def _ring(m: Module, data: Value, depth: int, write: Value, read: Value) -> Value:
    """``depth`` words of storage (submodule ``storage``): ``data`` is written at the write
    pointer when ``write``, the read pointer moves on when ``read``; returns the word at the
    read pointer (an asynchronous read)."""
    m.submodules.storage = storage = Memory(shape=len(data), depth=depth, init=[])
    w_port = storage.write_port()
    r_port = storage.read_port(domain="comb")
    produce = Signal(range(depth))
    consume = Signal(range(depth))
    m.d.comb += [
        w_port.addr.eq(produce),
        w_port.data.eq(data),
        w_port.en.eq(write),
        r_port.addr.eq(consume),
    ]
    with m.If(write):
        m.d.sync += produce.eq(Mux(produce == depth - 1, 0, produce + 1))
    with m.If(read):
        m.d.sync += consume.eq(Mux(consume == depth - 1, 0, consume + 1))
    return r_port.data


class FlagFIFO(_Ports):
    """First-word-fall-through FIFO of ``depth`` entries (see the module docstring).

    Latency: an entry written in cycle t is on ``r_data`` (``r_rdy``) in cycle t + 1, as with
    ``lib.fifo.SyncFIFO``.

    Parameters
    ----------
    width : int
        Bits of an entry.
    depth : int
        Entries (at least 2).

    Attributes
    ----------
    w_data, w_en, w_rdy : Signal
        The write: ``w_data`` is written when ``w_en`` and ``w_rdy`` (not full, a register).
    r_data, r_en, r_rdy : Signal
        The read: the head ``r_data`` is valid when ``r_rdy`` (a register) and is taken when
        ``r_en`` too.
    """

    def elaborate(self, platform) -> Module:
        m = Module()
        n = self.depth
        occ = Signal(n)  # occ[k]: more than k entries held
        do_w, do_r = Signal(), Signal()
        m.d.comb += [
            self.w_rdy.eq(~occ[n - 1]),
            self.r_rdy.eq(occ[0]),
            do_w.eq(self.w_en & self.w_rdy),
            do_r.eq(self.r_en & self.r_rdy),
            self.r_data.eq(_ring(m, self.w_data, n, do_w, do_r)),
        ]
        with m.If(do_w & ~do_r):
            m.d.sync += occ.eq(Cat(1, occ[:-1]))
        with m.Elif(do_r & ~do_w):
            m.d.sync += occ.eq(occ[1:])
        return m


class BypassFIFO(_Ports):
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
        # the output register and at least one storage entry
        super().__init__(width=width, depth=depth, least=2)
        self.level = Signal(range(depth + 1))

    def elaborate(self, platform) -> Module:
        m = Module()
        inner = self.depth - 1
        s_level = Signal(range(inner + 1))
        s_empty = Signal(init=1)  # s_level == 0, a register

        do_write = Signal()
        free = Signal()  # the output register takes an entry this cycle if one is there
        s_write, s_read = Signal(), Signal()
        head = Signal(self.width)
        m.d.comb += [
            self.w_rdy.eq(s_level != inner),
            do_write.eq(self.w_en & self.w_rdy),
            free.eq(~self.r_rdy | self.r_en),
            s_read.eq(free & ~s_empty),
            s_write.eq(do_write & ~(free & s_empty)),  # else it goes past the storage
            head.eq(_ring(m, self.w_data, inner, s_write, s_read)),
            self.level.eq(s_level + self.r_rdy),
        ]
        with m.If(s_write & ~s_read):
            m.d.sync += [s_level.eq(s_level + 1), s_empty.eq(0)]
        with m.If(s_read & ~s_write):
            m.d.sync += [s_level.eq(s_level - 1), s_empty.eq(s_level == 1)]

        with m.If(free & (~s_empty | do_write)):
            m.d.sync += [
                self.r_data.eq(Mux(s_empty, self.w_data, head)),
                self.r_rdy.eq(1),
            ]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m
