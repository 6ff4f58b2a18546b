"""Delta encoder: datapath.md §5 "Delta encoding", a whole row group of NUM_PE elements per cycle.

Input stream ``elem`` (always ready: the sender keeps count, see *Flow control*): one row
group: the ``lanes`` values and their references ``refs`` (x̂ or ĥ) of the elements
``base + k``, a mask of the lanes that exist (``mask``), the column kind and ``addr``, the
reference memory word the refs came from (returned with the reference update). When
``from_x`` is set the values are ``x`` instead (layer 0's inputs, a row group per ``x_in``
beat, which the state memories do not hold). For ``KIND_INPUT`` the threshold is ``theta_x``, for
``KIND_HIDDEN`` ``theta_h``. Per lane:

* ``Δ = sat16(value - ref)``; passed on iff ``Δ ≠ 0`` and ``|Δ| >= Θ``;
* the references of passed lanes move by what was sent: ``ref_we`` (a lane mask),
  ``ref_addr`` and ``ref_new`` are the write to the reference memory, ENCODER_STAGES
  (three) cycles after the group came in;
* ``KIND_BIAS`` is the bias column at the first step after a reset: lane 0 only, always
  passed on with Δ = 256 (1.0), no reference to update.

The passed lanes of a group are sent on ``out`` as (Δ, kind, index) one per cycle, lowest
lane first, so the order is the spec's ascending order. ``overflow`` pulses when a
subtraction of a valid lane saturated.

Pipeline (registers between stages; the input is registers already, the scan's S2 in the
state memories' output registers and its x path, so E1 computes on it)::

    E1  value select, Δ = sat16(value - ref), Θ and Θ - 1 of the group's kind
    E2  per lane: pass = Δ ≠ 0 ∧ (Δ - Θ ≥ 0 ∨ Δ + Θ - 1 < 0); ref + Δ
    E3  the group's pass mask (bias: lane 0), whether any lane passed
    E4  reference write; a group with passed lanes goes into the serializer directly when
        the group FIFO is empty and the serializer takes a group this cycle (the bypass),
        else into the group FIFO (``depth`` entries); one without is dropped
    S   serializer: one passed lane per cycle from the head group

Flow control: the encoder never stalls its input. ``retired`` (0, 1 or 2, a register) counts
the groups that left the encoder the cycle before (ENCODER_RETIRE_DELAY: dropped in E4, or
taken by the serializer, from the group FIFO or past it in E4); a sender that has at most
``depth`` groups issued and not retired can never overflow the FIFO: its count only runs
ahead of the real one, and ENCODER_STAGES of them can be in the pipeline registers at once,
in flight to the FIFO. ``idle`` is high when no group is inside.
"""

from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from .common import delay
from .fifo import FlagFIFO
from .pe import KIND_BIAS, KIND_INPUT
from .pipeline import (
    ENCODER_GROUP_FIFO_DEPTH,
    ENCODER_GROUP_FIFO_LATENCY,
    ENCODER_RETIRE_DELAY,
    ENCODER_SERIALIZER_STAGES,
    ENCODER_STAGES,
)

DELTA_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2), "index": unsigned(16)})


def group_layout(lanes: int) -> data.StructLayout:
    """Payload of the encoder's input stream."""
    return data.StructLayout(
        {
            "values": data.ArrayLayout(signed(16), lanes),
            "refs": data.ArrayLayout(signed(16), lanes),
            "x": data.ArrayLayout(signed(16), lanes),
            "from_x": unsigned(1),
            "mask": unsigned(lanes),
            "kind": unsigned(2),
            "base": unsigned(16),
            "addr": unsigned(16),
        }
    )


def _few_bits(bits: Value) -> tuple[Value, Value, Value]:
    """Whether none, exactly one and exactly two of ``bits`` are set: boolean logic (halves
    combined), no carry chain, so a few LUT levels from the bits' registers."""
    if len(bits) == 1:
        return ~bits[0], bits[0], Const(0)
    half = len(bits) // 2
    z0, o0, t0 = _few_bits(bits[:half])
    z1, o1, t1 = _few_bits(bits[half:])
    return z0 & z1, (o0 & z1) | (z0 & o1), (t0 & z1) | (o0 & o1) | (z0 & t1)


def _lowest(m: Module, bits: Value, lanes: int) -> Signal:
    """Index of the lowest set bit of ``bits`` (0 when none is set)."""
    index = Signal(range(lanes))
    for k in reversed(range(lanes)):
        with m.If(bits[k]):
            m.d.comb += index.eq(k)
    return index


