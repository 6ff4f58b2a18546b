"""Activation unit: datapath.md §5 steps 1-5, one neuron per cycle, fully pipelined.

Inputs (one neuron per cycle when ``i_valid``): the four accumulators ``m_r``, ``m_u``,
``m_cx``, ``m_ch`` (int24) and the neuron's previous output ``h_prev`` (int16). Exactly
:data:`LATENCY` cycles later ``o_valid`` is high with ``o_h``; ``o_overflow`` is high in that
cycle when any int16 narrowing of that neuron saturated. The pipeline never stalls (the
controller reserves room downstream before it issues a neuron).

The SIG and TANH tables live in ``lib.memory`` ROMs with registered reads (TANH marked to be
built from logic, so the block RAMs stay free for the accumulators). They store only the
part that is not saturated, divided by 16 (all entries are multiples of 1/16): outside it
SIG is 0 / 256 and TANH -256 / 256. Because r, u and c are 16 times a number of at most
5 bits (plus sign), the three products are small shift-and-add networks, not DSP blocks.
:func:`table_segment` derives the segment from ``fixedpoint.sig_table()`` /
``tanh_table()`` so the unit equals them on all 65,536 inputs.

Pipeline (registers between stages)::

    T0  rne7 + sat16 of M_r, M_u, M_ch
    T1  SIG table addresses (registered read)
    T2  r, u; s = r·q + 2·M_cx; sat16(rne8(s))
    T3  TANH table address (registered read)
    T4  c; a = rne8((256-u)·c), b = rne8(u·h_prev)
    T5  h = sat16(a + b)
"""

from dataclasses import dataclass

import numpy as np
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp

#: Cycles from ``i_valid`` to ``o_valid``.
LATENCY = 6


@dataclass(frozen=True)
class TableSegment:
    """The non-saturated part ``[lo, hi]`` of a table and its values below/above it."""

    lo: int
    hi: int
    below: int
    above: int
    values: tuple[int, ...]  # table[lo..hi] / 16

    @property
    def depth(self) -> int:
        return self.hi - self.lo + 1


