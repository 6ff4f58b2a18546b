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
``araddr`` is always aligned. The layer constants are sampled in the cycle a request is
accepted (with it, into S1 or the skid register), so consecutive requests may be of
different layers: the top level puts the constants of the request's context on the inputs
(docs/rtl.md, *Column contexts*).

Pipeline (each row is the logic in front of a register stage: one carry chain and a few LUT
levels, ≥ 150 MHz on ECP5 speed 6)::

    req  ready = the skid register is empty (a register, no path from ``arready``). An accepted
         request goes to S1, or to the skid register when S1 is stalled (S1 takes it from there).
    S1   index, is-bias (the multiplier's operands), stride and 3·stride (in words), the
         column's base address (``col_addr`` or ``bias_addr``) and beats, all of the request
    S2   two partial products: radix-4 digits of the index select 0, s, 2s or 3s; the lower and
         the upper half of the digits each summed (3:2 + one carry chain); the base address
         carried on, beats − 1
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
comes :data:`~edgedrnn.hw.pipeline.FETCH_LATENCY` cycles after the request handshake (no
stalls). Throughput: one burst per cycle while ``arready`` (a split column's bursts back to
back, a one-burst column per cycle); requests are accepted every cycle while the ARs keep up,
else one per column's bursts (the skid register costs a cycle after a stall).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import HardwareConfig
from .axi import BURST_INCR, AXI4ReadSignature
from .common import groups_max
from .pe import KIND_BIAS
from .pipeline import FETCH_LATENCY

#: A column request: index, kind and the column's context (not read here: the requester puts
#: the constants of the request's context on the inputs).
REQ_LAYOUT = data.StructLayout({"index": unsigned(16), "kind": unsigned(2), "ctx": unsigned(1)})


def stride_bits(hw: HardwareConfig) -> int:
    """Bits of COLUMN_STRIDE the multiplier uses (enough for the largest padded column: a
    sparse column of a sparse build is up to twice a dense one)."""
    per_row = 2 if hw.sparse_weights else 1
    return (3 * per_row * groups_max(hw) * hw.num_pe + hw.bus_bytes).bit_length()


def index_bits(hw: HardwareConfig) -> int:
    """Bits of a column index the multiplier uses (indices are < max_input + max_hidden)."""
    return min(16, (hw.max_input_size + hw.max_hidden_size - 1).bit_length())


class WeightFetch(wiring.Component):
    """Column requests in, AXI4 AR bursts out (see module docstring).

    Latency: a request accepted in cycle t has its first burst on ``ar`` (``arvalid``) in
    cycle t + :data:`~edgedrnn.hw.pipeline.FETCH_LATENCY` when nothing stalls.

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters (bus width, the multiplier's operand widths).

    Interface attributes
    --------------------
    req : In(stream.Signature(REQ_LAYOUT))
        Column requests (kind, index).
    col_beats, bias_beats : In(16)
        Bus words of a column and of the bias column (layer constants, ≥ 1; sampled with a
        request, as the next two).
    bias_addr, col_addr, stride : In(32)
        Byte addresses of the bias column and of column 0, and the column stride.
    ar : Out(AXI4ReadSignature(32, bus_bits))
        The AR channel (driven) and the R channel (watched for ``rresp`` only).
    idle : Out(1)
        Every accepted request has issued all its bursts (a register).
    error : Out(1)
        A non-OKAY ``rresp`` on an accepted beat.
    """

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
        f = SimpleNamespace()
        bb = hw.bus_bytes
        f.lg = lg = bb.bit_length() - 1
        f.page = page = 4096 // bb  # beats in 4 KiB
        f.cmax = cmax = min(256, page)  # the longest burst: never crosses a multiple of it
        f.lm = lm = cmax.bit_length() - 1
        f.two = two = page == 2 * cmax  # 64-bit bus: 512-beat pages
        assert page in (cmax, 2 * cmax)
        f.aw = aw = 32 - lg  # word address bits
        ar = self.ar
        req = self.req

        # Splitter form of (the rest of) a column: word address, beats left − 1, candidate
        # length − 1 (= min(256, beats to the 4 KiB boundary) − 1) and, with two candidates per
        # page, the beats to the boundary after this candidate − 1 (tm1 + 1 ≤ 2·cmax).
        fields = {"addr": unsigned(aw), "rm1": unsigned(16), "cm1": unsigned(lm)}
        if two:
            fields["tm1"] = unsigned(lm + 1)
        f.col = data.StructLayout(fields)

        # request skid + S1, S2, S3
        f.sk_v, f.sk_idx, f.sk_bias = Signal(), Signal(16), Signal()
        f.v1, f.idx1, f.bias1 = Signal(), Signal(16), Signal()
        f.ws = ws = max(1, stride_bits(hw) - lg)
        # the request's layer constants: stride (words), base word address, beats
        f.sk_st, f.sk_a, f.sk_beats = Signal(ws), Signal(aw), Signal(16)
        f.a1, f.beats1 = Signal(aw), Signal(16)
        f.nd = nd = (index_bits(hw) + 1) // 2  # radix-4 digits of the index
        f.h = h = (nd + 1) // 2  # digits in the lower partial product
        f.st1 = Signal(ws)  # stride in words
        f.st3 = Signal(ws + 2)  # 3 · stride in words
        f.v2 = Signal()
        f.a2 = Signal(aw)  # base word address
        f.rm1_2 = Signal(16)  # beats − 1
        f.lo2 = Signal(ws + 2 * h)  # Σ_{k<h} digit_k · stride · 4^k
        f.hi2 = Signal(ws + 2 * (nd - h))  # Σ_{k≥h} digit_k · stride · 4^(k−h)
        f.v3 = Signal()
        f.s3 = Signal(f.col)
        # splitter: N (rest of the column) and C (the AR registers)
        f.nv, f.n = Signal(), Signal(f.col)
        f.cv, f.c_addr, f.c_len = Signal(), Signal(aw), Signal(8)
        f.idle = Signal(init=1)
        f.pop3, f.en3, f.en2, f.en1 = Signal(), Signal(), Signal(), Signal()

        m.d.comb += [
            ar.araddr.eq(Cat(Const(0, lg), f.c_addr)),
            ar.arlen.eq(f.c_len),
            ar.arsize.eq(lg),
            ar.arburst.eq(BURST_INCR),
            ar.arvalid.eq(f.cv),
            req.ready.eq(~f.sk_v),
            self.idle.eq(f.idle),
            self.error.eq(ar.rvalid & ar.rready & (ar.rresp != 0)),
        ]
        # the register stages from a request to its first AR
        stages = [self._bursts, self._column_start, self._products, self._operands]  # C to S1
        assert len(stages) == FETCH_LATENCY
        for build in stages:
            build(m, f)
        self._valids(m, f)
        return m

    def _bursts(self, m: Module, f: SimpleNamespace) -> None:
        """C (the AR registers) and N (the rest of the column being split)."""
        cmax, lm, page, two = f.cmax, f.lm, f.page, f.two

        # the splitter step, computed for both sources (N if it holds a column, else S3) and
        # selected after the carry chains
        def step(src, tag):
            """(arlen, more, rest of the column) for the next burst of ``src``."""
            diff = Signal(17, name=f"diff_{tag}")  # rm1 − cm1 − 1 = left − candidate − 1
            m.d.comb += diff.eq((Cat(Const(0, 1), src.rm1) - Cat(Const(1, 1), src.cm1))[1:])
            more = Signal(name=f"more_{tag}")  # left > candidate: the column goes on
            length = Signal(8, name=f"len_{tag}")
            rest = Signal(f.col, name=f"rest_{tag}")
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

        len_n, more_n, rest_n = step(f.n, "n")
        len_3, more_3, rest_3 = step(f.s3, "s3")
        f.more = Mux(f.nv, more_n, more_3)

        f.c_free = ~f.cv | self.ar.arready
        f.src_v = f.nv | f.v3
        f.take = Signal()
        m.d.comb += [
            f.take.eq(f.c_free & f.src_v),
            f.pop3.eq(f.take & ~f.nv),
            f.en3.eq(~f.v3 | f.pop3),
            f.en2.eq(~f.v2 | f.en3),
            f.en1.eq(~f.v1 | f.en2),
        ]
        with m.If(f.take):
            m.d.sync += [
                f.c_addr.eq(Mux(f.nv, f.n.addr, f.s3.addr)),
                f.c_len.eq(Mux(f.nv, len_n, len_3)),
                f.n.eq(Mux(f.nv, rest_n, rest_3)),
            ]

    def _column_start(self, m: Module, f: SimpleNamespace) -> None:
        """S3: the column in splitter form, from the partial products (S2)."""
        cmax, lm, page = f.cmax, f.lm, f.page
        base = Signal(f.aw)
        m.d.comb += base.eq(f.a2 + f.lo2 + (f.hi2 << 2 * f.h))
        y = base[:lm]  # beats past the last multiple of cmax (beats to the boundary: cmax − y)
        with m.If(f.en3):
            m.d.sync += [f.s3.addr.eq(base), f.s3.rm1.eq(f.rm1_2)]
            if f.two:
                hi = base[lm]  # in the page's second half: the boundary is < 256 beats away
                m.d.sync += [
                    f.s3.cm1.eq(Mux(hi, ~y, cmax - 1)),
                    f.s3.tm1.eq(Mux(hi, page - 1, ~y)),
                ]
            else:
                m.d.sync += f.s3.cm1.eq(~y)

    def _products(self, m: Module, f: SimpleNamespace) -> None:
        """S2: the two partial products, the base address and beats − 1 of the column."""
        h = f.h

        def pp(k):
            d = f.idx1[2 * k : 2 * k + 2]
            p = (
                Mux(d[1], Mux(d[0], f.st3, f.st1 << 1), Mux(d[0], f.st1, 0))
                if len(d) == 2
                else Mux(d[0], f.st1, 0)
            )
            return Mux(f.bias1, 0, p)

        with m.If(f.en2):
            m.d.sync += [
                f.lo2.eq(sum(pp(k) << 2 * k for k in range(h))),
                f.hi2.eq(sum(pp(k) << 2 * (k - h) for k in range(h, f.nd))),
                f.a2.eq(f.a1),
                f.rm1_2.eq(f.beats1 - 1),
            ]

    def _operands(self, m: Module, f: SimpleNamespace) -> None:
        """S1: the index and is-bias (from the request or the skid register); the stride."""
        req, lg = self.req, f.lg
        # the layer constants of the request on ``req`` (sampled when it is accepted)
        bias_in = req.payload.kind == KIND_BIAS
        st_in = Signal(f.ws)
        a_in = Signal(f.aw)
        beats_in = Signal(16)
        m.d.comb += [
            st_in.eq(self.stride[lg : stride_bits(self.hw)]),
            a_in.eq(Mux(bias_in, self.bias_addr[lg:], self.col_addr[lg:])),
            beats_in.eq(Mux(bias_in, self.bias_beats, self.col_beats)),
        ]
        st = Mux(f.sk_v, f.sk_st, st_in)
        with m.If(f.en1):
            m.d.sync += [
                f.idx1.eq(Mux(f.sk_v, f.sk_idx, req.payload.index)),
                f.bias1.eq(Mux(f.sk_v, f.sk_bias, bias_in)),
                f.st1.eq(st),
                f.st3.eq(st + (st << 1)),
                f.a1.eq(Mux(f.sk_v, f.sk_a, a_in)),
                f.beats1.eq(Mux(f.sk_v, f.sk_beats, beats_in)),
            ]
        with m.If(~f.sk_v):
            m.d.sync += [
                f.sk_idx.eq(req.payload.index),
                f.sk_bias.eq(bias_in),
                f.sk_st.eq(st_in),
                f.sk_a.eq(a_in),
                f.sk_beats.eq(beats_in),
            ]

    def _valids(self, m: Module, f: SimpleNamespace) -> None:
        """The stages' valid bits (next state named, so that ``idle`` is a register)."""
        acc = self.req.valid & ~f.sk_v
        sk_v_n, v1_n, v2_n, v3_n, nv_n, cv_n = (
            Signal(name=f"{s}_next") for s in ("sk_v", "v1", "v2", "v3", "nv", "cv")
        )
        m.d.comb += [
            sk_v_n.eq((f.sk_v | acc) & ~f.en1),
            v1_n.eq(Mux(f.en1, f.sk_v | acc, f.v1)),
            v2_n.eq(Mux(f.en2, f.v1, f.v2)),
            v3_n.eq(Mux(f.en3, f.v2, f.v3)),
            nv_n.eq(Mux(f.take, f.more, f.nv)),
            cv_n.eq(Mux(f.c_free, f.src_v, f.cv)),
        ]
        m.d.sync += [
            f.sk_v.eq(sk_v_n),
            f.v1.eq(v1_n),
            f.v2.eq(v2_n),
            f.v3.eq(v3_n),
            f.nv.eq(nv_n),
            f.cv.eq(cv_n),
            f.idle.eq(~(v1_n | v2_n | v3_n | cv_n)),  # sk_v implies v1, nv implies cv
        ]
