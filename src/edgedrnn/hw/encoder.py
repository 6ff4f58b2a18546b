"""Delta encoder: datapath.md §5 "Delta encoding", a whole row group of NUM_PE elements per cycle.

Input stream ``elem`` (always ready: the sender keeps count, see *Flow control*): one row
group: the ``lanes`` values and their references ``refs`` (x̂ or ĥ) of the elements
``base + k``, a mask of the lanes that exist (``mask``), the column kind and ``addr``, the
reference memory word the refs came from (returned with the reference update). When
``from_x`` is set every lane's value is ``x`` instead (layer 0 takes its inputs one element
at a time, the mask selects the lane). For ``KIND_INPUT`` the threshold is ``theta_x``, for
``KIND_HIDDEN`` ``theta_h``. Per lane:

* ``Δ = sat16(value - ref)``; passed on iff ``Δ ≠ 0`` and ``|Δ| >= Θ``;
* the references of passed lanes move by what was sent: ``ref_we`` (a lane mask),
  ``ref_addr`` and ``ref_new`` are the write to the reference memory, four cycles after
  the group came in;
* ``KIND_BIAS`` is the bias column at the first step after a reset: lane 0 only, always
  passed on with Δ = 256 (1.0), no reference to update.

The passed lanes of a group are sent on ``out`` as (Δ, kind, index) one per cycle, lowest
lane first, so the order is the spec's ascending order. ``overflow`` pulses when a
subtraction of a valid lane saturated.

Pipeline (registers between stages, nothing combinational from the input's memory read
data to a register)::

    E0  input registers (the state memories' read data goes straight in)
    E1  value select, Δ = sat16(value - ref), Θ and Θ - 1 of the group's kind
    E2  per lane: pass = Δ ≠ 0 ∧ (Δ - Θ ≥ 0 ∨ Δ + Θ - 1 < 0); ref + Δ
    E3  the group's pass mask (bias: lane 0), whether any lane passed
    E4  reference write; a group with passed lanes goes into the group FIFO (``depth``
        entries), one without is dropped
    S   serializer: one passed lane per cycle from the head group

Flow control: the encoder never stalls its input. ``retired`` (0, 1 or 2) counts the groups
that left the encoder this cycle (dropped in E4, or taken from the group FIFO by the
serializer); a sender that has at most ``depth`` groups issued and not retired can never
overflow the FIFO (:data:`STAGES` of them can be in the pipeline registers at once, in
flight to the FIFO). ``idle`` is high when no group is inside.
"""

from amaranth import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from .pe import KIND_BIAS, KIND_INPUT

DELTA_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2), "index": unsigned(16)})

#: Pipeline registers between ``elem`` and the group FIFO (E0 to E3).
STAGES = 4
#: Default depth of the group FIFO (groups with passed lanes waiting to be serialized).
GROUP_FIFO_DEPTH = 8


def group_layout(lanes: int) -> data.StructLayout:
    """Payload of the encoder's input stream."""
    return data.StructLayout(
        {
            "values": data.ArrayLayout(signed(16), lanes),
            "refs": data.ArrayLayout(signed(16), lanes),
            "x": signed(16),
            "from_x": unsigned(1),
            "mask": unsigned(lanes),
            "kind": unsigned(2),
            "base": unsigned(16),
            "addr": unsigned(16),
        }
    )