def table_segment(table: np.ndarray) -> TableSegment:
    """Smallest segment outside of which ``table`` (indexed by v + 32768) is constant."""
    t = np.asarray(table, dtype=np.int64)
    below, above = int(t[0]), int(t[-1])
    lo_idx = int(np.argmax(t != below))  # first entry that differs from the bottom value
    hi_idx = len(t) - 1 - int(np.argmax(t[::-1] != above))
    assert np.all(t % 16 == 0), "table entries must be multiples of 16"
    return TableSegment(
        lo=lo_idx + fp.INT16_MIN,
        hi=hi_idx + fp.INT16_MIN,
        below=below,
        above=above,
        values=tuple(int(v) // 16 for v in t[lo_idx : hi_idx + 1]),
    )


def rne(v, k: int):
    """RNE_k of an Amaranth value (datapath.md §2): add 2^(k-1) - 1 + bit k, shift by k."""
    return (v + ((1 << (k - 1)) - 1) + v[k]) >> k


def sat16(v):
    """(saturated int16 value, clipped flag) of a signed Amaranth value."""
    hi, lo = fp.INT16_MAX, fp.INT16_MIN
    clipped = (v > hi) | (v < lo)
    return Mux(v > hi, hi, Mux(v < lo, lo, v)), clipped


class _Table:
    """ROM of a :class:`TableSegment` with a registered read port."""

    def __init__(
        self, m: Module, name: str, seg: TableSegment, ports: int, logic: bool = False
    ) -> None:
        self.seg = seg
        lo_v = min((*seg.values, seg.below // 16, seg.above // 16))
        hi_v = max((*seg.values, seg.below // 16, seg.above // 16))
        shape = signed(max(hi_v.bit_length(), (-lo_v).bit_length()) + 1)
        attrs = {"rom_style": "logic", "ram_style": "logic"} if logic else None
        mem = memory.Memory(shape=shape, depth=seg.depth, init=list(seg.values), attrs=attrs)
        m.submodules[name] = mem
        self.ports = [mem.read_port() for _ in range(ports)]

    def lookup(self, m: Module, port: int, v: Signal) -> Signal:
        """Issue the read of v (an int16 value) now; returns the result / 16 (next cycle)."""
        seg = self.seg
        rp = self.ports[port]
        idx = Signal(range(seg.depth))
        m.d.comb += idx.eq(Mux(v < seg.lo, 0, Mux(v > seg.hi, seg.depth - 1, v - seg.lo)))
        m.d.comb += rp.addr.eq(idx)
        below, above = Signal(), Signal()
        m.d.sync += [below.eq(v < seg.lo), above.eq(v > seg.hi)]
        out = Signal(signed(6))
        m.d.comb += out.eq(Mux(below, seg.below // 16, Mux(above, seg.above // 16, rp.data)))
        return out


def small_mul(m: Module, a, b, name: str) -> Signal:
    """``a · b`` for a small non-negative ``a`` (≤ 5 bits) as shifts and adds (no DSP block)."""
    terms = [Mux(a[i], b << i, 0) for i in range(len(a))]
    out = Signal(signed(len(b) + len(a) + 1), name=name)
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    m.d.comb += out.eq(total)
    return out


class Activation(wiring.Component):
    """The pipelined activation unit (see the module docstring)."""

    i_valid: In(1)
    m_r: In(signed(24))
    m_u: In(signed(24))
    m_cx: In(signed(24))
    m_ch: In(signed(24))
    h_prev: In(signed(16))
    o_valid: Out(1)
    o_h: Out(signed(16))
    o_overflow: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        sig = _Table(m, "sig_rom", table_segment(fp.sig_table()), ports=2)
        # TANH in logic (1061 × 6 bits): keeps block RAMs for the accumulators
        tanh = _Table(m, "tanh_rom", table_segment(fp.tanh_table()), ports=1, logic=True)

        # T0 -> T1: rne7 + sat16 of M_r, M_u, M_ch
        v1 = Signal()
        pre_r, pre_u, q1 = Signal(signed(16)), Signal(signed(16)), Signal(signed(16))
        cx1, hp1, ovf1 = Signal(signed(24)), Signal(signed(16)), Signal()
        sr, cr = sat16(rne(self.m_r, 7))
        su, cu = sat16(rne(self.m_u, 7))
        sq, cq = sat16(rne(self.m_ch, 7))
        m.d.sync += [
            v1.eq(self.i_valid),
            pre_r.eq(sr),
            pre_u.eq(su),
            q1.eq(sq),
            cx1.eq(self.m_cx),
            hp1.eq(self.h_prev),
            ovf1.eq(cr | cu | cq),
        ]
        # T1 -> T2: SIG reads
        r2 = sig.lookup(m, 0, pre_r)
        u2 = sig.lookup(m, 1, pre_u)
        v2, q2, cx2, hp2, ovf2 = (
            Signal(),
            Signal(signed(16)),
            Signal(signed(24)),
            Signal(signed(16)),
            Signal(),
        )
        m.d.sync += [v2.eq(v1), q2.eq(q1), cx2.eq(cx1), hp2.eq(hp1), ovf2.eq(ovf1)]
        # T2 -> T3: s = r*q + 2*M_cx, sat16(rne8(s))
        s = Signal(signed(27))
        # r = 16·r16 with r16 in 0..16: r·q as shifts and adds
        m.d.comb += s.eq((small_mul(m, r2[:5], q2, "rq") << 4) + cx2 * 2)
        sc, cc = sat16(rne(s, 8))
        v3, pre_c, u3, hp3, ovf3 = (
            Signal(),
            Signal(signed(16)),
            Signal(unsigned(5)),
            Signal(signed(16)),
            Signal(),
        )
        m.d.sync += [
            v3.eq(v2),
            pre_c.eq(sc),
            u3.eq(u2[:5]),
            hp3.eq(hp2),
            ovf3.eq(ovf2 | cc),
        ]
        # T3 -> T4: TANH read
        c4 = tanh.lookup(m, 0, pre_c)
        v4, u4, hp4, ovf4 = Signal(), Signal(unsigned(5)), Signal(signed(16)), Signal()
        m.d.sync += [v4.eq(v3), u4.eq(u3), hp4.eq(hp3), ovf4.eq(ovf3)]
        # T4 -> T5: the two products, each rounded on its own
        pa = Signal(signed(20))
        pb = Signal(signed(26))
        # u = 16·u16, c = 16·c16: (256 - u)·c = ((16 - u16)·c16) << 8, u·h = (u16·h) << 4
        one_minus_u = Signal(unsigned(5))
        m.d.comb += one_minus_u.eq(16 - u4)
        m.d.comb += [
            pa.eq(small_mul(m, one_minus_u, c4, "uc") << 8),
            pb.eq(small_mul(m, u4, hp4, "uh") << 4),
        ]
        a5, b5 = Signal(signed(12)), Signal(signed(18))
        v5, ovf5 = Signal(), Signal()
        m.d.sync += [v5.eq(v4), a5.eq(rne(pa, 8)), b5.eq(rne(pb, 8)), ovf5.eq(ovf4)]
        # T5 -> out
        hs, ch = sat16(a5 + b5)
        m.d.sync += [self.o_valid.eq(v5), self.o_h.eq(hs), self.o_overflow.eq(v5 & (ovf5 | ch))]
        return m
