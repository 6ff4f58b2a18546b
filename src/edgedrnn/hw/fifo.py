"""A synchronous FIFO whose flags are flip-flops (no occupancy adder on the flag paths).

``lib.fifo.SyncFIFO`` keeps a binary ``level`` and derives ``r_rdy`` (level ≠ 0) and
``w_rdy`` from it, so a read enable that is itself a few gates deep (a serializer's "take
the next entry") runs through the level's adder and compare into the next cycle's flags.
:class:`FlagFIFO` keeps its occupancy as a thermometer code instead (``occ[k]``: more than
``k`` entries), one flip-flop per entry whose next value is a LUT of the enables and its
two neighbours: ``r_rdy`` is ``occ[0]`` and ``w_rdy`` is ``~occ[depth − 1]``, both
flip-flops.
"""

from __future__ import annotations

from amaranth import Cat, Elaboratable, Module, Mux, Signal
from amaranth.lib.memory import Memory


class FlagFIFO(Elaboratable):
    """First-word-fall-through FIFO of ``depth`` entries (the ports of ``lib.fifo.SyncFIFO``
    but ``level``; see the module docstring).

    Latency: an entry written in cycle t is on ``r_data`` (``r_rdy``) in cycle t + 1, as with
    ``lib.fifo.SyncFIFO``. The storage is a memory with an asynchronous read port
    (distributed RAM on an FPGA) read at the read pointer.

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

    def __init__(self, *, width: int, depth: int) -> None:
        if depth < 2:
            raise ValueError(f"FlagFIFO depth must be at least 2, not {depth}")
        self.width, self.depth = width, depth
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()

    def elaborate(self, platform) -> Module:
        m = Module()
        n = self.depth
        m.submodules.storage = storage = Memory(shape=self.width, depth=n, init=[])
        w_port = storage.write_port()
        r_port = storage.read_port(domain="comb")
        produce = Signal(range(n))
        consume = Signal(range(n))
        occ = Signal(n)  # occ[k]: more than k entries held
        do_w, do_r = Signal(), Signal()
        m.d.comb += [
            self.w_rdy.eq(~occ[n - 1]),
            self.r_rdy.eq(occ[0]),
            do_w.eq(self.w_en & self.w_rdy),
            do_r.eq(self.r_en & self.r_rdy),
            w_port.addr.eq(produce),
            w_port.data.eq(self.w_data),
            w_port.en.eq(do_w),
            r_port.addr.eq(consume),
            self.r_data.eq(r_port.data),
        ]
        with m.If(do_w):
            m.d.sync += produce.eq(Mux(produce == n - 1, 0, produce + 1))
        with m.If(do_r):
            m.d.sync += consume.eq(Mux(consume == n - 1, 0, consume + 1))
        with m.If(do_w & ~do_r):
            m.d.sync += occ.eq(Cat(1, occ[:-1]))
        with m.Elif(do_r & ~do_w):
            m.d.sync += occ.eq(occ[1:])
        return m
