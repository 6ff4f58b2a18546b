"""Activation unit: datapath.md §5 steps 1-5, one neuron per cycle, fully pipelined.

Inputs (one neuron per cycle when ``i_valid``): the four accumulators ``m_r``, ``m_u``,
``m_cx``, ``m_ch`` (int24) and the neuron's previous output ``h_prev`` (int16), all sampled
with ``i_valid``. Exactly :data:`~edgedrnn.hw.pipeline.ACT_LATENCY` cycles later ``o_valid``
is high with ``o_h``; ``o_overflow`` is high in that cycle when any int16 narrowing of that
neuron saturated. The pipeline never stalls (the controller reserves room downstream before
it issues a neuron).

**Tables as steps.** SIG and TANH are staircases: ``table(v) = below + 16·#{k : v ≥ t_k}``
with 16 (SIG) / 32 (TANH) thresholds ``t_k`` (:func:`step_table`). Consecutive thresholds
are at least 65 (SIG) / 16 (TANH) apart, so with buckets of ``2^K`` inputs (K = 6 / 4) a
bucket holds at most one threshold and ``#{t_k ≤ v} = base[b] − (f < thr[b])`` for bucket
``b = v >> K``, fine part ``f = v mod 2^K``; ``base`` (the count at the bucket's end) and
``thr`` (the threshold's offset in the bucket, 0 if none) come from a small ROM in logic
over the window ``|v| ≤ 1024`` (:func:`bucket_rom`: 32 / 128 entries); outside the window
the table is constant. :func:`bucket_rom` checks the decomposition against
``fixedpoint.sig_table()`` / ``tanh_table()`` on all 65,536 inputs at elaboration. No block
RAM, no DSP.

**Products.** r, u and c are 16 times a number ``R``, ``U``, ``C`` in 0..16 (−16..16 for C),
so every product is ``digit·x`` for a 5-bit digit: one adder of two multiplexed multiples
``{0, x, 2x, 3x}`` + ``4·{0, x, 2x, 3x, 4x}`` (``3x`` computed a stage before). The ``−(f <
thr)`` of a table lookup is not applied to the table value but folded into an adder that
runs anyway (``r·q = R·q − lt·q``, ``(16 − u)·c = v·C − lt·v`` with ``v = 16 − u``).
Rounding: ``RNE_8(16·R·q + 2·M_cx) = RNE_7(8·R·q + M_cx)``; ``RNE_7(y)`` is ``(y + 64) >> 7``
with bit 0 cleared on a tie (low 7 bits of ``y + 64`` zero), so the ``+64`` is added to
``M_cx`` early and the tie fix is one gate on the TANH fine bits.
``RNE_8((256 − u)·c) = v·c16`` exactly and ``RNE_8(u·h_prev) = RNE_4(U·h_prev)``.
Saturations are taken from the top bits (clipped iff bits 15.. are not all equal).

Pipeline (a row = the logic between two register stages; each has at most two carry
chains in series and a few LUT levels, for ≥ 150 MHz on ECP5 speed 6)::

    S0  x_r, x_u, x_q = RNE_7(M_r, M_u, M_ch) (18 bits); M_cx + 64; 3·h_prev
    S1  SIG ROMs on x_r, x_u: R, U and lt_r, lt_u; q = sat16(x_q), 3q; clip flags
    S2  R·q (digits); y' = M_cx + 64 − lt_r·8q; U·h_prev (digits); v = 16 − U + lt_u
    S3  yy = 8·R·q + y' (= 8·r16·q + M_cx + 64); uh = U·h_prev − lt_u·h_prev
    S4  z = yy >> 7 (+ tie fix): TANH ROM: C, 3C, thr, f; clip flag; b = RNE_4(uh)
    S5  a' = v·C (digits); b' = b − (f < thr)·v
    S6  h = sat16(a' + b') -> o_h, o_overflow, o_valid

S0 computes on the inputs as they come: they are registers (the PE array's bank output
registers, :data:`~edgedrnn.hw.pipeline.PE_BANK_READ_STAGES`, which the ECP5 flow moves into
the block RAMs' output registers, and the scan's S2 register), so the unit has no input
register stage of its own.
"""

from dataclasses import dataclass

import numpy as np
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .. import fixedpoint as fp
from .common import delay
from .pipeline import ACT_LATENCY


@dataclass(frozen=True)
class StepTable:
    """A table of steps of 16: ``table(v) = below + 16·#{k : v ≥ thresholds[k]}``."""

    below: int
    thresholds: tuple[int, ...]

    def __call__(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.int64)
        th = np.asarray(self.thresholds, dtype=np.int64)
        return self.below + 16 * np.searchsorted(th, v, side="right")


