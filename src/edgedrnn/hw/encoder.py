"""Delta encoder: datapath.md §5 "Delta encoding" for one element per cycle.

Input stream ``elem``: (value, ref, kind, addr) of one element: the new input or hidden value,
its reference x̂ / ĥ, the column kind and the column's byte address. For ``KIND_INPUT`` the
threshold is ``theta_x``, for ``KIND_HIDDEN`` ``theta_h``:

* ``Δ = sat16(value - ref)``; passed on iff ``Δ ≠ 0`` and ``|Δ| >= Θ``;
* a passed element goes out on ``out`` as (Δ, kind, addr) and ``ref_we`` is high with
  ``ref_new = ref + Δ`` (the reference moves by what was sent);
* ``KIND_BIAS`` elements are the bias column at the first step after a reset: always passed
  on with Δ = 256 (1.0), no reference to update.

Elements that are not passed on are consumed without output. ``overflow`` is high when the
subtraction saturated on an accepted element. Purely combinational (the top level registers
around it); ``elem.ready`` follows ``out.ready`` only for elements that are passed on.
"""

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from .pe import KIND_BIAS, KIND_HIDDEN, KIND_INPUT

ELEM_LAYOUT = data.StructLayout(
    {"value": signed(16), "ref": signed(16), "kind": unsigned(2), "addr": unsigned(32)}
)
DELTA_LAYOUT = data.StructLayout({"delta": signed(16), "kind": unsigned(2), "addr": unsigned(32)})

__all__ = ["DELTA_LAYOUT", "ELEM_LAYOUT", "KIND_BIAS", "KIND_HIDDEN", "KIND_INPUT", "DeltaEncoder"]


class DeltaEncoder(wiring.Component):
    """Threshold compare of one element per cycle (see module docstring)."""

    elem: In(stream.Signature(ELEM_LAYOUT))
    theta_x: In(16)
    theta_h: In(16)
    out: Out(stream.Signature(DELTA_LAYOUT))
    ref_we: Out(1)
    ref_new: Out(signed(16))
    overflow: Out(1)
    passed: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        e = self.elem.payload
        diff = Signal(signed(17))
        m.d.comb += diff.eq(e.value - e.ref)
        clipped = (diff > fp.INT16_MAX) | (diff < fp.INT16_MIN)
        delta = Signal(signed(16))
        m.d.comb += delta.eq(
            Mux(diff > fp.INT16_MAX, fp.INT16_MAX, Mux(diff < fp.INT16_MIN, fp.INT16_MIN, diff))
        )
        mag = Signal(unsigned(17))
        m.d.comb += mag.eq(Mux(delta < 0, -delta, delta))
        theta = Mux(e.kind == KIND_INPUT, self.theta_x, self.theta_h)
        is_bias = e.kind == KIND_BIAS
        passes = Signal()
        m.d.comb += passes.eq(is_bias | ((delta != 0) & (mag >= theta)))

        m.d.comb += [
            self.out.valid.eq(self.elem.valid & passes),
            self.out.payload.delta.eq(Mux(is_bias, fp.ONE_Q88, delta)),
            self.out.payload.kind.eq(e.kind),
            self.out.payload.addr.eq(e.addr),
            self.elem.ready.eq(self.out.ready | ~passes),
        ]
        accepted = self.elem.valid & self.elem.ready
        m.d.comb += [
            self.passed.eq(accepted & passes),
            self.ref_we.eq(accepted & passes & ~is_bias),
            self.ref_new.eq(e.ref + delta),
            self.overflow.eq(accepted & ~is_bias & clipped),
        ]
        return m