class DeltaEncoder(wiring.Component):
    """Threshold compare of a row group per cycle, passed deltas out one per cycle."""

    def __init__(self, lanes: int, depth: int = GROUP_FIFO_DEPTH) -> None:
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
        P = self.lanes
        e = self.elem.payload
        sel_bits = max(1, (P - 1).bit_length())

        def lowest(bits: Value) -> Signal:
            """Index of the lowest set bit of ``bits`` (0 when none is set)."""
            index = Signal(range(P))
            for k in reversed(range(P)):
                with m.If(bits[k]):
                    m.d.comb += index.eq(k)
            return index

        # E0: input registers
        m.d.comb += self.elem.ready.eq(1)  # never stalls (see Flow control)
        v0 = Signal()
        g0 = Signal(group_layout(P))
        th0 = Signal(16)
        m.d.sync += [
            v0.eq(self.elem.valid),
            g0.eq(e),
            th0.eq(Mux(e.kind == KIND_INPUT, self.theta_x, self.theta_h)),
        ]

        # E1: Δ = sat16(value - ref)
        v1 = Signal()
        d1 = Signal(data.ArrayLayout(signed(16), P))
        ref1 = Signal(data.ArrayLayout(signed(16), P))
        clip1 = Signal(P)
        th1 = Signal(17)
        thm1 = Signal(signed(18))  # Θ - 1
        mask1, kind1 = Signal(P), Signal(2)
        base1, addr1 = Signal(16), Signal(16)
        for k in range(P):
            diff = Signal(signed(17), name=f"diff{k}")
            value = Mux(g0.from_x, g0.x, g0.values[k])
            m.d.comb += diff.eq(value - g0.refs[k])
            clip = diff[16] != diff[15]
            m.d.sync += [
                d1[k].eq(Mux(clip, Mux(diff[16], fp.INT16_MIN, fp.INT16_MAX), diff[:16])),
                clip1[k].eq(clip),
                ref1[k].eq(g0.refs[k]),
            ]
        m.d.sync += [
            v1.eq(v0),
            th1.eq(th0),
            thm1.eq(th0 - 1),
            mask1.eq(g0.mask),
            kind1.eq(g0.kind),
            base1.eq(g0.base),
            addr1.eq(g0.addr),
        ]

        # E2: per-lane pass decision, new references
        v2, bias2, ovf2 = Signal(), Signal(), Signal()
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
            v2.eq(v1),
            mask2.eq(mask1),
            bias2.eq(is_bias1),
            ovf2.eq(v1 & ~is_bias1 & (clip1 & mask1).any()),
            kind2.eq(kind1),
            base2.eq(base1),
            addr2.eq(addr1),
        ]

        # E3: pass mask of the group
        v3, any3, bias3, ovf3 = Signal(), Signal(), Signal(), Signal()
        pm3 = Signal(P)
        delta3 = Signal(data.ArrayLayout(signed(16), P))
        ref_new3 = Signal(data.ArrayLayout(signed(16), P))
        kind3, base3, addr3 = Signal(2), Signal(16), Signal(16)
        pmask = Signal(P)
        m.d.comb += pmask.eq(Mux(bias2, mask2, pass2 & mask2))
        m.d.sync += [
            v3.eq(v2),
            pm3.eq(pmask),
            any3.eq(v2 & pmask.any()),
            bias3.eq(bias2),
            ovf3.eq(ovf2),
            delta3.eq(delta2),
            ref_new3.eq(ref_new2),
            kind3.eq(kind2),
            base3.eq(base2),
            addr3.eq(addr2),
        ]

        # E4: reference write, group FIFO
        m.d.comb += [
            self.ref_we.eq(Mux(v3 & ~bias3, pm3, 0)),
            self.ref_addr.eq(addr3),
            self.ref_new.eq(ref_new3),
            self.overflow.eq(ovf3),
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
        m.submodules.groups = gfifo = fifo.SyncFIFO(width=entry.size, depth=self.depth)
        w = Signal(entry)
        m.d.comb += [
            w.mask.eq(pm3),
            w.single.eq((pm3 & (pm3 - 1)) == 0),
            w.first.eq(lowest(pm3)),
            w.delta.eq(delta3),
            w.kind.eq(kind3),
            w.base.eq(base3),
            gfifo.w_data.eq(w),
            gfifo.w_en.eq(any3),
        ]

        # S: serializer. ``h_any`` (hold ≠ 0), ``h_last`` (at most one bit of hold set) and
        # ``sel`` (the lowest bit of hold) are kept in registers, so the head group's FIFO read
        # enable is two gates deep and the output lane select starts at a flip-flop.
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
        rest = Signal(P)  # hold without its lowest bit
        m.d.comb += rest.eq(hold & (hold - 1))
        rest_first = lowest(rest)
        with m.If(self.out.ready & h_any):
            m.d.sync += [
                hold.eq(rest),
                h_any.eq(~h_last),
                h_last.eq((rest & (rest - 1)) == 0),
                sel.eq(rest_first),
            ]
        head = data.View(entry, gfifo.r_data)
        load = Signal()
        m.d.comb += [
            load.eq(gfifo.r_rdy & (~h_any | (self.out.ready & h_last))),
            gfifo.r_en.eq(load),
        ]
        with m.If(load):
            m.d.sync += [
                hold.eq(head.mask),
                h_any.eq(1),
                h_last.eq(head.single),
                sel.eq(head.first),
                h_delta.eq(head.delta),
                h_kind.eq(head.kind),
                h_base.eq(head.base),
            ]
        m.d.comb += [
            self.retired.eq((v3 & ~any3) + load),
            self.idle.eq(~v0 & ~v1 & ~v2 & ~v3 & (gfifo.level == 0) & ~h_any),
        ]
        return m