class DeltaEncoder(wiring.Component):
    """Threshold compare of a row group per cycle, passed deltas out one per cycle.

    Latency: a group on ``elem`` in cycle t writes its references (``ref_we``) in cycle t +
    ENCODER_STAGES; its first passed delta is on ``out`` in cycle t + ENCODER_LATENCY when the
    group FIFO is empty and the serializer is empty or lets its last lane go in cycle t +
    ENCODER_STAGES (:mod:`edgedrnn.hw.pipeline`: the group goes past the empty group FIFO).

    Parameters
    ----------
    lanes : int
        NUM_PE: elements per row group.
    depth : int
        Entries of the group FIFO (the sender's credits).

    Interface attributes
    --------------------
    elem : In(stream.Signature(group_layout(lanes)))
        Row groups (always ready, see *Flow control*).
    theta_x, theta_h : In(16)
        The thresholds of input and hidden columns.
    out : Out(stream.Signature(DELTA_LAYOUT))
        Passed deltas (Δ, kind, index), one per cycle, in ascending order.
    ref_we, ref_addr, ref_new : Out
        The reference write of a group: lane mask, reference word, new references.
    overflow : Out(1)
        A subtraction of a valid lane saturated.
    retired : Out(range(3))
        Groups that left the encoder the cycle before (a register).
    idle : Out(1)
        No group inside.
    """

    def __init__(self, lanes: int, depth: int = ENCODER_GROUP_FIFO_DEPTH) -> None:
        self.lanes = lanes
        self.depth = depth
        super().__init__(
            {
                "elem": In(stream.Signature(group_layout(lanes))),
                "theta_x": In(16),
                "theta_h": In(16),
                "out": Out(stream.Signature(DELTA_LAYOUT)),
                "ref_we": Out(lanes),
                "ref_addr": Out(16),
                "ref_new": Out(data.ArrayLayout(signed(16), lanes)),
                "overflow": Out(1),
                "retired": Out(range(3)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.comb += self.elem.ready.eq(1)  # never stalls (see Flow control)
        v = delay(m, self.elem.valid, ENCODER_STAGES, "v")  # E1 .. E3 hold a group
        e = self._compare(m, v)
        load = self._serialize(m, v, e)
        assert ENCODER_RETIRE_DELAY == 1, "one register on the count"
        m.d.sync += self.retired.eq((v[-1] & ~e.any3) + load)
        m.d.comb += self.idle.eq(~Cat(*v).any() & e.fifo_empty & ~self.out.valid)
        return m

    def _compare(self, m: Module, v: list) -> SimpleNamespace:
        """E1 to E3: the threshold compare of a row group, its pass mask, new references."""
        P = self.lanes
        e = self.elem.payload
        # E1: Δ = sat16(value - ref), computed on the input (its values and refs are registers:
        # the scan's S2, in the state memories' output registers, and its x path), and the
        # threshold of the group's kind
        d1 = Signal(data.ArrayLayout(signed(16), P))
        ref1 = Signal(data.ArrayLayout(signed(16), P))
        clip1 = Signal(P)
        th1 = Signal(17)
        thm1 = Signal(signed(18))  # Θ - 1
        mask1, kind1 = Signal(P), Signal(2)
        base1, addr1 = Signal(16), Signal(16)
        for k in range(P):
            diff = Signal(signed(17), name=f"diff{k}")
            value = Mux(e.from_x, e.x[k], e.values[k])
            m.d.comb += diff.eq(value - e.refs[k])
            clip = diff[16] != diff[15]
            m.d.sync += [
                d1[k].eq(Mux(clip, Mux(diff[16], fp.INT16_MIN, fp.INT16_MAX), diff[:16])),
                clip1[k].eq(clip),
                ref1[k].eq(e.refs[k]),
            ]
        th = Signal(16)
        m.d.comb += th.eq(Mux(e.kind == KIND_INPUT, self.theta_x, self.theta_h))
        m.d.sync += [
            th1.eq(th),
            thm1.eq(th - 1),
            mask1.eq(e.mask),
            kind1.eq(e.kind),
            base1.eq(e.base),
            addr1.eq(e.addr),
        ]

        # E2: per-lane pass decision, new references
        bias2, ovf2 = Signal(), Signal()
        pass2, mask2 = Signal(P), Signal(P)
        delta2 = Signal(data.ArrayLayout(signed(16), P))
        ref_new2 = Signal(data.ArrayLayout(signed(16), P))
        kind2, base2, addr2 = Signal(2), Signal(16), Signal(16)
        is_bias1 = kind1 == KIND_BIAS
        for k in range(P):
            up = Signal(signed(18), name=f"up{k}")  # Δ - Θ
            dn = Signal(signed(18), name=f"dn{k}")  # Δ + Θ - 1
            m.d.comb += [up.eq(d1[k] - th1), dn.eq(d1[k] + thm1)]
            m.d.sync += [
                pass2[k].eq((d1[k] != 0) & (~up[17] | dn[17])),
                delta2[k].eq(Mux(is_bias1, fp.ONE_Q88, d1[k])),
                ref_new2[k].eq(ref1[k] + d1[k]),
            ]
        m.d.sync += [
            mask2.eq(mask1),
            bias2.eq(is_bias1),
            ovf2.eq(v[0] & ~is_bias1 & (clip1 & mask1).any()),
            kind2.eq(kind1),
            base2.eq(base1),
            addr2.eq(addr1),
        ]

        # E3: pass mask of the group
        s = SimpleNamespace(any3=Signal(), bias3=Signal(), ovf3=Signal(), pm3=Signal(P))
        s.delta3 = Signal(data.ArrayLayout(signed(16), P))
        s.ref_new3 = Signal(data.ArrayLayout(signed(16), P))
        s.kind3, s.base3, s.addr3 = Signal(2), Signal(16), Signal(16)
        pmask = Signal(P)
        m.d.comb += pmask.eq(Mux(bias2, mask2, pass2 & mask2))
        m.d.sync += [
            s.pm3.eq(pmask),
            s.any3.eq(v[1] & pmask.any()),
            s.bias3.eq(bias2),
            s.ovf3.eq(ovf2),
            s.delta3.eq(delta2),
            s.ref_new3.eq(ref_new2),
            s.kind3.eq(kind2),
            s.base3.eq(base2),
            s.addr3.eq(addr2),
        ]
        return s

    def _serialize(self, m: Module, v: list, s: SimpleNamespace) -> Signal:
        """E4 (reference write, group FIFO) and S (serializer); returns the FIFO's pop."""
        P = self.lanes
        sel_bits = max(1, (P - 1).bit_length())
        m.d.comb += [
            self.ref_we.eq(Mux(v[-1] & ~s.bias3, s.pm3, 0)),
            self.ref_addr.eq(s.addr3),
            self.ref_new.eq(s.ref_new3),
            self.overflow.eq(s.ovf3),
        ]
        entry = data.StructLayout(
            {
                "mask": unsigned(P),
                "single": unsigned(1),  # at most one lane passed
                "first": unsigned(sel_bits),  # the lowest passed lane
                "delta": data.ArrayLayout(signed(16), P),
                "kind": unsigned(2),
                "base": unsigned(16),
            }
        )
        # the FIFO's flags are flip-flops: the serializer's load is a few gates from registers
        m.submodules.groups = gfifo = FlagFIFO(width=entry.size, depth=self.depth)
        assert ENCODER_GROUP_FIFO_LATENCY == 0, "an empty group FIFO is bypassed"
        w = Signal(entry)
        none3, one3, _ = _few_bits(s.pm3)
        m.d.comb += [
            w.mask.eq(s.pm3),
            w.single.eq(none3 | one3),
            w.first.eq(_lowest(m, s.pm3, P)),
            w.delta.eq(s.delta3),
            w.kind.eq(s.kind3),
            w.base.eq(s.base3),
            gfifo.w_data.eq(w),
        ]
        # ``empty``: the group FIFO holds nothing (a register, FlagFIFO's r_rdy). While it is
        # empty the serializer takes E4's group directly (the bypass); else the FIFO's head,
        # and E4's group, if any, queues behind it. So the order is the order of arrival.
        empty = Signal()
        m.d.comb += empty.eq(~gfifo.r_rdy)
        s.fifo_empty = empty

        # S: serializer. ``h_any`` (hold ≠ 0), ``h_last`` (at most one bit of hold set) and
        # ``sel`` (the lowest bit of hold) are kept in registers, so the head group's FIFO read
        # enable is two gates deep and the output lane select starts at a flip-flop.
        assert ENCODER_SERIALIZER_STAGES == 1, "the head group is held in one register"
        hold = Signal(P)
        h_any, h_last = Signal(), Signal()
        h_delta = Signal(data.ArrayLayout(signed(16), P))
        h_kind = Signal(2)
        h_base = Signal(16)
        sel = Signal(range(P))
        m.d.comb += [
            self.out.valid.eq(h_any),
            self.out.payload.delta.eq(h_delta[sel]),
            self.out.payload.kind.eq(h_kind),
            self.out.payload.index.eq(h_base + sel),
        ]
        # hold without its lowest bit (``sel``: a decoder, no carry chain); the next
        # ``h_last``: at most two bits of hold set
        rest = Signal(P)
        m.d.comb += rest.eq(hold & ~Cat(*[sel == k for k in range(P)]))
        rest_first = _lowest(m, rest, P)
        h_none, h_one, h_two = _few_bits(hold)
        with m.If(self.out.ready & h_any):
            m.d.sync += [
                hold.eq(rest),
                h_any.eq(~h_last),
                h_last.eq(h_none | h_one | h_two),
                sel.eq(rest_first),
            ]
        # The hold register's source: a 2:1 multiplexer selected by the register ``empty``; its
        # load enable is as deep as without the bypass (``free`` from registers, ``empty`` a
        # register, ``s.any3`` a register), and so is ``retired``, which the scan's credit
        # ``ready`` reads.
        src = Signal(entry)
        m.d.comb += src.eq(Mux(empty, w, gfifo.r_data))
        free = Signal()  # the hold register takes a group this cycle if one is there
        load = Signal()
        m.d.comb += [
            free.eq(~h_any | (self.out.ready & h_last)),
            load.eq(free & (~empty | s.any3)),  # not empty: the FIFO has a head (r_rdy)
            gfifo.r_en.eq(free & ~empty),
            gfifo.w_en.eq(s.any3 & ~(free & empty)),
        ]
        with m.If(load):
            m.d.sync += [
                hold.eq(src.mask),
                h_any.eq(1),
                h_last.eq(src.single),
                sel.eq(src.first),
                h_delta.eq(src.delta),
                h_kind.eq(src.kind),
                h_base.eq(src.base),
            ]
        return load
