"""Scan: the state memories and the pipeline that reads them into the delta encoder.

The x̂/ĥ (reference) memory and the h memory hold one row group of NUM_PE elements per word
(:class:`~edgedrnn.hw.common.StateMap`). Per layer the scan issues, one per cycle while the
controller holds the phase:

* the bias column (``bias``: lane 0 of a ``KIND_BIAS`` group, first step after a reset);
* ``scan_h``: the layer's previous h, a row group per cycle (the hidden part, which the
  controller runs for every layer before the step's input arrives);
* ``scan_x``: layer 0 takes ``x_in`` a row group per beat (NUM_PE elements, the lanes past
  the input size ignored) with its x̂ word; a layer l > 0 reads layer l-1's new h a row
  group per cycle, each as soon as the activation side counts it (``avail``, ``take``): up
  to AVAIL_LEAD − 1 cycles before its h memory write (*Forwarding*).

Pipeline (docs/rtl.md, *Delta encoder*)::

    S0  issue: read addresses from registers (pointers), the group's fields registered
    S1  the block RAMs' read data (STATE_READ_LATENCY)
    S2  the read data registered once more, right at the RAMs (SCAN_DATA_STAGES): ``elem``

The encoder never stalls: S0 issues only with a credit (``ready``, a register, given as if
the cycle before issued: fewer than ``credits`` − 1 groups issued and not ``retired`` after
that cycle's retirements, so at most ``credits`` are in flight). The memories' write ports take the
encoder's reference update, the activation side's new h and CLEAR's zero words (CLEAR wins).
No read ever needs a word written in the same cycle (the activation side reads h only in
ACT, when nothing is scanned; the scan's reads that miss a write take the forwarded word),
so the memories carry ``no_rw_check``.

Forwarding: a row group of new h taken (``take``) while not ``written`` is written in the
cycle of its issue or up to AVAIL_LEAD − 1 (two) cycles later, the writes coming in the order
of the takes. It goes to the encoder as ``from_x`` with the word in ``x``, which it picks
up from the write data (``h_wdata`` with ``fwd``) at the stage it is in when its write
comes: the oldest group still waiting gets the write (``pend`` per stage, registers). S1's
``x`` loads the write data every cycle (layer 0: the ``x_in`` beat), S2's ``x`` the write
data while S1's group waits, and a group that still waits on S2 takes it on ``elem``
(``x`` = the write data: registers, one multiplexer, the encoder's E1 subtraction). The RAM
read (S1) and its register (S2) are not touched. The x̂ word is read as before.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .common import StateMap, clog2, delay, layer_constants
from .encoder import group_layout
from .pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT
from .pipeline import (
    ENCODER_GROUP_FIFO_DEPTH,
    SCAN_DATA_STAGES,
    SCAN_LATENCY,
    STATE_READ_LATENCY,
)


class Scan(wiring.Component):
    """The state memories and the scan pipeline (see the module docstring).

    Latency: a group issued in cycle t (S0) is on ``elem`` in cycle t +
    :data:`~edgedrnn.hw.pipeline.SCAN_LATENCY`; ``h_data`` is the h word at ``act_addr``
    :data:`~edgedrnn.hw.pipeline.SCAN_LATENCY` cycles later (the same S2 register).

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.
    credits : int
        Groups that may be issued and not yet retired (the encoder's group-FIFO depth).

    Interface attributes
    --------------------
    layer : In(layer_constants(hw))
        The controller's layer registers (sizes, lane masks, word bases).
    setup, setup_h : In(1)
        Load the layer's read pointers of the input / of the hidden vector (LSETUP, XSETUP,
        WAITX).
    bias : In(1)
        Issue the bias group (only while ``ready``).
    scan_x, scan_h : In(1)
        The controller is in SCAN_X / SCAN_H: issue while ``ready`` (and, in SCAN_X, while
        ``x_in`` is valid for layer 0 or ``avail`` for a layer > 0).
    x_in : In(stream.Signature(ArrayLayout(signed(16), P)))
        Layer 0's inputs, a row group of NUM_PE elements per beat.
    avail : In(1)
        A row group of the previous layer's new h is not yet taken and is written at the
        latest AVAIL_LEAD − 1 cycles from now.
    written : In(1)
        The row group ``take`` takes is in the h memory; else it comes on ``h_wdata`` with
        ``fwd`` (see *Forwarding* in the module docstring).
    fwd : In(1)
        ``h_wdata`` is a row group of new h for the scan (written this cycle).
    take : Out(1)
        A row group of the previous layer's h is issued.
    done : Out(1)
        The vector's last element or row group is issued (SCAN_X, SCAN_H).
    step_start : Out(1)
        The first ``x_in`` beat of a step is taken.
    ready : Out(1)
        Credit: a group may be issued (a register; see the module docstring).
    elem : Out(stream.Signature(group_layout(P)))
        Row groups for the encoder (``ready`` is not looked at: the credit covers it).
    retired : In(range(3))
        Groups that left the encoder (reported ENCODER_RETIRE_DELAY cycles late).
    ref_we, ref_addr, ref_new : In
        The encoder's reference write (lane mask, word, new references).
    act_sel, act_addr : In
        ACT: the h memory is read at ``act_addr`` instead of the scan's pointer.
    h_data : Out(ArrayLayout(signed(16), P))
        The h memory's read data, registered once (S2): the one register behind the h
        memory serves the scan and the activation side, so synthesis can make it the block
        RAMs' output register.
    h_we, h_addr, h_wdata : In
        The activation side's h write (lane mask, word, new h).
    clr_en, clr_addr : In
        Write zeros to word ``clr_addr`` of both memories.
    idle : Out(1)
        No group in S0 to S2.
    """

    def __init__(self, hw: HardwareConfig, credits: int = ENCODER_GROUP_FIFO_DEPTH) -> None:
        self.hw = hw
        self.map = sm = StateMap.of(hw)
        self.credits = credits
        P = hw.num_pe
        word = data.ArrayLayout(signed(16), P)
        h_addr = clog2(sm.h_depth)
        super().__init__(
            {
                "layer": In(layer_constants(hw)),
                "setup": In(1),
                "setup_h": In(1),
                "bias": In(1),
                "scan_x": In(1),
                "scan_h": In(1),
                "x_in": In(stream.Signature(word)),
                "avail": In(1),
                "written": In(1),
                "fwd": In(1),
                "take": Out(1),
                "done": Out(1),
                "step_start": Out(1),
                "ready": Out(1),
                "elem": Out(stream.Signature(group_layout(P))),
                "retired": In(range(3)),
                "ref_we": In(P),
                "ref_addr": In(16),
                "ref_new": In(word),
                "act_sel": In(1),
                "act_addr": In(h_addr),
                "h_data": Out(word),
                "h_we": In(P),
                "h_addr": In(h_addr),
                "h_wdata": In(word),
                "clr_en": In(1),
                "clr_addr": In(range(sm.clear_depth + 1)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        P, sm = self.hw.num_pe, self.map
        word = data.ArrayLayout(signed(16), P)
        ones = (1 << P) - 1

        # state memories (synchronous read ports: STATE_READ_LATENCY = 1)
        assert STATE_READ_LATENCY == 1, "lib.memory read ports in the sync domain"
        attrs = {"no_rw_check": 1}
        ref_mem = memory.Memory(shape=word, depth=sm.ref_depth, init=[], attrs=attrs)
        h_mem = memory.Memory(shape=word, depth=sm.h_depth, init=[], attrs=attrs)
        m.submodules.ref_mem, m.submodules.h_mem = ref_mem, h_mem
        ref_rd, ref_wr = ref_mem.read_port(), ref_mem.write_port(granularity=1)
        h_rd, h_wr = h_mem.read_port(), h_mem.write_port(granularity=1)

        # S0: issue from registered pointers, with a credit
        s1 = self._issue(m, ref_rd, h_rd)
        # the credit is given as if this cycle issued (a credit fewer in a cycle after one
        # without an issue, which only ever holds the scan while the encoder's group FIFO
        # is nearly full, its serializer busy): the issue (behind the controller's flags,
        # ``x_in`` and ``avail``) does not reach ``ready``, only the count's carry-in
        used = Signal(range(self.credits + 2))
        kept = Signal.like(used)  # the count after this cycle's retirements
        m.d.comb += kept.eq(used - self.retired)
        m.d.sync += [used.eq(kept + s1.issue), self.ready.eq(kept < self.credits - 1)]
        s1_valid, s2_valid = delay(m, s1.issue, SCAN_LATENCY, "scan_v")
        m.d.comb += [
            ref_rd.en.eq(1),
            h_rd.en.eq(1),
            ref_rd.addr.eq(s1.ref_ptr),
            h_rd.addr.eq(Mux(self.act_sel, self.act_addr, s1.h_ptr)),
        ]

        # S2: the read data registered once more, right at the block RAMs (their 5.8 ns
        # clock-to-out leaves no time for the route to the encoder in the same cycle). The
        # register loads every cycle and is the only load on the RAMs' outputs, so the ECP5
        # flow moves it into the RAMs' output registers (edgedrnn.synth.outreg)
        assert SCAN_DATA_STAGES == 1, "S2 is one register stage"
        s2 = Signal(group_layout(P), reset_less=True)  # data only, s2_valid qualifies it
        # forwarding (module docstring): the oldest waiting group takes the write
        s2_pend = Signal()  # S2's group waits for its word (its write is this cycle)
        m.d.comb += s1.give0.eq(self.fwd & ~s1.pend & ~s2_pend)
        m.d.sync += s2_pend.eq(s1.pend & ~(self.fwd & ~s2_pend))
        m.d.sync += [
            s2.values.eq(h_rd.data),
            s2.x.eq(Mux(s1.pend, self.h_wdata, s1.x)),
            s2.from_x.eq(s1.from_x),
            s2.kind.eq(s1.kind),
            s2.mask.eq(s1.mask),
            s2.base.eq(s1.base),
            s2.addr.eq(s1.ref_addr),
        ]
        m.d.sync += s2.refs.eq(ref_rd.data)
        m.d.comb += [
            self.elem.valid.eq(s2_valid),
            self.elem.payload.eq(s2),
            self.elem.payload.x.eq(Mux(s2_pend, self.h_wdata, s2.x)),
            self.h_data.eq(s2.values),
            self.idle.eq(~s1.issue & ~s1_valid & ~s2_valid),
        ]

        # write ports: the encoder's reference update, the new h; CLEAR's zeros win
        m.d.comb += [
            ref_wr.addr.eq(self.ref_addr),
            ref_wr.data.eq(self.ref_new),
            ref_wr.en.eq(self.ref_we),
            h_wr.addr.eq(self.h_addr),
            h_wr.data.eq(self.h_wdata),
            h_wr.en.eq(self.h_we),
        ]
        with m.If(self.clr_en):
            m.d.comb += [
                ref_wr.addr.eq(self.clr_addr),
                ref_wr.data.eq(0),
                ref_wr.en.eq(ones),
                h_wr.addr.eq(self.clr_addr),
                h_wr.data.eq(0),
                h_wr.en.eq(ones),
            ]
        return m

    def _issue(self, m: Module, ref_rd, h_rd) -> SimpleNamespace:
        """S0: the phases' issue sequences; the pointers and the group's S1 registers."""
        P, sm, lay = self.hw.num_pe, self.map, self.layer
        lg_p = clog2(P)
        ones = (1 << P) - 1
        j = Signal(17)  # layer 0 inputs: element index; otherwise row group index
        ref_ptr = Signal.like(ref_rd.addr)  # next reference word to read
        h_ptr = Signal.like(h_rd.addr)  # next h word to read
        s1_kind, s1_mask, s1_base = Signal(2), Signal(P), Signal(16)
        s1_from_x = Signal()
        # layer 0: the x_in beat; above: the h write data (a forwarded word, *Forwarding*)
        s1_x = Signal(data.ArrayLayout(signed(16), P))
        s1_pend = Signal()  # S1's group waits for its word of new h
        give0 = Signal()  # this cycle's h write is for the group issued now (if it waits)
        s1_ref_addr = Signal.like(ref_rd.addr)
        issue = Signal()

        def put(kind, mask, base, *, from_x=0, ref=True):
            """Issue a group: its fields into S1 (``ref``: with the reference word read)."""
            m.d.comb += issue.eq(1)
            m.d.sync += [
                s1_kind.eq(kind),
                s1_mask.eq(mask),
                s1_base.eq(base),
                s1_from_x.eq(from_x),
            ]
            if ref:
                m.d.sync += s1_ref_addr.eq(ref_ptr)

        # j restarts at 0 with the vector's last row group (and at CLEAR, which a SOFT_RESET
        # that stops a scan always runs), so no decode of the controller's state reaches
        # it. "j is the vector's last row group" comes from registers only, so ``done`` is
        # not a compare of the counter: j + 1, j and 0 compared with the last index a cycle
        # ahead (registers of registers), then picked by what moved j that cycle (a row
        # group issue, or the restart: registered strobes). The last indices (g_in_m1,
        # g_hid_m1) are set at least a cycle before the vector's first issue, which comes
        # at least two cycles after the previous vector's last (the controller's
        # LSETUP/LSETUP2, XSETUP or WAITX lie between), and hold while a vector is scanned
        row_issue = Signal()
        wrap = Signal()  # the issued row group is the vector's last
        moved_issue = Signal()
        moved_wrap = Signal()
        m.d.sync += [
            moved_issue.eq(row_issue & ~wrap),
            moved_wrap.eq((row_issue & wrap) | self.clr_en),
        ]
        with m.If(self.clr_en):
            m.d.sync += j.eq(0)
        with m.Elif(row_issue):
            m.d.sync += j.eq(Mux(wrap, 0, j + 1))

        def is_last(g, name):
            inc = Signal(name=f"{name}_inc")  # j + 1 == g: after an issue
            same = Signal(name=f"{name}_same")  # j == g: j did not move
            zero = Signal(name=f"{name}_zero")  # 0 == g: after the restart
            # g − 1 in a register (g holds from a cycle before the vector's first issue, and
            # ``inc`` is first used the cycle after it), so ``inc`` is an equality, no adder
            g_m1 = Signal(signed(len(g) + 1), name=f"{name}_m1")
            m.d.sync += [
                g_m1.eq(g - 1),
                inc.eq(j == g_m1),
                same.eq(j == g),
                zero.eq(g == 0),
            ]
            last = Signal(name=name)
            m.d.comb += last.eq(Mux(moved_issue, inc, Mux(moved_wrap, zero, same)))
            return last

        last_x = is_last(lay.g_in_m1, "last_x")
        last_h = is_last(lay.g_hid_m1, "last_h")

        def row_group(kind, last, mask_last, base, *, from_x=0):
            """Issue row group ``j``; ``last``: it is the vector's last (then ``done``)."""
            put(kind, Mux(last, mask_last, ones), base, from_x=from_x)
            m.d.comb += [row_issue.eq(1), wrap.eq(last), self.done.eq(last)]
            m.d.sync += [ref_ptr.eq(ref_ptr + 1), h_ptr.eq(h_ptr + 1)]

        with m.If(self.setup):
            m.d.sync += [ref_ptr.eq(lay.ref_base), h_ptr.eq(lay.hin_base)]
        with m.If(self.setup_h):
            m.d.sync += [ref_ptr.eq(lay.ref_base + sm.gx), h_ptr.eq(lay.h_base)]
        with m.If(self.bias):
            put(KIND_BIAS, 1, 0, ref=False)
        with m.If(self.scan_x & lay.layer0 & self.ready & self.x_in.valid):
            # a row group of x_in per beat, with its x̂ word
            m.d.comb += [self.x_in.ready.eq(1), self.step_start.eq(j == 0)]
            row_group(KIND_INPUT, last_x, lay.mask_in_last, j << lg_p, from_x=1)
        # loaded every cycle (only an issued group's is used): no issue term in its path
        m.d.sync += [s1_x.eq(Mux(lay.layer0, self.x_in.payload, self.h_wdata)), s1_pend.eq(0)]
        with m.If(self.scan_x & ~lay.layer0 & self.ready & self.avail):
            # new h of the layer below: from the h memory, or forwarded (not yet written)
            m.d.comb += self.take.eq(1)
            row_group(KIND_INPUT, last_x, lay.mask_in_last, j << lg_p, from_x=~self.written)
            m.d.sync += s1_pend.eq(~self.written & ~give0)
        with m.If(self.scan_h & self.ready):
            row_group(KIND_HIDDEN, last_h, lay.mask_hid_last, lay.n_in + (j << lg_p))

        return SimpleNamespace(
            issue=issue,
            ref_ptr=ref_ptr,
            h_ptr=h_ptr,
            kind=s1_kind,
            mask=s1_mask,
            base=s1_base,
            from_x=s1_from_x,
            x=s1_x,
            ref_addr=s1_ref_addr,
            pend=s1_pend,
            give0=give0,
        )
