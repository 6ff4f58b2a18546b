"""Weight fetch: an AXI4 read master that turns column requests into bursts.

A request is a column kind and index. Its byte address is ``bias_addr`` for the bias column and
``col_addr + index · stride`` otherwise (a shift-add multiplier of :func:`index_bits` ×
:func:`stride_bits` − log2(BB) bits, no DSP); it is ``bias_beats`` or ``col_beats`` bus words
long (layer constants, at least 1). The column is read with INCR bursts chosen greedily,
``len = min(left, 256, beats to the next 4 KiB boundary)`` (at most 256 beats, never crossing
4 KiB). AR requests are issued back to back (one burst per cycle while ``arready``), without
waiting for data, so any number of bursts can be outstanding; the number of columns in flight is
bounded by the requester (the top level's command FIFO). The R channel is not touched here: it
goes straight to the PE array, in order. ``error`` pulses on a non-OKAY ``rresp`` of an accepted
beat (combinational from the R inputs). ``idle`` (a register) is high when every accepted
request has issued all its ARs.

Addresses must be multiples of the bus width in bytes (the Program's layout guarantees it for
the offsets and COLUMN_STRIDE; WEIGHT_BASE must be aligned too, else STATUS.ERROR and nothing
runs): the low log2(BB) bits of ``bias_addr``, ``col_addr`` and ``stride`` are ignored, so
``araddr`` is always aligned. ``stride`` is sampled in the cycle a request is accepted, the
other layer constants one cycle later; the requester changes them only while ``idle`` is high
(the top level latches them in LSTART, after DRAIN waited for an idle datapath).

Pipeline (each row is the logic in front of a register stage: one carry chain and a few LUT
levels, ≥ 150 MHz on ECP5 speed 6)::

    req  ready = the skid register is empty (a register, no path from ``arready``). An accepted
         request goes to S1, or to the skid register when S1 is stalled (S1 takes it from there).
    S1   index, is-bias (the multiplier's operands); stride and 3·stride (in words) are
         registered every cycle
    S2   two partial products: radix-4 digits of the index select 0, s, 2s or 3s; the lower and
         the upper half of the digits each summed (3:2 + one carry chain); the base address
         (``col_addr`` or ``bias_addr``) and beats − 1 of the column's kind
    S3   the column in splitter form: word address = base + both partial products (3:2 + one
         chain), beats − 1, the first burst's candidate length − 1 (min(256, beats to the
         4 KiB boundary) − 1: inverted low address bits) and, on a 64-bit bus (512-beat pages),
         the beats from there to the boundary − 1
    C    the AR registers (araddr, arlen, arvalid). When C is free (empty or ``arready``) it
         takes the next burst from N if N holds a column, else the first burst of S3. The step
         (computed for both sources, selected after the chains) gives ``arlen`` from one
         subtraction, left − candidate − 1, whose sign also says whether the column goes on,
         and the rest of the column for N: address + length (one chain), that difference, and
         the next candidate from the page state (no arithmetic).
    N    the rest of the column being split (splitter form)

S1–S3 collapse bubbles (a stage loads when it is empty or moves on). The first ``arvalid``
comes :data:`LATENCY` cycles after the request handshake (no stalls). Throughput: one burst per
cycle while ``arready`` (a split column's bursts back to back, a one-burst column per cycle);
requests are accepted every cycle while the ARs keep up, else one per column's bursts (the skid
register costs a cycle after a stall).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .axi import BURST_INCR, AXI4ReadSignature
from .pe import KIND_BIAS, groups_max

REQ_LAYOUT = data.StructLayout({"index": unsigned(16), "kind": unsigned(2)})

#: Cycles from a request handshake to its first ``arvalid`` (no stalls): S1, S2, S3, C.
LATENCY = 4


def stride_bits(hw: HardwareConfig) -> int:
    """Bits of COLUMN_STRIDE the multiplier uses (enough for the largest padded column)."""
    return (3 * groups_max(hw) * hw.num_pe + hw.bus_bytes).bit_length()


def index_bits(hw: HardwareConfig) -> int:
    """Bits of a column index the multiplier uses (indices are < max_input + max_hidden)."""
    return min(16, (hw.max_input_size + hw.max_hidden_size - 1).bit_length())


class WeightFetch(wiring.Component):
    """Column requests in, AXI4 AR bursts out (see module docstring)."""

    def __init__(self, hw: HardwareConfig) -> None:
        self.hw = hw
        super().__init__(
            {
                "req": In(stream.Signature(REQ_LAYOUT)),
                "col_beats": In(16),
                "bias_beats": In(16),
                "bias_addr": In(32),
                "col_addr": In(32),
                "stride": In(32),
                "ar": Out(AXI4ReadSignature(32, hw.bus_bits)),
                "idle": Out(1),
                "error": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        hw = self.hw
        bb = hw.bus_bytes
        lg = bb.bit_length() - 1
        page = 4096 // bb  # beats in 4 KiB
        cmax = min(256, page)  # the longest burst: never crosses a multiple of it in a page
        lm = cmax.bit_length() - 1
        two = page == 2 * cmax  # 64-bit bus: 512-beat pages
        assert page in (cmax, 2 * cmax)
        aw = 32 - lg  # word address bits
        ar = self.ar
        req = self.req

        # Splitter form of (the rest of) a column: word address, beats left − 1, candidate
        # length − 1 (= min(256, beats to the 4 KiB boundary) − 1) and, with two candidates per
        # page, the beats to the boundary after this candidate − 1 (tm1 + 1 ≤ 2·cmax).
        fields = {"addr": unsigned(aw), "rm1": unsigned(16), "cm1": unsigned(lm)}
        if two:
            fields["tm1"] = unsigned(lm + 1)
        col = data.StructLayout(fields)

        # ------------------------------------------------ request skid + S1, S2, S3
        sk_v = Signal()
        sk_idx = Signal(16)
        sk_bias = Signal()
        v1 = Signal()
        idx1 = Signal(16)
        bias1 = Signal()
        ws = max(1, stride_bits(hw) - lg)
        st1 = Signal(ws)  # stride in words
        st3 = Signal(ws + 2)  # 3 · stride in words
        nd = (index_bits(hw) + 1) // 2  # radix-4 digits of the index
        h = (nd + 1) // 2  # digits in the lower partial product
        v2 = Signal()
        a2 = Signal(aw)  # base word address
        rm1_2 = Signal(16)  # beats − 1
        lo2 = Signal(ws + 2 * h)  # Σ_{k<h} digit_k · stride · 4^k
        hi2 = Signal(ws + 2 * (nd - h))  # Σ_{k≥h} digit_k · stride · 4^(k−h)
        v3 = Signal()
        s3 = Signal(col)
        # splitter: N (rest of the column) and C (the AR registers)
        nv = Signal()
        n = Signal(col)
        cv = Signal()
        c_addr = Signal(aw)
        c_len = Signal(8)
        idle = Signal(init=1)

        m.d.comb += [
            ar.araddr.eq(Cat(Const(0, lg), c_addr)),
            ar.arlen.eq(c_len),
            ar.arsize.eq(lg),
            ar.arburst.eq(BURST_INCR),
            ar.arvalid.eq(cv),
            req.ready.eq(~sk_v),
            self.idle.eq(idle),
            self.error.eq(ar.rvalid & ar.rready & (ar.rresp != 0)),
        ]

        # --- splitter step, computed for both sources (N if it holds a column, else S3) and
        # selected after the carry chains
        def step(src, tag):
            """(arlen, more, rest of the column) for the next burst of ``src``."""
            diff = Signal(17, name=f"diff_{tag}")  # rm1 − cm1 − 1 = left − candidate − 1
            m.d.comb += diff.eq((Cat(Const(0, 1), src.rm1) - Cat(Const(1, 1), src.cm1))[1:])
            more = Signal(name=f"more_{tag}")  # left > candidate: the column goes on
            length = Signal(8, name=f"len_{tag}")
            rest = Signal(col, name=f"rest_{tag}")
            m.d.comb += [
                more.eq(~diff[16]),
                length.eq(Mux(more, src.cm1, src.rm1[:8])),
                rest.addr.eq((Cat(Const(1, 1), src.addr) + Cat(Const(1, 1), src.cm1))[1:]),
                rest.rm1.eq(diff[:16]),
            ]
            if two:
                wide = src.tm1[lm]  # more than one candidate left in this page
                m.d.comb += [
                    rest.cm1.eq(Mux(wide, cmax - 1, src.tm1[:lm])),
                    rest.tm1.eq(Mux(wide, src.tm1[:lm], page - 1)),
                ]
            else:
                m.d.comb += rest.cm1.eq(cmax - 1)
            return length, more, rest

        len_n, more_n, rest_n = step(n, "n")
        len_3, more_3, rest_3 = step(s3, "s3")
        more = Mux(nv, more_n, more_3)

        c_free = ~cv | ar.arready
        src_v = nv | v3
        take = Signal()
        pop3, en3, en2, en1 = Signal(), Signal(), Signal(), Signal()
        acc = req.valid & ~sk_v
        m.d.comb += [
            take.eq(c_free & src_v),
            pop3.eq(take & ~nv),
            en3.eq(~v3 | pop3),
            en2.eq(~v2 | en3),
            en1.eq(~v1 | en2),
        ]
        with m.If(take):
            m.d.sync += [
                c_addr.eq(Mux(nv, n.addr, s3.addr)),
                c_len.eq(Mux(nv, len_n, len_3)),
                n.eq(Mux(nv, rest_n, rest_3)),
            ]

        # --- S3: column start from the product
        base = Signal(aw)
        m.d.comb += base.eq(a2 + lo2 + (hi2 << 2 * h))
        y = base[:lm]  # beats past the last multiple of cmax (beats to the boundary: cmax − y)
        with m.If(en3):
            m.d.sync += [
                s3.addr.eq(base),
                s3.rm1.eq(rm1_2),
            ]
            if two:
                hi = base[lm]  # in the page's second half: the boundary is < 256 beats away
                m.d.sync += [
                    s3.cm1.eq(Mux(hi, ~y, cmax - 1)),
                    s3.tm1.eq(Mux(hi, page - 1, ~y)),
                ]
            else:
                m.d.sync += s3.cm1.eq(~y)

        # --- S2: the product; S1: operands
        sw = self.stride[lg : stride_bits(hw)]
        m.d.sync += [st1.eq(sw), st3.eq(sw + (sw << 1))]

        def pp(k):
            d = idx1[2 * k : 2 * k + 2]
            p = (
                Mux(d[1], Mux(d[0], st3, st1 << 1), Mux(d[0], st1, 0))
                if len(d) == 2
                else Mux(d[0], st1, 0)
            )
            return Mux(bias1, 0, p)

        with m.If(en2):
            m.d.sync += [
                lo2.eq(sum(pp(k) << 2 * k for k in range(h))),
                hi2.eq(sum(pp(k) << 2 * (k - h) for k in range(h, nd))),
                a2.eq(Mux(bias1, self.bias_addr[lg:], self.col_addr[lg:])),
                rm1_2.eq(Mux(bias1, self.bias_beats, self.col_beats) - 1),
            ]
        with m.If(en1):
            m.d.sync += [
                idx1.eq(Mux(sk_v, sk_idx, req.payload.index)),
                bias1.eq(Mux(sk_v, sk_bias, req.payload.kind == KIND_BIAS)),
            ]
        with m.If(~sk_v):
            m.d.sync += [sk_idx.eq(req.payload.index), sk_bias.eq(req.payload.kind == KIND_BIAS)]

        # --- valid bits (next state named, so that idle is a register)
        sk_v_n, v1_n, v2_n, v3_n, nv_n, cv_n = (
            Signal(name=f"{s}_next") for s in ("sk_v", "v1", "v2", "v3", "nv", "cv")
        )
        m.d.comb += [
            sk_v_n.eq((sk_v | acc) & ~en1),
            v1_n.eq(Mux(en1, sk_v | acc, v1)),
            v2_n.eq(Mux(en2, v1, v2)),
            v3_n.eq(Mux(en3, v2, v3)),
            nv_n.eq(Mux(take, more, nv)),
            cv_n.eq(Mux(c_free, src_v, cv)),
        ]
        m.d.sync += [
            sk_v.eq(sk_v_n),
            v1.eq(v1_n),
            v2.eq(v2_n),
            v3.eq(v3_n),
            nv.eq(nv_n),
            cv.eq(cv_n),
            idle.eq(~(v1_n | v2_n | v3_n | cv_n)),  # sk_v implies v1, nv implies cv
        ]
        return m
