"""Delta encoder: datapath.md §5 "Delta encoding", a whole row group of NUM_PE elements per cycle.

Input stream ``elem``: one group: ``values`` and their references ``refs`` (x̂ or ĥ) for the
``lanes`` elements ``base + k``, a mask of the lanes that exist (``mask``) and the column
kind. For ``KIND_INPUT`` the threshold is ``theta_x``, for ``KIND_HIDDEN`` ``theta_h``. Per
lane:

* ``Δ = sat16(value - ref)``; passed on iff ``Δ ≠ 0`` and ``|Δ| >= Θ``;
* the references of passed lanes move by what was sent: in the cycle the group is accepted,
  ``ref_we`` (a lane mask) and ``ref_new`` are the write to the reference memory;
* ``KIND_BIAS`` is the bias column at the first step after a reset: lane 0 only, always
  passed on with Δ = 256 (1.0), no reference to update.

The passed lanes of the group are then sent on ``out`` as (Δ, kind, index) one per cycle,
lowest lane first, so the order is the spec's ascending order. A group with no passed lane
costs one cycle, a group with k passed lanes k cycles (the next group is taken in the cycle
the last one of them goes out). ``overflow`` pulses when a subtraction of an accepted lane
saturated.
"""

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from .pe import KIND_BIAS, KIND_INPUT

DELTA_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2), "index": unsigned(16)})


def group_layout(lanes: int) -> data.StructLayout:
    """Payload of the encoder's input stream."""
    return data.StructLayout(
        {
            "values": data.ArrayLayout(signed(16), lanes),
            "refs": data.ArrayLayout(signed(16), lanes),
            "mask": unsigned(lanes),
            "kind": unsigned(2),
            "base": unsigned(16),
        }
    )


class DeltaEncoder(wiring.Component):
    """Threshold compare of a row group per cycle, passed deltas out one per cycle."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        super().__init__(
            {
                "elem": In(stream.Signature(group_layout(lanes))),
                "theta_x": In(16),
                "theta_h": In(16),
                "out": Out(stream.Signature(DELTA_LAYOUT)),
                "ref_we": Out(lanes),
                "ref_new": Out(data.ArrayLayout(signed(16), lanes)),
                "overflow": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        P = self.lanes
        e = self.elem.payload
        is_bias = e.kind == KIND_BIAS
        theta = Mux(e.kind == KIND_INPUT, self.theta_x, self.theta_h)

        deltas = []
        passes = []
        clips = []
        for k in range(P):
            diff = Signal(signed(17), name=f"diff{k}")
            m.d.comb += diff.eq(e.values[k] - e.refs[k])
            clips.append((diff > fp.INT16_MAX) | (diff < fp.INT16_MIN))
            d = Signal(signed(16), name=f"delta{k}")
            m.d.comb += d.eq(
                Mux(diff > fp.INT16_MAX, fp.INT16_MAX, Mux(diff < fp.INT16_MIN, fp.INT16_MIN, diff))
            )
            mag = Signal(unsigned(17), name=f"mag{k}")
            m.d.comb += mag.eq(Mux(d < 0, -d, d))
            deltas.append(d)
            passes.append((d != 0) & (mag >= theta))
            m.d.comb += self.ref_new[k].eq(e.refs[k] + d)
        pmask = Signal(P)
        m.d.comb += pmask.eq(Mux(is_bias, e.mask, Cat(*passes) & e.mask))

        # hold register: the group whose passed lanes are being sent
        hold = Signal(P)
        h_delta = Signal(data.ArrayLayout(signed(16), P))
        h_kind = Signal(2)
        h_base = Signal(16)
        sel = Signal(range(P))
        for k in reversed(range(P)):
            with m.If(hold[k]):
                m.d.comb += sel.eq(k)
        m.d.comb += [
            self.out.valid.eq(hold.any()),
            self.out.payload.delta.eq(h_delta[sel]),
            self.out.payload.kind.eq(h_kind),
            self.out.payload.index.eq(h_base + sel),
        ]
        remaining = Signal(P)
        m.d.comb += remaining.eq(Mux(self.out.ready, hold & (hold - 1), hold))  # drop lowest bit
        m.d.sync += hold.eq(remaining)
        m.d.comb += self.elem.ready.eq(remaining == 0)
        accepted = self.elem.valid & self.elem.ready
        with m.If(accepted):
            m.d.sync += [hold.eq(pmask), h_kind.eq(e.kind), h_base.eq(e.base)]
            for k in range(P):
                m.d.sync += h_delta[k].eq(Mux(is_bias, fp.ONE_Q88, deltas[k]))
        m.d.comb += [
            self.ref_we.eq(Mux(accepted & ~is_bias, pmask, 0)),
            self.overflow.eq(accepted & ~is_bias & (Cat(*clips) & e.mask).any()),
        ]
        return m