def step_table(table: np.ndarray) -> StepTable:
    """The thresholds of a non-decreasing ``table`` (indexed by v + 32768) with steps of 16."""
    t = np.asarray(table, dtype=np.int64)
    d = np.diff(t)
    assert np.all((d == 0) | (d == 16)), "table must rise in steps of 16"
    th = np.nonzero(d)[0] + 1 + fp.INT16_MIN
    return StepTable(below=int(t[0]), thresholds=tuple(int(x) for x in th))


@dataclass(frozen=True)
class BucketRom:
    """The ROM that evaluates a :class:`StepTable` in the window ``[-2^(w-1), 2^(w-1))``.

    Address = bits ``[k, w)`` of the input (bucket ``b = v >> k``); entry = (``base``, ``thr``):
    in the window, ``table(v) = below + 16·(base − (v mod 2^k < thr))``; below / above the
    window it is ``below`` / ``below + 16·n``.
    """

    k: int
    w: int
    n: int
    below16: int
    base: tuple[int, ...]
    thr: tuple[int, ...]

    def __call__(self, v) -> np.ndarray:
        """The hardware's algorithm in numpy (any signed integer v)."""
        v = np.asarray(v, dtype=np.int64)
        addr = (v >> self.k) & ((1 << (self.w - self.k)) - 1)
        f = v & ((1 << self.k) - 1)
        base = np.asarray(self.base)[addr]
        thr = np.asarray(self.thr)[addr]
        half = 1 << (self.w - 1)
        count = np.where(v < -half, 0, np.where(v >= half, self.n, base - (f < thr)))
        return 16 * (self.below16 + count)


