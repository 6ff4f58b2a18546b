"""Activation side: the layer's accumulators through NUM_PE activation units into new h.

In ACT the issue (A0) reads a row group per cycle: its four accumulators of every lane from
the PE array (``acc_addr``) and its previous h from the h memory (``h_addr``). The
accumulators come out of the PE array's registers at A2 (PE_ACT_READ_LATENCY); h_prev comes
from the scan's S2 register (SCAN_LATENCY), delayed to match if that is shorter; the units
take both (:class:`~edgedrnn.hw.activation.Activation`, ACT_LATENCY cycles). The
last layer issues only while the output FIFO has an entry reserved for the row group
(``room``, ``reserve``).

The issue and the h writer keep their own copy of the layer's h base, size, last-lane mask
and last-layer flag (loaded with the layer in ``start``): the controller sets up the next
layer (or step) while this layer issues, and the next layer may already be scanning while
this layer's last row groups are still in the activation pipeline. A row group's new h goes to
the h memory (the lanes that exist) and, for the last layer, to the output side. ``avail``
counts the row groups not yet taken by the next layer's scan (not the last layer's, which
nothing takes), each from AVAIL_LEAD cycles before a read of the h memory returns it (the
issue's valid, delayed): the scan takes a row group it issues before that from the write
data (``fwd``, ``h_wdata``), which ``written`` tells it (a second count, of the row groups
written and not yet taken, negative while the scan is ahead of the writes).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .activation import Activation
from .common import StateMap, clog2, delay, layer_constants
from .output import entry_layout
from .pipeline import ACT_ISSUE_LATENCY, ACT_LATENCY, AVAIL_LEAD, SCAN_LATENCY


class ActivationArray(wiring.Component):
    """The activation issue, NUM_PE activation units and the h writer (see module docstring).

    Latency: a row group issued in cycle t (A0) has its new h on ``h_we``/``h_wdata`` and
    ``new_h`` in cycle t + ACT_ISSUE_LATENCY + ACT_LATENCY
    (:mod:`edgedrnn.hw.pipeline`); ``avail`` counts it from AVAIL_LEAD − 1 cycles before
    that (``written`` from the cycle after).

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.

    Interface attributes
    --------------------
    layer : In(layer_constants(hw))
        The controller's layer registers (``g_hid``, ``n_hid``, ``h_base``, ``acc_base``,
        ``mask_hid_last``, ``last_layer``).
    start : In(1)
        Load the layer: its row groups to issue, the read pointers and the h writer.
    run : In(1)
        Issue a row group per cycle while any is left (for the last layer only while
        ``room``): the controller's ACT flag, from ``start`` until no row group is left.
    room : In(1)
        The output side has room for another row group.
    room2 : In(1)
        The output side has room for two more (``room`` holds next cycle).
    reserve : Out(1)
        A row group of the last layer is issued.
    left : Out(1)
        Row groups of the layer are still to issue (a register).
    read_after_next : Out(1)
        A row group may be issued (its accumulators read) the cycle after next: the
        controller's hold of the PE array for the next cycle.
    drained : Out(1)
        No row group is issued now or in the activation pipeline.
    acc_addr : Out(range(depth + 1))
        The PE array's ``act_addr`` (the row group's accumulator word).
    acc_r, acc_u, acc_cx, acc_ch : In(ArrayLayout(signed(24), P))
        The PE array's accumulators, PE_ACT_READ_LATENCY cycles after ``acc_addr``.
    h_addr : Out(clog2(depth))
        The h memory's read address in ACT.
    h_prev : In(ArrayLayout(signed(16), P))
        The h memory's read data, SCAN_LATENCY cycles after ``h_addr`` (the scan's S2
        register).
    h_we, h_waddr, h_wdata : Out
        The h memory write of a row group's new h (lane mask, word, values).
    new_h : Out(stream.Signature(entry_layout(P), always_ready=True))
        New h of the last layer for the output side.
    take : In(1)
        The next layer's scan takes a row group of new h.
    avail : Out(1)
        A row group of new h is not yet taken and is written at the latest AVAIL_LEAD − 1
        cycles from now (a register).
    written : Out(1)
        The row group the next ``take`` takes is in the h memory (a register); else it is
        on ``h_wdata`` with ``fwd`` within AVAIL_LEAD − 1 cycles of the take.
    fwd : Out(1)
        ``h_wdata`` is a row group of new h for the next layer's scan (not the last
        layer's), written this cycle.
    overflow : Out(1)
        An activation of a lane that exists saturated.
    idle : Out(1)
        Nothing is issued or in flight.
    """

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        self.map = sm = StateMap.of(hw)
        P = hw.num_pe
        acc = data.ArrayLayout(signed(24), P)
        word = data.ArrayLayout(signed(16), P)
        h_addr = clog2(sm.h_depth)
        super().__init__(
            {
                "layer": In(layer_constants(hw)),
                "start": In(1),
                "run": In(1),
                "room": In(1),
                "room2": In(1),
                "reserve": Out(1),
                "left": Out(1),
                "read_after_next": Out(1),
                "drained": Out(1),
                "acc_addr": Out(range(sm.h_depth + 1)),
                "acc_r": In(acc),
                "acc_u": In(acc),
                "acc_cx": In(acc),
                "acc_ch": In(acc),
                "h_addr": Out(h_addr),
                "h_prev": In(word),
                "h_we": Out(P),
                "h_waddr": Out(h_addr),
                "h_wdata": Out(word),
                "new_h": Out(stream.Signature(entry_layout(P), always_ready=True)),
                "take": In(1),
                "avail": Out(1),
                "written": Out(1),
                "fwd": Out(1),
                "overflow": Out(1),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        P, lay = self.hw.num_pe, self.layer
        ones = (1 << P) - 1

        # A0: issue a row group; A1, A2: the reads come back
        ga = Signal(16)  # row groups still to issue
        ga_nz = Signal()  # ga != 0, kept in a register (it gates the issue enable)
        ga_ge2, ga_ge3 = Signal(), Signal()  # ga >= 2, ga >= 3 (registers)
        h_act_ptr = Signal.like(self.h_addr)
        acc_act_ptr = Signal.like(self.acc_addr)
        inflight = Signal(range(ACT_ISSUE_LATENCY + ACT_LATENCY + 1))
        act_issue = Signal()
        # the issue's valid, delayed to the units' input (A2) and on to the cycle it counts
        # in ``avail`` (AVAIL_LEAD before a read of its h word would return it)
        early = ACT_ISSUE_LATENCY + ACT_LATENCY - AVAIL_LEAD
        assert early >= ACT_ISSUE_LATENCY, "avail counts from the units' pipeline"
        act_v = delay(m, act_issue, early, "act_v")
        issued, counting = act_v[:ACT_ISSUE_LATENCY], act_v[-1]
        assert ACT_ISSUE_LATENCY >= SCAN_LATENCY, "h_prev comes from the scan's S2 register"
        h_prev_line = delay(m, self.h_prev, ACT_ISSUE_LATENCY - SCAN_LATENCY, "h_prev")
        h_prev = h_prev_line[-1] if h_prev_line else self.h_prev
        m.d.comb += [self.h_addr.eq(h_act_ptr), self.acc_addr.eq(acc_act_ptr)]
        iss_last = Signal()  # the issuing layer is the last (loaded in ``start``)
        with m.If(self.run & ga_nz & (self.room | ~iss_last)):
            m.d.comb += act_issue.eq(1)
            m.d.sync += [
                ga.eq(ga - 1),
                ga_nz.eq(ga != 1),
                ga_ge2.eq(ga_ge3),
                ga_ge3.eq(ga[2:] != 0),
                h_act_ptr.eq(h_act_ptr + 1),
                acc_act_ptr.eq(acc_act_ptr + 1),
            ]

        units = []
        for k in range(P):
            unit = Activation()
            m.submodules[f"act{k}"] = unit
            units.append(unit)
            m.d.comb += [
                unit.i_valid.eq(issued[-1]),
                unit.m_r.eq(self.acc_r[k]),
                unit.m_u.eq(self.acc_u[k]),
                unit.m_cx.eq(self.acc_cx[k]),
                unit.m_ch.eq(self.acc_ch[k]),
                unit.h_prev.eq(h_prev[k]),
            ]
        o_valid = units[0].o_valid
        m.d.sync += inflight.eq(inflight + act_issue - o_valid)
        m.d.comb += [
            self.reserve.eq(act_issue & iss_last),
            self.left.eq(ga_nz),
        ]
        # another issue after the next cycle's: two or more row groups left after this
        # cycle's issue, or one and the next cycle's issue not certain (the last layer
        # without ``room2``); at ``start`` from the layer's row groups
        two_left, one_left = Signal(), Signal()
        m.d.comb += [
            two_left.eq(ga_ge3 | (ga_ge2 & ~act_issue)),
            one_left.eq(Mux(act_issue, ga_ge2 & ~ga_ge3, ga_nz & ~ga_ge2)),
            self.read_after_next.eq(
                Mux(
                    self.start,
                    (lay.g_hid[1:] != 0) | (lay.last_layer & ~self.room2),
                    two_left | (one_left & iss_last & ~self.room2),
                )
            ),
            self.drained.eq((inflight == 0) & ~act_issue),
            self.idle.eq((inflight == 0) & ~act_issue & ~Cat(*issued).any()),
        ]

        # row groups of new h the next layer's scan may issue (layer > 0 waits for them),
        # counted AVAIL_LEAD cycles before a read would return them (``counting``: the
        # issue's valid, delayed); up/down counter: both neighbours computed from the
        # register, the enables only select
        avail = Signal(16)
        avail_up, avail_dn = Signal.like(avail), Signal.like(avail)
        m.d.comb += [avail_up.eq(avail + 1), avail_dn.eq(avail - 1)]
        # (the last layer's new h is never taken: not counted, so that a step's layer 1
        # sees none before its layer 0's activation, which may start after its scan does)
        wr_last = Signal()
        early_counted = counting & ~wr_last
        with m.If(early_counted & ~self.take):
            m.d.sync += [avail.eq(avail_up), self.avail.eq(1)]
        with m.Elif(self.take & ~early_counted):
            m.d.sync += [avail.eq(avail_dn), self.avail.eq(avail != 1)]
        # row groups written and not yet taken: below 1 (down to 1 − AVAIL_LEAD) while the
        # scan takes row groups ahead of their write; ``written``: at least 1 (a register)
        wcount = Signal(range(-AVAIL_LEAD, self.map.gmax + 1))  # a layer's row groups at most
        w_up, w_dn = Signal.like(wcount), Signal.like(wcount)
        m.d.comb += [w_up.eq(wcount + 1), w_dn.eq(wcount - 1)]
        counted = o_valid & ~wr_last
        with m.If(counted & ~self.take):
            m.d.sync += [wcount.eq(w_up), self.written.eq(~wcount[-1])]
        with m.Elif(self.take & ~counted):
            m.d.sync += [wcount.eq(w_dn), self.written.eq(self.written & (wcount != 1))]
        m.d.comb += self.fwd.eq(counted)

        # the h writer, with its own copy of the layer constants
        wr_ptr = Signal.like(self.h_waddr)
        wr_rem = Signal(16)  # elements of h still to come out (this one included)
        wr_mask_last = Signal(P)
        out_mask = Signal(P)
        # wr_rem <= P (the row group coming out is the vector's last), a register: the
        # compare is made a row group ahead, off the path to the h memory's write enables
        rem_le_p = Signal()
        m.d.comb += out_mask.eq(Mux(rem_le_p, wr_mask_last, ones))
        with m.If(o_valid):
            m.d.sync += [
                wr_ptr.eq(wr_ptr + 1),
                wr_rem.eq(wr_rem - P),
                rem_le_p.eq(wr_rem <= 2 * P),
            ]
        entry = self.new_h.payload
        m.d.comb += [
            self.overflow.eq(o_valid & (Cat(*[u.o_overflow for u in units]) & out_mask).any()),
            self.h_waddr.eq(wr_ptr),
            self.h_we.eq(Mux(o_valid, out_mask, 0)),
            entry.mask.eq(out_mask),
            entry.last.eq(rem_le_p),
            self.new_h.valid.eq(o_valid & wr_last),
        ]
        for k, unit in enumerate(units):
            m.d.comb += [self.h_wdata[k].eq(unit.o_h), entry.h[k].eq(unit.o_h)]

        with m.If(self.start):
            m.d.sync += [
                ga.eq(lay.g_hid),
                ga_nz.eq(1),  # g_hid >= 1
                ga_ge2.eq(lay.g_hid[1:] != 0),
                ga_ge3.eq(lay.g_hid > 2),
                avail.eq(0),
                self.avail.eq(0),
                wcount.eq(0),
                self.written.eq(0),
                h_act_ptr.eq(lay.h_base),
                acc_act_ptr.eq(lay.acc_base),
                wr_ptr.eq(lay.h_base),
                wr_rem.eq(lay.n_hid),
                rem_le_p.eq(lay.n_hid <= P),
                wr_mask_last.eq(lay.mask_hid_last),
                wr_last.eq(lay.last_layer),
                iss_last.eq(lay.last_layer),
            ]
        return m