def bucket_rom(st: StepTable) -> BucketRom:
    """Bucket size ``2^k`` ≤ the smallest threshold gap, smallest window holding all steps."""
    th = np.asarray(st.thresholds, dtype=np.int64)
    k = int(np.diff(th).min()).bit_length() - 1
    w = 1
    while not (th[0] >= -(1 << (w - 1)) and th[-1] <= (1 << (w - 1))):
        w += 1
    w = max(w, k + 1)
    nb = 1 << (w - k)
    base, thr = [], []
    for a in range(nb):
        start = (a - nb if a >= nb // 2 else a) << k  # the bucket's first input
        end = start + (1 << k) - 1
        inner = [int(t) - start for t in th if start < t <= end]
        assert len(inner) <= 1
        base.append(int(np.count_nonzero(th <= end)))
        thr.append(inner[0] if inner else 0)
    rom = BucketRom(k, w, len(th), st.below // 16, tuple(base), tuple(thr))
    v = np.arange(fp.INT16_MIN, fp.INT16_MAX + 1)
    assert np.array_equal(rom(v), st(v)), "bucket decomposition differs from the table"
    return rom


def _all_same(bits):
    """Whether all bits of ``bits`` are equal (e.g. a signed value's sign extension)."""
    return bits.all() | ~bits.any()


def rne(v, k: int):
    """RNE_k of an Amaranth value (datapath.md §2) as one adder: v + 2^(k-1) - 1 + v[k]."""
    return (v + Cat(*([~v[k]] * (k - 1)), v[k])) >> k


def sat16(v):
    """(saturated int16 value, clipped flag) of a signed Amaranth value, from its top bits."""
    clipped = ~_all_same(v[15:])
    return Mux(clipped, Mux(v[-1], fp.INT16_MIN, fp.INT16_MAX), v[:16].as_signed()), clipped


def digit_mul(x, x3, d):
    """``d·x`` for ``d`` in 0..16 (5 bits), given ``x3 = 3·x``: one adder of two multiples."""
    lo, hi = d[0:2], d[2:5]
    m0 = Mux(lo[1], Mux(lo[0], x3, x << 1), Mux(lo[0], x, 0))
    m1 = Mux(hi[2], x << 2, Mux(hi[1], Mux(hi[0], x3, x << 1), Mux(hi[0], x, 0)))
    return m0 + (m1 << 2)


class _Lookup:
    """A :class:`BucketRom` in logic (asynchronous read: the caller registers the outputs)."""

    def __init__(self, m: Module, name: str, rom: BucketRom, triple: bool = False) -> None:
        self.rom = rom
        self.triple = triple
        vals = [rom.below16 + b for b in rom.base]
        self.vshape = signed(max(abs(rom.below16), abs(rom.below16 + rom.n)).bit_length() + 1)
        self.v3shape = signed(self.vshape.width + 2)
        fields = [
            (v & ((1 << self.vshape.width) - 1)) | (t << self.vshape.width)
            for v, t in zip(vals, rom.thr, strict=True)
        ]
        width = self.vshape.width + rom.k
        if triple:
            fields = [
                f | ((3 * v) & ((1 << self.v3shape.width) - 1)) << width
                for f, v in zip(fields, vals, strict=True)
            ]
            width += self.v3shape.width
        attrs = {"rom_style": "logic", "ram_style": "logic"}
        mem = memory.Memory(shape=unsigned(width), depth=len(fields), init=fields, attrs=attrs)
        m.submodules[name] = mem
        self.port = mem.read_port(domain="comb")

    def __call__(self, m: Module, x: Signal):
        """(value/16, 3·value/16 or None, thr, in window) of x (``lt = in window & f < thr``).

        ``thr`` is the ROM's raw output (a function of the address bits only), so a compare
        with it starts right after the ROM; the window qualifier is applied after it.
        """
        rom = self.rom
        nv = self.vshape.width
        m.d.comb += self.port.addr.eq(x[rom.k : rom.w])
        data = self.port.data
        inwin = _all_same(x[rom.w - 1 :])
        lo, hi = rom.below16, rom.below16 + rom.n
        val = Mux(inwin, data[:nv].as_signed(), Mux(x[-1], lo, hi))
        thr = data[nv : nv + rom.k]
        val3 = None
        if self.triple:
            val3 = Mux(inwin, data[nv + rom.k :].as_signed(), Mux(x[-1], 3 * lo, 3 * hi))
        return val, val3, thr, inwin


class Activation(wiring.Component):
    """The pipelined activation unit (see the module docstring).

    Latency: :data:`~edgedrnn.hw.pipeline.ACT_LATENCY` cycles from ``i_valid`` to
    ``o_valid``, one neuron per cycle, never stalls.

    Interface attributes
    --------------------
    i_valid : In(1)
        A neuron's inputs are valid.
    m_r, m_u, m_cx, m_ch : In(signed(24))
        Its four accumulators.
    h_prev : In(signed(16))
        Its previous output.
    o_valid : Out(1)
        ``o_h`` and ``o_overflow`` are valid.
    o_h : Out(signed(16))
        The new h.
    o_overflow : Out(1)
        An int16 narrowing of the neuron saturated.
    """

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
        sig_rom = bucket_rom(step_table(fp.sig_table()))
        tanh_rom = bucket_rom(step_table(fp.tanh_table()))
        sig_r = _Lookup(m, "sig_r", sig_rom)
        sig_u = _Lookup(m, "sig_u", sig_rom)
        tanh = _Lookup(m, "tanh", tanh_rom, triple=True)

        def reg(shape, name):
            return Signal(shape, name=name, reset_less=True)

        # S0 .. S5 hold a neuron (``valid``), S6 is the output register (``o_valid``)
        assert ACT_LATENCY == 7, "the stages S0 to S6 below"
        valid = delay(m, self.i_valid, ACT_LATENCY - 1, "v")

        # S0: RNE_7 of M_r, M_u, M_ch (18 bits: not yet saturated); M_cx + 64; 3·h_prev,
        # straight from the inputs (registers: the PE array's bank outputs, the scan's S2)
        xr0, xu0, xq0 = (reg(signed(18), n) for n in ("xr0", "xu0", "xq0"))
        cx0, hp0, hp3_0 = reg(signed(25), "cx0"), reg(signed(16), "hp0"), reg(signed(18), "hp3_0")
        m.d.sync += [
            xr0.eq(rne(self.m_r, 7)),
            xu0.eq(rne(self.m_u, 7)),
            xq0.eq(rne(self.m_ch, 7)),
            cx0.eq(self.m_cx + 64),
            hp0.eq(self.h_prev),
            hp3_0.eq(self.h_prev + (self.h_prev << 1)),
        ]

        # S1: SIG lookups (SIG(sat16(x)) = SIG of the unsaturated x); q = sat16(x_q), 3q
        r1, u1 = reg(unsigned(5), "r1"), reg(unsigned(5), "u1")
        ltr1, ltu1, ovf1 = reg(1, "ltr1"), reg(1, "ltu1"), reg(1, "ovf1")
        q1, q3_1 = reg(signed(16), "q1"), reg(signed(18), "q3_1")
        cx1, hp1, hp3_1 = reg(signed(25), "cx1"), reg(signed(16), "hp1"), reg(signed(18), "hp3_1")
        k_sig = sig_rom.k
        rv, _, rthr, rwin = sig_r(m, xr0)
        uv, _, uthr, uwin = sig_u(m, xu0)
        sq, cq = sat16(xq0)
        xq16 = xq0[:16].as_signed()
        sq3 = Mux(cq, Mux(xq0[-1], 3 * fp.INT16_MIN, 3 * fp.INT16_MAX), xq16 + (xq16 << 1))
        m.d.sync += [
            r1.eq(rv),
            u1.eq(uv),
            ltr1.eq(rwin & (xr0[:k_sig] < rthr)),
            ltu1.eq(uwin & (xu0[:k_sig] < uthr)),
            ovf1.eq(~_all_same(xr0[15:]) | ~_all_same(xu0[15:]) | cq),
            q1.eq(sq),
            q3_1.eq(sq3),
            cx1.eq(cx0),
            hp1.eq(hp0),
            hp3_1.eq(hp3_0),
        ]
        # r16 = r1 - ltr1, u16 = u1 - ltu1 (never formed)

        # S2: R·q; y' = M_cx + 64 - lt_r·8q; U·h_prev; v = 16 - u16
        rq2, uh2 = reg(signed(21), "rq2"), reg(signed(21), "uh2")
        y2 = reg(signed(26), "y2")
        v2, ltu2, hp2, ovf2 = (
            reg(unsigned(5), "v2"),
            reg(1, "ltu2"),
            reg(signed(16), "hp2"),
            reg(1, "ovf2"),
        )
        m.d.sync += [
            rq2.eq(digit_mul(q1, q3_1, r1)),
            y2.eq(cx1 - Mux(ltr1, q1 << 3, 0)),
            uh2.eq(digit_mul(hp1, hp3_1, u1)),
            v2.eq(Cat(ltu1, Const(0, 3), Const(1, 1)) - u1),
            ltu2.eq(ltu1),
            hp2.eq(hp1),
            ovf2.eq(ovf1),
        ]

        # S3: yy = 8·r16·q + M_cx + 64; uh = u16·h_prev
        yy3, uh3 = reg(signed(26), "yy3"), reg(signed(21), "uh3")
        v3, ovf3 = reg(unsigned(5), "v3"), reg(1, "ovf3")
        m.d.sync += [
            yy3.eq((rq2 << 3) + y2),
            uh3.eq(uh2 - Mux(ltu2, hp2, 0)),
            v3.eq(v2),
            ovf3.eq(ovf2),
        ]

        # S4: z = RNE_7(8·r16·q + M_cx) = (yy >> 7) with bit 0 cleared on a tie; TANH(z)
        k_t = tanh_rom.k
        z = yy3[7:].as_signed()  # before the tie fix (which changes bit 0 only)
        tie = ~yy3[:7].any()
        c4 = reg(tanh.vshape, "c4")
        c3_4 = reg(tanh.v3shape, "c3_4")
        thr4, f4 = reg(unsigned(k_t), "thr4"), reg(unsigned(k_t), "f4")
        b4, v4, ovf4 = reg(signed(18), "b4"), reg(unsigned(5), "v4"), reg(1, "ovf4")
        cv, cv3, cthr, cwin = tanh(m, z)
        m.d.sync += [
            c4.eq(cv),
            c3_4.eq(cv3),
            thr4.eq(Mux(cwin, cthr, 0)),
            f4.eq(Cat(z[0] & ~tie, z[1:k_t])),
            b4.eq(rne(uh3, 4)),
            v4.eq(v3),
            ovf4.eq(ovf3 | ~_all_same(z[15:])),
        ]

        # S5: a' = v·C, b' = b - lt_c·v  (a' + b' = v·c16 + RNE_4(u16·h_prev))
        a5, b5, ovf5 = reg(signed(11), "a5"), reg(signed(18), "b5"), reg(1, "ovf5")
        m.d.sync += [
            a5.eq(digit_mul(c4, c3_4, v4)),
            b5.eq(Mux(f4 < thr4, b4 - v4, b4)),  # compare and subtract side by side
            ovf5.eq(ovf4),
        ]

        # S6: h = sat16(a' + b')
        t = Signal(signed(19))
        m.d.comb += t.eq(a5 + b5)
        hs, ch = sat16(t)
        v5 = valid[-1]
        m.d.sync += [self.o_valid.eq(v5), self.o_h.eq(hs), self.o_overflow.eq(v5 & (ovf5 | ch))]
        return m
