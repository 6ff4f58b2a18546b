"""Numba kernels of the cpu backend (see :mod:`edgedrnn.backends.cpu` and docs/cpu-runtime.md).

Everything a kernel touches lives in a few flat arrays, so one Python → kernel call passes
five or six arguments (Numba's dispatch cost grows with the argument count):

* ``W``: all layers' weight columns, back to back; column ``k`` of layer ``l`` is
  ``W[w_off + k * stride : ... + 3H]``, int8 (exact) or float32 (float). Rows are ordered
  so that every column feeds one contiguous range of the banks, which are stored in the
  order M_cx, M_r, M_u, M_ch: an input column holds rows (n, r, u) and feeds ``acc[0:3H]``,
  a hidden column rows (r, u, n) and feeds ``acc[H:4H]``. In exact mode on a CPU with
  AVX-512 VNNI the bytes are stored as ``w XOR 0x80`` (that is, ``w + 128`` as uint8), the
  operand format of ``vpdpbusd``.
  A layer compiled with sparse weights (``meta`` ``M_SLOTS`` > 0) holds instead its
  columns' entries (:mod:`edgedrnn.sparse.image`) as int32 words ``bank position << 8 |
  value``, ``stride`` words per column; see :func:`_add_sparse`.
* ``aux``: per layer the bias column (4H, bank order) and, in exact mode, the largest
  ``|w|`` of each column (used to prove that a group of columns cannot saturate).
* ``meta``: int64 (L + 1, 16): sizes and offsets (see ``M_*`` below), row L global offsets.
* ``st``: int32 state of one stream: overflow flag, per-layer "bias sent" flags, thresholds,
  delta counts, x̂, ĥ, h, the four accumulator banks and the scratch lists of passed columns.
* ``sf``: float32 state (float mode only), laid out like ``st``.

Exact mode keeps the accumulators in int32: a product ``w · Δ`` needs 23 bits and a bank
saturates at ±(2^23 - 1). Passed columns are added in groups without clamping whenever
``max|M| + Σ |Δ_k| · max|w_k| <= 2^23 - 1`` (no partial sum can then reach the limit, so the
order of additions does not matter); otherwise the kernel re-measures ``max|M|`` and, if
saturation is still possible, adds that column on its own with saturation. Columns are
listed and added in the order of datapath.md §5: the passed hidden columns ascending, then
the passed input columns ascending, so the clamped ones see exactly the sums it prescribes.
"""

from __future__ import annotations

import llvmlite.ir as llvm_ir
import numpy as np
from numba import njit, types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic

from .. import fixedpoint as fp

# meta columns (per layer row)
M_I, M_H, M_STRIDE, M_WOFF, M_CMOFF, M_BOFF = 0, 1, 2, 3, 4, 5
M_XHAT, M_HHAT, M_HOFF, M_ACC, M_CACHE = 6, 7, 8, 9, 10
# sparse weight columns: entries per (gate, PE lane) (0: dense columns)
M_SLOTS = 11
# meta row L (global)
G_L, G_NZ, G_TX, G_TH, G_IDX, G_DL, G_BIAS, G_DM = 0, 1, 2, 3, 4, 5, 6, 7
G_KIND, G_GRP, G_BUF = 8, 9, 10
# st[0]: sticky overflow; st[1..6]: counters of the column paths taken (diagnostics and
# tests): max|M| re-measured (saturation possible), groups added with one / two delta
# digits (portable kernel: 16-bit / 32-bit groups), single columns without and with
# saturation, and partial 64-row blocks (VNNI kernel)
S_OVERFLOW, S_REFRESH, S_GROUP1, S_GROUP2, S_SINGLE, S_SAT, S_TAIL = 0, 1, 2, 3, 4, 5, 6
#: Words at the start of ``st`` (the flag and the counters above).
S_HEADER = 8
#: What a Session step kernel returns: it ran, or its input was not finite (nothing ran).
STEP_OK, STEP_NOT_FINITE = 0, 1
# G_KIND: the weight layout and column kernel of a CpuNet
KIND_PORTABLE, KIND_VNNI = 0, 1
#: Columns added in one register-resident pass of the VNNI kernel (4 quads of 4 columns).
GROUP = 16
#: Scratch words of a group: 16 column offsets, 4 low-digit and 4 high-digit words and the
#: correction.
GRP_WORDS = 32
GRP_LO, GRP_HI, GRP_CORR = 16, 20, 24
#: Largest delta whose base-256 digits (low in [-128, 127]) both fit int8.
DIGIT_MAX = 32639

ACC_MAX = fp.ACC_MAX


def _target_features() -> set[str]:
    """The CPU features Numba compiles for (``NUMBA_CPU_FEATURES`` or the host's)."""
    feats = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return {f[1:] for f in feats.split(",") if f.startswith("+")}


#: True when the compilation target has AVX-512 VNNI: the exact kernels then emit
#: ``vpdpbusd`` (4 int8 products summed into an int32 lane per instruction); elsewhere the
#: same intrinsics emit portable vector IR and the cpu backend picks the int16 kernel.
NATIVE_VNNI = {"avx512f", "avx512bw", "avx512vnni"} <= _target_features()


# ------------------------------------------------------------- int32 lane arithmetic
# Numba types int32 op int32 as int64, which halves the lanes per vector. These intrinsics
# keep the activation's arithmetic in int32 (all its intermediates fit, see below).
_LL_I8 = llvm_ir.IntType(8)
_LL_I16 = llvm_ir.IntType(16)
_LL_I32 = llvm_ir.IntType(32)
_LL_I64 = llvm_ir.IntType(64)


def _as_i32(builder, value, ty):
    if ty.bitwidth == 32:
        return value
    if ty.bitwidth > 32:
        return builder.trunc(value, _LL_I32)
    return builder.sext(value, _LL_I32) if ty.signed else builder.zext(value, _LL_I32)


def _i32_op(name: str, emit):
    """An int32 binary operation (arguments truncated or extended to int32)."""

    def typer(typingctx, a, b):
        if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            x = _as_i32(builder, args[0], sig.args[0])
            y = _as_i32(builder, args[1], sig.args[1])
            return emit(builder, x, y)

        return types.int32(a, b), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


_add = _i32_op("_add", lambda b, x, y: b.add(x, y))
_sub = _i32_op("_sub", lambda b, x, y: b.sub(x, y))
_mul = _i32_op("_mul", lambda b, x, y: b.mul(x, y))
_sra = _i32_op("_sra", lambda b, x, y: b.ashr(x, y))
_min = _i32_op("_min", lambda b, x, y: b.select(b.icmp_signed("<", x, y), x, y))
_max = _i32_op("_max", lambda b, x, y: b.select(b.icmp_signed(">", x, y), x, y))
_or = _i32_op("_or", lambda b, x, y: b.or_(x, y))
_and = _i32_op("_and", lambda b, x, y: b.and_(x, y))
_ne = _i32_op("_ne", lambda b, x, y: b.zext(b.icmp_signed("!=", x, y), _LL_I32))


@intrinsic
def _uindex(typingctx, a):
    """An int32 known to be >= 0 as uint64 (an array index without wraparound handling)."""
    if not isinstance(a, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.zext(_as_i32(builder, args[0], sig.args[0]), _LL_I64)

    return types.uint64(a), codegen


# ---------------------------------------------------------------------------- helpers
@njit(cache=True, nogil=True, inline="always")
def _rne32(a, k):
    """RNE_k (datapath.md §2) in int32 (callers guarantee that a + 2^(k-1) fits)."""
    return _sra(_add(_add(a, (1 << (k - 1)) - 1), _and(_sra(a, k), 1)), k)


@njit(cache=True, nogil=True, inline="always")
def _sat16(a):
    return _min(_max(a, -32768), 32767)


@njit(cache=True, nogil=True, inline="always")
def _sat_acc(v):
    """An accumulator sum saturated to ±ACC_MAX, and 1 if it clipped (datapath.md §5)."""
    if v > ACC_MAX:
        return ACC_MAX, 1
    if v < -ACC_MAX:
        return -ACC_MAX, 1
    return v, 0


@njit(cache=True, nogil=True)
def _maxabs(a):
    """max |a[i]| of int32 values within ±2^23 (the banks), as int64."""
    m = np.int32(0)
    for i in range(a.shape[0]):
        v = a[i]
        m = _max(m, _max(v, _sub(0, v)))
    return np.int64(m)


@njit(cache=True, nogil=True, inline="always")
def _column_bound(idx, dl, cm, g):
    """How far passed column ``g`` can move any accumulator: |Δ| times its largest |w|."""
    return abs(np.int64(dl[g])) * cm[idx[g]]


@njit(cache=True, nogil=True, inline="always")
def _quad_bound(idx, dl, cm, g):
    """:func:`_column_bound` of the four passed columns g .. g + 3 together."""
    return (
        _column_bound(idx, dl, cm, g)
        + _column_bound(idx, dl, cm, g + 1)
        + _column_bound(idx, dl, cm, g + 2)
        + _column_bound(idx, dl, cm, g + 3)
    )


@njit(cache=True, nogil=True, inline="always")
def _refresh(bound, c, banks, stats):
    """``bound`` of max|banks|, measured anew when adding ``c`` to it would pass ACC_MAX."""
    if bound + c > ACC_MAX:
        stats[S_REFRESH] += 1
        return _maxabs(banks)
    return bound


# ------------------------------------------------------------------------ activation
# SIG and TANH (datapath.md §6) are odd-symmetric step functions: SIG(-v) = 256 - SIG(v),
# TANH(-v) = -TANH(v), and both are constant from |v| = 880 on. So a 1024-entry table of
# |v| (4 kB each, L1-resident; a vector gather in the hot loop) gives them exactly. The
# tables are cut from fixedpoint's 65,536-entry ones, and the whole functions are checked
# against those when the backend is first used (and in the tests).
_ACT_TABLE = 1024
SIG_POS = fp.sig_table()[32768 : 32768 + _ACT_TABLE].astype(np.int32)
TANH_POS = fp.tanh_table()[32768 : 32768 + _ACT_TABLE].astype(np.int32)


@njit(cache=True, nogil=True, inline="always")
def _sig(v):
    a = _min(_max(v, _sub(0, v)), _ACT_TABLE - 1)
    s = SIG_POS[_uindex(a)]
    return s if v >= 0 else _sub(256, s)


@njit(cache=True, nogil=True, inline="always")
def _tanh(v):
    a = _min(_max(v, _sub(0, v)), _ACT_TABLE - 1)
    s = TANH_POS[_uindex(a)]
    return s if v >= 0 else _sub(0, s)


@njit(cache=True, nogil=True)
def activation_functions(sig_out, tanh_out):
    """SIG and TANH of the kernels for all 65,536 int16 inputs (index v + 32768)."""
    for i in range(65536):
        v = np.int32(i - 32768)
        sig_out[i] = _sig(v)
        tanh_out[i] = _tanh(v)


@njit(cache=True, nogil=True)
def _activate_exact(acc, h, H, cache):
    """datapath.md §5 activation for all H neurons; updates h in place; returns ov.

    Banks in ``acc`` order: M_cx, M_r, M_u, M_ch. All intermediates fit int32 (|M| < 2^23,
    r·q + 2·M_cx < 2^25, u·h < 2^24), so the loop runs in 32-bit lanes. ``cache`` (2H)
    receives RNE_8((256 - u)·c) and u, which depend on the banks only: a later step that
    changes no bank reuses them (:func:`_update_h_only`).
    """
    ov = np.int32(0)
    ax = acc[0:H]
    ar = acc[H : 2 * H]
    au = acc[2 * H : 3 * H]
    ah = acc[3 * H : 4 * H]
    for i in range(H):
        vr = _rne32(ar[i], 7)
        vu = _rne32(au[i], 7)
        vq = _rne32(ah[i], 7)
        sr = _sat16(vr)
        su = _sat16(vu)
        q = _sat16(vq)
        r = _sig(sr)
        u = _sig(su)
        vs = _rne32(_add(_mul(r, q), _mul(2, ax[i])), 8)
        s = _sat16(vs)
        c = _tanh(s)
        p = _rne32(_mul(_sub(256, u), c), 8)
        vh = _add(p, _rne32(_mul(u, h[i]), 8))
        hn = _sat16(vh)
        bad = _or(_or(_ne(vr, sr), _ne(vu, su)), _or(_or(_ne(vq, q), _ne(vs, s)), _ne(vh, hn)))
        ov = _or(ov, bad)
        h[i] = hn
        cache[i] = p
        cache[H + i] = u
    return ov


@njit(cache=True, nogil=True)
def _update_h_only(h, H, cache):
    """Activation of a step that changed no bank: the gates are those of the last step.

    Exact: r, u, q, s and c are functions of the unchanged banks, and any saturation among
    them already set the sticky flag when they were computed; only h moves.
    """
    ov = np.int32(0)
    for i in range(H):
        vh = _add(cache[i], _rne32(_mul(cache[H + i], h[i]), 8))
        hn = _sat16(vh)
        ov = _or(ov, _ne(vh, hn))
        h[i] = hn
    return ov


# --------------------------------------------------------------- columns: VNNI kernel
# A group of up to 16 passed columns is added in one pass over the rows, 64 rows at a
# time, with the 64 int32 accumulators held in four vector registers. Per quad of columns
# the four 64-byte weight blocks are transposed so that each int32 lane holds one row's
# four weights, and ``vpdpbusd`` (uint8 × int8, four products summed into each int32
# lane, wrapping) multiplies them with the quad's four delta digits:
#
#   weights are stored as u = w + 128 (uint8), deltas split as Δ = lo + 256·hi with lo, hi
#   int8, so  Σ_k w_k·Δ_k = Σ_k u_k·lo_k + 256·Σ_k u_k·hi_k − 128·Σ_k Δ_k.
#
# The last term is the same for every row (``corr``); the high-digit pass is emitted only
# for groups with some |Δ| > 127 ("two digits"). All of this is exact in wrapping int32
# arithmetic, and the stored banks are the true sums (the caller has proved that no bank
# can saturate in the group).
_V64I8 = llvm_ir.VectorType(_LL_I8, 64)
_V32I16 = llvm_ir.VectorType(_LL_I16, 32)
_V16I32 = llvm_ir.VectorType(_LL_I32, 16)


def _mask(values):
    """A constant shuffle mask."""
    values = list(values)
    return llvm_ir.Constant(llvm_ir.VectorType(_LL_I32, len(values)), values)


# The transposition uses in-lane unpacks (cheaper than cross-lane permutes): bytes, then
# 16-bit pairs, of two vectors interleaved within each 128-bit lane. For the four int32
# outputs to hold rows 0..15, 16..31, 32..47, 48..63 in order, the VNNI layout stores row r
# of each 64-row block at byte ``ROW_POS[r]`` (see :func:`vnni_row_position`).


def _unpack(n_lane, half, width):
    """Mask of an in-lane unpack (low or high half) of two vectors of ``width`` elements."""
    return _mask(
        x
        for lane in range(0, width, n_lane)
        for j in range(half * n_lane // 2, (half + 1) * n_lane // 2)
        for x in (lane + j, width + lane + j)
    )


_PAIR_LO, _PAIR_HI = _unpack(16, 0, 64), _unpack(16, 1, 64)  # bytes, 16 per lane
_QUAD_LO, _QUAD_HI = _unpack(8, 0, 32), _unpack(8, 1, 32)  # 16-bit pairs, 8 per lane


def vnni_row_position(r):
    """Byte position of row ``r`` (0..63) within a 64-row block of the VNNI layout.

    Row bits (a, b, l1, l0, i1, i0) go to position bits (l1, l0, a, b, i1, i0): the unpacks
    of :func:`_transpose4` then deliver rows in ascending order.
    """
    return ((r >> 2) & 3) << 4 | (r >> 5) << 3 | ((r >> 4) & 1) << 2 | (r & 3)


def _transpose4(builder, blocks):
    """Four 64-byte column blocks → four vectors whose int32 lane r holds the 4 weights."""
    a, b, c, d = blocks
    out = []
    for sel in (_PAIR_LO, _PAIR_HI):
        ab = builder.bitcast(builder.shuffle_vector(a, b, sel), _V32I16)
        cd = builder.bitcast(builder.shuffle_vector(c, d, sel), _V32I16)
        for quad in (_QUAD_LO, _QUAD_HI):
            out.append(builder.bitcast(builder.shuffle_vector(ab, cd, quad), _V64I8))
    return out


_EIGHT = llvm_ir.Constant(_V16I32, [8] * 16)


def _splat32(builder, value):
    undef = llvm_ir.Constant(_V16I32, llvm_ir.Undefined)
    v = builder.insert_element(undef, value, llvm_ir.Constant(_LL_I32, 0))
    return builder.shuffle_vector(v, undef, _mask([0] * 16))


def _dpbusd(builder, acc, u8, s8, native):
    """acc[i] + Σ_{k<4} u8[4i+k]·s8[4i+k] (wrapping): ``vpdpbusd`` or portable vector IR."""
    if native:
        fnty = llvm_ir.FunctionType(_V16I32, [_V16I32, _V64I8, _V64I8])
        fn = builder.module.declare_intrinsic("llvm.x86.avx512.vpdpbusd.512", fnty=fnty)
        return builder.call(fn, [acc, u8, s8])
    undef = llvm_ir.Constant(_V64I8, llvm_ir.Undefined)
    for k in range(4):  # byte k of every int32 lane
        sel = _mask(range(k, 64, 4))
        a = builder.zext(builder.shuffle_vector(u8, undef, sel), _V16I32)
        b = builder.sext(builder.shuffle_vector(s8, undef, sel), _V16I32)
        acc = builder.add(acc, builder.mul(a, b))
    return acc


def _group_kernel(nq: int, two: bool, native: bool):
    """Intrinsic ``(W, grp, acc, a_off, row0, nblocks)``: add ``4·nq`` columns to the banks.

    ``grp`` (int32): byte offsets of the columns in ``W`` (row 0), the packed low and high
    delta digits of each quad, and the correction (see ``GRP_*``). Rows ``row0 + 64·i ..``
    of every column are added to ``acc[a_off + 64·i ..]`` for i < nblocks.
    """

    def typer(typingctx, W, grp, acc, a_off, row0, nblocks):
        sig = types.void(W, grp, acc, a_off, row0, nblocks)

        def codegen(context, builder, signature, args):
            w_arr, g_arr, a_arr, a_off, row0, nblocks = args
            wp = context.make_array(signature.args[0])(context, builder, value=w_arr).data
            gp = context.make_array(signature.args[1])(context, builder, value=g_arr).data
            ap = context.make_array(signature.args[2])(context, builder, value=a_arr).data

            def word(k):
                return builder.load(builder.gep(gp, [llvm_ir.Constant(_LL_I64, k)]))

            offs = [builder.add(builder.sext(word(k), _LL_I64), row0) for k in range(4 * nq)]
            lo = [builder.bitcast(_splat32(builder, word(GRP_LO + q)), _V64I8) for q in range(nq)]
            hi = [builder.bitcast(_splat32(builder, word(GRP_HI + q)), _V64I8) for q in range(nq)]
            corr = _splat32(builder, word(GRP_CORR))
            base = builder.gep(ap, [a_off])
            zero = llvm_ir.Constant(_V16I32, None)
            with cgutils.for_range(builder, nblocks) as loop:
                r = builder.mul(loop.index, llvm_ir.Constant(_LL_I64, 64))
                ptrs = [
                    builder.bitcast(
                        builder.gep(base, [builder.add(r, llvm_ir.Constant(_LL_I64, 16 * q))]),
                        _V16I32.as_pointer(),
                    )
                    for q in range(4)
                ]
                acc = [builder.load(p, align=4) for p in ptrs]
                acc_hi = [zero] * 4
                for qd in range(nq):
                    blocks = [
                        builder.load(
                            builder.bitcast(
                                builder.gep(wp, [builder.add(offs[4 * qd + k], r)]),
                                _V64I8.as_pointer(),
                            ),
                            align=1,
                        )
                        for k in range(4)
                    ]
                    for q, t in enumerate(_transpose4(builder, blocks)):
                        acc[q] = _dpbusd(builder, acc[q], t, lo[qd], native)
                        if two:
                            acc_hi[q] = _dpbusd(builder, acc_hi[q], t, hi[qd], native)
                for q in range(4):
                    v = acc[q]
                    if two:
                        v = builder.add(
                            v, builder.shl(acc_hi[q], llvm_ir.Constant(_V16I32, [8] * 16))
                        )
                    builder.store(builder.add(v, corr), ptrs[q], align=4)
            return context.get_dummy_value()

        return sig, codegen

    name = f"_group{nq}x{2 if two else 1}"
    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


_G1A, _G2A, _G3A, _G4A = (_group_kernel(q, False, NATIVE_VNNI) for q in (1, 2, 3, 4))
_G1B, _G2B, _G3B, _G4B = (_group_kernel(q, True, NATIVE_VNNI) for q in (1, 2, 3, 4))


@njit(cache=True, nogil=True)
def _group_blocks(W, grp, acc, a_off, row0, nblocks, nq, two):
    if two:
        if nq == 4:
            _G4B(W, grp, acc, a_off, row0, nblocks)
        elif nq == 3:
            _G3B(W, grp, acc, a_off, row0, nblocks)
        elif nq == 2:
            _G2B(W, grp, acc, a_off, row0, nblocks)
        else:
            _G1B(W, grp, acc, a_off, row0, nblocks)
    elif nq == 4:
        _G4A(W, grp, acc, a_off, row0, nblocks)
    elif nq == 3:
        _G3A(W, grp, acc, a_off, row0, nblocks)
    elif nq == 2:
        _G2A(W, grp, acc, a_off, row0, nblocks)
    else:
        _G1A(W, grp, acc, a_off, row0, nblocks)


@njit(cache=True, nogil=True)
def _add_group(W, grp, acc, a0, n, nq, two, buf, stats):
    """The group in ``grp`` into ``acc[a0 : a0 + n]``; a last partial block goes via ``buf``.

    Weight blocks may be read past row n: a column's stride is a multiple of 64 bytes.
    """
    nb = n // 64
    if nb > 0:
        _group_blocks(W, grp, acc, a0, 0, nb, nq, two)
    rem = n - 64 * nb
    if rem > 0:
        stats[S_TAIL] += 1
        t0 = a0 + 64 * nb
        for i in range(rem):
            buf[i] = acc[t0 + i]
        _group_blocks(W, grp, buf, 0, 64 * nb, 1, nq, two)
        for i in range(rem):
            acc[t0 + i] = buf[i]


_vnni_pos = njit(cache=True, nogil=True, inline="always")(vnni_row_position)


@njit(cache=True, nogil=True)
def _madd1_vnni(W, o0, d0, dst, n):
    """dst[i] += w[i]·d0 for one column of the VNNI layout (no saturation possible)."""
    for i in range(n):
        w = W[o0 + (i & ~63) + _vnni_pos(i & 63)] ^ np.int8(-128)
        dst[i] += np.int32(w) * d0


@njit(cache=True, nogil=True)
def _madd1_sat_vnni(W, o0, d0, dst, n):
    """One column of the VNNI layout with saturation; returns 1 if anything clipped."""
    ov = 0
    for i in range(n):
        w = W[o0 + (i & ~63) + _vnni_pos(i & 63)] ^ np.int8(-128)
        dst[i], c = _sat_acc(np.int64(dst[i]) + np.int64(w) * d0)
        ov |= c
    return ov


@njit(cache=True, nogil=True)
def _add_columns_vnni(
    W, w_off, stride, cm, acc, a0, n, idx, dl, start, end, bound, grp, buf, stats
):
    """Add the passed columns idx[start:end] (deltas dl) to ``acc[a0 : a0 + n]``, in order.

    Groups of up to 16 columns go through the VNNI kernel when they provably cannot
    saturate (``bound`` is an upper bound of max|acc|); a column that could is added on its
    own with saturation. Counts the paths in ``stats`` (``S_*``). Returns (bound, ov).
    """
    ov = 0
    g = start
    dst = acc[a0 : a0 + n]
    digits = grp.view(np.int8)  # byte k of word GRP_LO + k // 4: the low digit of column k
    lo0, hi0 = 4 * GRP_LO, 4 * GRP_HI
    while g < end:
        m = min(GROUP, end - g)
        for q in range(4):
            grp[GRP_LO + q] = 0
            grp[GRP_HI + q] = 0
        # offsets and digits of the longest prefix whose deltas have int8 digits
        c = 0
        dsum = 0
        two = 0
        k = 0
        while k < m:
            d = np.int32(dl[g + k])
            if d > DIGIT_MAX:
                break
            j = idx[g + k]
            lo = ((d + 128) & 255) - 128
            hi = (d - lo) >> 8
            grp[k] = w_off + j * stride
            digits[lo0 + k] = lo
            digits[hi0 + k] = hi
            two |= hi
            c += _column_bound(idx, dl, cm, g + k)
            dsum += d
            k += 1
        bound = _refresh(bound, c, acc, stats)
        if bound + c > ACC_MAX:  # keep the prefix that provably cannot saturate
            c = 0
            dsum = 0
            two = 0
            kk = 0
            while kk < k:
                ck = _column_bound(idx, dl, cm, g + kk)
                if bound + c + ck > ACC_MAX:
                    break
                c += ck
                dsum += dl[g + kk]
                two |= digits[hi0 + kk]
                kk += 1
            for t in range(kk, k):
                digits[lo0 + t] = 0
                digits[hi0 + t] = 0
            k = kk
        if k == 0:  # one column on its own (|Δ| too large for digits, or it may saturate)
            j0 = idx[g]
            d0 = np.int32(dl[g])
            c0 = _column_bound(idx, dl, cm, g)
            o0 = w_off + j0 * stride
            if bound + c0 <= ACC_MAX:
                _madd1_vnni(W, o0, d0, dst, n)
                bound += c0
                stats[S_SINGLE] += 1
            else:
                ov |= _madd1_sat_vnni(W, o0, d0, dst, n)
                bound = min(bound + c0, ACC_MAX)
                stats[S_SAT] += 1
            g += 1
            continue
        nq = (k + 3) // 4
        for t in range(k, 4 * nq):  # pad the last quad: any column, digit 0
            grp[t] = grp[0]
        grp[GRP_CORR] = np.int32(-128 * dsum)
        _add_group(W, grp, acc, a0, n, nq, two != 0, buf, stats)
        stats[S_GROUP2 if two != 0 else S_GROUP1] += 1
        bound += c
        g += k
    return bound, ov


# ---------------------------------------------------------- columns: portable kernel
@njit(cache=True, nogil=True)
def _madd1(W, o0, d0, dst, n):
    w0 = W[o0 : o0 + n]
    for i in range(n):
        dst[i] += np.int32(w0[i]) * d0


@njit(cache=True, nogil=True)
def _madd1_sat(W, o0, d0, dst, n):
    """One column with saturation after the addition; returns 1 if anything clipped."""
    w0 = W[o0 : o0 + n]
    ov = 0
    for i in range(n):
        dst[i], c = _sat_acc(np.int64(dst[i]) + np.int64(w0[i]) * d0)
        ov |= c
    return ov


@njit(cache=True, nogil=True)
def _madd4(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n):
    """dst[i] += W[o0+i]*d0 + ... + W[o3+i]*d3 (int32, caller proved no saturation)."""
    w0 = W[o0 : o0 + n]
    w1 = W[o1 : o1 + n]
    w2 = W[o2 : o2 + n]
    w3 = W[o3 : o3 + n]
    for i in range(n):
        dst[i] += (
            np.int32(w0[i]) * d0
            + np.int32(w1[i]) * d1
            + np.int32(w2[i]) * d2
            + np.int32(w3[i]) * d3
        )


@intrinsic
def _mac4_i16(typingctx, w0, d0, w1, d1, w2, d2, w3, d3):
    """w0·d0 + w1·d1 + w2·d2 + w3·d3 in 16-bit arithmetic, sign-extended to int32.

    Numba types int8 × int16 as int64; this keeps the products in int16 lanes so that the
    loop vectorises to 32 rows per AVX-512 multiply. Exact only when the caller has proved
    Σ|w_k|·|d_k| <= 32767 (no 16-bit partial result can wrap).
    """
    sig = types.int32(
        types.int8, types.int16, types.int8, types.int16,
        types.int8, types.int16, types.int8, types.int16,
    )  # fmt: skip

    def codegen(context, builder, signature, args):
        total = None
        for k in range(4):
            p = builder.mul(builder.sext(args[2 * k], _LL_I16), args[2 * k + 1])
            total = p if total is None else builder.add(total, p)
        return builder.sext(total, _LL_I32)

    return sig, codegen


@njit(cache=True, nogil=True)
def _madd4_i16(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n):
    """Like :func:`_madd4` for groups with Σ|Δk|·max|w_k| <= 32767 (16-bit products)."""
    w0 = W[o0 : o0 + n]
    w1 = W[o1 : o1 + n]
    w2 = W[o2 : o2 + n]
    w3 = W[o3 : o3 + n]
    e0, e1, e2, e3 = np.int16(d0), np.int16(d1), np.int16(d2), np.int16(d3)
    for i in range(n):
        dst[i] += _mac4_i16(w0[i], e0, w1[i], e1, w2[i], e2, w3[i], e3)


@njit(cache=True, nogil=True)
def _add_columns(W, w_off, stride, cm, acc, a0, n, idx, dl, start, end, bound, stats):
    """Portable kernel: the passed columns idx[start:end] into ``acc[a0 : a0 + n]``, in order.

    Four columns at a time (16-bit products when Σ|Δk|·max|w_k| <= 32767, else 32-bit)
    when they provably cannot saturate, else one column with saturation. Counts the paths
    in ``stats`` (``S_*``). Returns (bound, ov).
    """
    ov = 0
    g = start
    dst = acc[a0 : a0 + n]
    while g < end:
        if g + 4 <= end:
            j0, j1, j2, j3 = idx[g], idx[g + 1], idx[g + 2], idx[g + 3]
            d0, d1, d2, d3 = dl[g], dl[g + 1], dl[g + 2], dl[g + 3]
            c = _quad_bound(idx, dl, cm, g)
            bound = _refresh(bound, c, acc, stats)
            if bound + c <= ACC_MAX:
                o0 = w_off + j0 * stride
                o1 = w_off + j1 * stride
                o2 = w_off + j2 * stride
                o3 = w_off + j3 * stride
                if c <= 32767:  # every row's group sum fits 16 bits
                    _madd4_i16(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n)
                    stats[S_GROUP1] += 1
                else:
                    _madd4(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n)
                    stats[S_GROUP2] += 1
                bound += c
                g += 4
                continue
        # one column on its own
        j0 = idx[g]
        d0 = np.int32(dl[g])
        c = _column_bound(idx, dl, cm, g)
        o0 = w_off + j0 * stride
        bound = _refresh(bound, c, acc, stats)
        if bound + c <= ACC_MAX:
            _madd1(W, o0, d0, dst, n)
            bound += c
            stats[S_SINGLE] += 1
        else:
            ov |= _madd1_sat(W, o0, d0, dst, n)
            bound = min(bound + c, ACC_MAX)
            stats[S_SAT] += 1
        g += 1
    return bound, ov


# ------------------------------------------------------------ columns: sparse images
# A sparse column (docs/program-format.md, *Sparse weight image*) holds, per gate and slot,
# one (int8 value, uint8 row index) entry per PE lane. The CpuNet turns each entry into one
# int32 word, ``bank position << 8 | value byte``: the position in the layer's 4H banks
# (order cx, r, u, ch) of the row the entry names, so an entry costs one load and one
# read-modify-write. Empty entries (value 0) name a padding word past the banks (never read
# by the activation), so the entries of one column name distinct words apart from those,
# which all add 0: a column saturates row by row exactly as the dense column does. Columns
# are padded with empty entries to a multiple of 16 (one vector).

#: int32 words of padding after a sparse layer's banks (the empty entries' target).
SPARSE_PAD = 16

_shl = _i32_op("_shl", lambda b, x, y: b.shl(x, y))
_V16I1 = llvm_ir.VectorType(llvm_ir.IntType(1), 16)
_V16P = llvm_ir.VectorType(_LL_I32.as_pointer(), 16)


def _splat64(builder, value):
    v64 = llvm_ir.VectorType(_LL_I64, 16)
    undef = llvm_ir.Constant(v64, llvm_ir.Undefined)
    v = builder.insert_element(undef, value, llvm_ir.Constant(_LL_I32, 0))
    return builder.shuffle_vector(v, undef, _mask([0] * 16))


def _sparse_vector_kernel(native: bool):
    """Intrinsic ``(W32, o, nvec, acc, d)``: add the column of ``16·nvec`` entries at
    ``W32[o:]`` times ``d`` to ``acc`` (wrapping int32; the caller proved no saturation).

    With AVX-512 (``native``) every 16 entries are one masked gather of the bank words, a
    vector multiply-add and one masked scatter; the empty entries that share the padding
    word all store its unchanged value. Elsewhere the same loop is emitted entry by entry.
    """

    def typer(typingctx, W32, o, nvec, acc, d):
        sig = types.void(W32, o, nvec, acc, d)

        def codegen(context, builder, signature, args):
            w_arr, o, nvec, a_arr, d = args
            wp = context.make_array(signature.args[0])(context, builder, value=w_arr).data
            ap = context.make_array(signature.args[3])(context, builder, value=a_arr).data
            dd = _as_i32(builder, d, signature.args[4])
            ds = _splat32(builder, dd)
            c8 = llvm_ir.Constant(_V16I32, [8] * 16)
            c24 = llvm_ir.Constant(_V16I32, [24] * 16)
            ones = llvm_ir.Constant(_V16I1, [1] * 16)
            if native:
                gty = llvm_ir.FunctionType(_V16I32, [_V16P, _LL_I32, _V16I1, _V16I32])
                sty = llvm_ir.FunctionType(llvm_ir.VoidType(), [_V16I32, _V16P, _LL_I32, _V16I1])
                gather = cgutils.get_or_insert_function(
                    builder.module, gty, "llvm.masked.gather.v16i32.v16p0"
                )
                scatter = cgutils.get_or_insert_function(
                    builder.module, sty, "llvm.masked.scatter.v16i32.v16p0"
                )
            with cgutils.for_range(builder, nvec) as loop:
                off = builder.add(o, builder.mul(loop.index, llvm_ir.Constant(_LL_I64, 16)))
                x = builder.load(
                    builder.bitcast(builder.gep(wp, [off]), _V16I32.as_pointer()), align=4
                )
                v = builder.ashr(builder.shl(x, c24), c24)
                pos = builder.ashr(x, c8)
                prod = builder.mul(v, ds)
                if native:
                    v64 = llvm_ir.VectorType(_LL_I64, 16)
                    addr = builder.add(
                        builder.bitcast(_splat64(builder, builder.ptrtoint(ap, _LL_I64)), v64),
                        builder.shl(builder.sext(pos, v64), llvm_ir.Constant(v64, [2] * 16)),
                    )
                    ptrs = builder.inttoptr(addr, _V16P)
                    four = llvm_ir.Constant(_LL_I32, 4)
                    old = builder.call(gather, [ptrs, four, ones, llvm_ir.Constant(_V16I32, None)])
                    builder.call(scatter, [builder.add(old, prod), ptrs, four, ones])
                else:
                    for lane in range(16):
                        li = llvm_ir.Constant(_LL_I32, lane)
                        pp = builder.gep(ap, [builder.extract_element(pos, li)])
                        builder.store(
                            builder.add(builder.load(pp), builder.extract_element(prod, li)), pp
                        )
            return context.get_dummy_value()

        return sig, codegen

    typer.__name__ = typer.__qualname__ = f"_sparse_vector{'_native' if native else ''}"
    return intrinsic(typer)


_SPARSE_VECTOR = _sparse_vector_kernel(NATIVE_VNNI)


@njit(cache=True, nogil=True, inline="always")
def _sparse_entry(x, d):
    """(bank position, value·d) of one sparse entry word."""
    return _uindex(_sra(x, 8)), _mul(_sra(_shl(x, 24), 24), d)


@njit(cache=True, nogil=True)
def _sparse_add4(W32, o0, o1, o2, o3, E, d0, d1, d2, d3, acc):
    """Four sparse columns of E entries, entry by entry interleaved (portable kernel; a row
    that two of them share gets both additions, in order)."""
    for e in range(E):
        p0, v0 = _sparse_entry(W32[o0 + e], d0)
        p1, v1 = _sparse_entry(W32[o1 + e], d1)
        p2, v2 = _sparse_entry(W32[o2 + e], d2)
        p3, v3 = _sparse_entry(W32[o3 + e], d3)
        acc[p0] += v0
        acc[p1] += v1
        acc[p2] += v2
        acc[p3] += v3


@njit(cache=True, nogil=True)
def _sparse_add1(W32, o, E, d, acc):
    for e in range(E):
        p, v = _sparse_entry(W32[o + e], d)
        acc[p] += v


@njit(cache=True, nogil=True)
def _sparse_add1_sat(W32, o, E, d, acc):
    """One sparse column with saturation after the addition; returns 1 if anything clipped."""
    ov = 0
    for e in range(E):
        p, v = _sparse_entry(W32[o + e], d)
        acc[p], c = _sat_acc(np.int64(acc[p]) + np.int64(v))
        ov |= c
    return ov


@njit(cache=True, nogil=True)
def _add_sparse(W, w_off, E, cm, acc, H, idx, dl, start, end, bound, vector, stats):
    """Sparse columns idx[start:end] (deltas dl) into the banks, in order.

    ``W[w_off:]`` holds the layer's columns as int32 entry words, ``E`` (a multiple of 16)
    per column; ``acc`` is the 4H banks plus :data:`SPARSE_PAD` words. As in the dense
    kernels, a column that provably cannot saturate (``bound`` bounds max|M|) is added
    without clamping: with ``vector`` (the "vnni" kernel) 16 entries per gather/scatter,
    else four columns interleaved (the "portable" kernel); one that could saturate is added
    on its own with saturation. Returns (bound, ov).
    """
    ov = 0
    W32 = W.view(np.int32)
    base = w_off // 4
    banks = acc[: 4 * H]
    g = start
    while g < end:
        if not vector and g + 4 <= end:
            j0, j1, j2, j3 = idx[g], idx[g + 1], idx[g + 2], idx[g + 3]
            d0, d1 = np.int32(dl[g]), np.int32(dl[g + 1])
            d2, d3 = np.int32(dl[g + 2]), np.int32(dl[g + 3])
            c = _quad_bound(idx, dl, cm, g)
            bound = _refresh(bound, c, banks, stats)
            if bound + c <= ACC_MAX:
                o0, o1 = base + j0 * E, base + j1 * E
                o2, o3 = base + j2 * E, base + j3 * E
                _sparse_add4(W32, o0, o1, o2, o3, E, d0, d1, d2, d3, acc)
                stats[S_GROUP1] += 1
                bound += c
                g += 4
                continue
        j0 = idx[g]
        d0 = np.int32(dl[g])
        c = _column_bound(idx, dl, cm, g)
        o0 = base + j0 * E
        bound = _refresh(bound, c, banks, stats)
        if bound + c <= ACC_MAX:
            if vector:
                _SPARSE_VECTOR(W32, o0, E // 16, acc, d0)
            else:
                _sparse_add1(W32, o0, E, d0, acc)
            bound += c
            stats[S_SINGLE] += 1
        else:
            ov |= _sparse_add1_sat(W32, o0, E, d0, acc)
            bound = min(bound + c, ACC_MAX)
            stats[S_SAT] += 1
        g += 1
    return bound, ov


# -------------------------------------------------------------------------- encoding
@intrinsic
def _nonzero_mask64(typingctx, a, start):
    """Bit k set iff a[start + k] != 0, for 64 int16 elements (one vector compare)."""
    if not (isinstance(a, types.Array) and a.dtype == types.int16):
        return None
    sig = types.uint64(a, start)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, value=args[0]).data
        vty = llvm_ir.VectorType(_LL_I16, 64)
        ptr = builder.bitcast(builder.gep(data, [args[1]]), vty.as_pointer())
        v = builder.load(ptr, align=2)
        nz = builder.icmp_unsigned("!=", v, llvm_ir.Constant(vty, None))
        return builder.bitcast(nz, _LL_I64)

    return sig, codegen


@intrinsic
def _cttz(typingctx, x):
    """Index of the lowest set bit of a nonzero uint64."""
    if x != types.uint64:
        return None
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.cttz", [_LL_I64, llvm_ir.IntType(1)])
        return builder.call(fn, [args[0], llvm_ir.Constant(llvm_ir.IntType(1), 1)])

    return sig, codegen


@njit(cache=True, nogil=True)
def _encode_exact(inp, ref, theta, idx, dl, n, col0, dm16):
    """Delta-encode ``inp`` against ``ref`` (moved in place); append passed (col, Δ).

    First a branch-free vector pass computes every Δ (zero where not passed) into the int16
    scratch ``dm16``; then, 64 elements at a time, a bit mask of the nonzero ones is
    walked lowest bit first, which lists the passed deltas in ascending order with one
    loop iteration per passed delta. Returns (new n, overflow).
    """
    N = inp.shape[0]
    ov = np.int32(0)
    th = np.int32(theta)
    for j in range(N):
        d = _sub(inp[j], ref[j])
        ds = _sat16(d)
        ov = _or(ov, _ne(d, ds))
        dd = ds if (ds != 0) & (_max(ds, _sub(0, ds)) >= th) else np.int32(0)
        ref[j] = _add(ref[j], dd)
        dm16[j] = dd
    n_chunks = (N + 63) // 64
    for j in range(N, 64 * n_chunks):
        dm16[j] = 0
    for c in range(n_chunks):
        mask = _nonzero_mask64(dm16, 64 * c)
        while mask != 0:
            k = 64 * c + _cttz(mask)
            idx[n] = col0 + k
            dl[n] = dm16[k]
            n += 1
            mask &= mask - np.uint64(1)
    return n, ov


@njit(cache=True, nogil=True)
def _step_exact(W, aux, meta, st, x):
    """One time step of every layer on raw Q8.8 input ``x`` (any integer dtype)."""
    L = meta[meta.shape[0] - 1, G_L]
    g = meta[L]
    dm_off = g[G_DM]
    nz_off, tx_off, th_off, idx_off, dl_off, b_flag = (
        g[G_NZ],
        g[G_TX],
        g[G_TH],
        g[G_IDX],
        g[G_DL],
        g[G_BIAS],
    )
    vnni = g[G_KIND] == KIND_VNNI
    grp = st[g[G_GRP] : g[G_GRP] + GRP_WORDS]
    buf = st[g[G_BUF] : g[G_BUF] + 64]
    stats = st[:S_HEADER]
    ov = 0
    inp = st[0:0]  # typed placeholder; layer 0 reads x
    for l in range(L):
        m = meta[l]
        I, H, stride, w_off = m[M_I], m[M_H], m[M_STRIDE], m[M_WOFF]
        xhat = st[m[M_XHAT] : m[M_XHAT] + I]
        hhat = st[m[M_HHAT] : m[M_HHAT] + H]
        h = st[m[M_HOFF] : m[M_HOFF] + H]
        acc = st[m[M_ACC] : m[M_ACC] + 4 * H]
        idx = st[idx_off : idx_off + I + H]
        dl = st[dl_off : dl_off + (I + H + 1) // 2].view(np.int16)  # Δ fits int16
        dm16 = st[dm_off : dm_off + (I + H) // 2 + 32].view(np.int16)
        # the passed columns in the order of datapath.md §5: hidden ones (idx[0:nh]), then
        # input ones (idx[nh:n])
        nh, o1 = _encode_exact(h, hhat, st[th_off + l], idx, dl, 0, I, dm16)
        if l == 0:
            n, o2 = _encode_exact(x, xhat, st[tx_off + l], idx, dl, nh, 0, dm16)
        else:
            n, o2 = _encode_exact(inp, xhat, st[tx_off + l], idx, dl, nh, 0, dm16)
        ov |= o1 | o2
        st[nz_off + 2 * l] = n - nh
        st[nz_off + 2 * l + 1] = nh
        cache = st[m[M_CACHE] : m[M_CACHE] + 2 * H]
        if n == 0 and st[b_flag + l] != 0:
            ov |= _update_h_only(h, H, cache)
            inp = h
            continue
        if st[b_flag + l] == 0:
            b = aux[m[M_BOFF] : m[M_BOFF] + 4 * H]
            for i in range(4 * H):
                acc[i] += b[i] * 256
            st[b_flag + l] = 1
        if n > 0 and m[M_SLOTS] > 0:
            cm = aux[m[M_CMOFF] : m[M_CMOFF] + I + H]
            bound = _maxabs(acc)
            accp = st[m[M_ACC] : m[M_ACC] + 4 * H + SPARSE_PAD]
            # the entries hold bank positions: hidden then input columns, as listed
            bound, o3 = _add_sparse(
                W, w_off, stride, cm, accp, H, idx, dl, 0, n, bound, vnni, stats
            )
            ov |= o3
        elif n > 0:
            cm = aux[m[M_CMOFF] : m[M_CMOFF] + I + H]
            bound = _maxabs(acc)
            # hidden columns feed banks r, u, ch (acc[H:4H]); input ones cx, r, u (acc[0:3H])
            if vnni:
                bound, o3 = _add_columns_vnni(
                    W, w_off, stride, cm, acc, H, 3 * H, idx, dl, 0, nh, bound, grp, buf, stats
                )
                bound, o4 = _add_columns_vnni(
                    W, w_off, stride, cm, acc, 0, 3 * H, idx, dl, nh, n, bound, grp, buf, stats
                )
            else:
                bound, o3 = _add_columns(
                    W, w_off, stride, cm, acc, H, 3 * H, idx, dl, 0, nh, bound, stats
                )
                bound, o4 = _add_columns(
                    W, w_off, stride, cm, acc, 0, 3 * H, idx, dl, nh, n, bound, stats
                )
            ov |= o3 | o4
        ov |= _activate_exact(acc, h, H, cache)
        inp = h
    if ov:
        st[S_OVERFLOW] = 1
    return inp


@njit(cache=True, nogil=True)
def step_exact_q(W, aux, meta, st, x, out, outf):
    """Session step on raw int16 input; writes h as int16 to ``out`` and h / 256 to ``outf``.

    Returns :data:`STEP_OK`.
    """
    h = _step_exact(W, aux, meta, st, x)
    for i in range(out.shape[0]):
        out[i] = h[i]
        outf[i] = np.float32(h[i]) * np.float32(1.0 / 256.0)
    return STEP_OK


@njit(cache=True, nogil=True)
def run_exact(W, aux, meta, st, X, TX, TH, OUT, NZ):
    """A whole sequence: X int16 (T, I), thresholds (T, L); fills OUT (T, H) and NZ (T, L, 2)."""
    L = meta[meta.shape[0] - 1, G_L]
    g = meta[L]
    for t in range(X.shape[0]):
        for l in range(L):
            st[g[G_TX] + l] = TX[t, l]
            st[g[G_TH] + l] = TH[t, l]
        h = _step_exact(W, aux, meta, st, X[t])
        for i in range(OUT.shape[1]):
            OUT[t, i] = h[i]
        for l in range(L):
            NZ[t, l, 0] = st[g[G_NZ] + 2 * l]
            NZ[t, l, 1] = st[g[G_NZ] + 2 * l + 1]


# ------------------------------------------------------------------------- float mode
# tanh as a rational function (odd 13/even 6), |error| < 4e-7 on float32 (tests check it)
_TA = (
    4.89352455891786e-03,
    6.37261928875436e-04,
    1.48572235717979e-05,
    5.12229709037114e-08,
    -8.60467152213735e-11,
    2.00018790482477e-13,
    -2.76076847742355e-16,
)
_TB = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
_TCLAMP = 7.90531110763549805
# smallest float32 inputs where PyTorch's float32 tanh / sigmoid return exactly 1.0
_TANH_ONE = 9.01084041595459
_SIG_ONE = 16.635540008544922


@njit(cache=True, nogil=True, inline="always")
def _tanh32(x):
    x = min(max(x, np.float32(-_TCLAMP)), np.float32(_TCLAMP))
    x2 = x * x
    p = np.float32(_TA[6])
    p = p * x2 + np.float32(_TA[5])
    p = p * x2 + np.float32(_TA[4])
    p = p * x2 + np.float32(_TA[3])
    p = p * x2 + np.float32(_TA[2])
    p = p * x2 + np.float32(_TA[1])
    p = p * x2 + np.float32(_TA[0])
    p = p * x
    q = np.float32(_TB[3])
    q = q * x2 + np.float32(_TB[2])
    q = q * x2 + np.float32(_TB[1])
    q = q * x2 + np.float32(_TB[0])
    return p / q


@njit(cache=True, nogil=True, inline="always")
def _tanh32_sat(x):
    """tanh that, like float32 libm/PyTorch, is exactly ±1 from |x| >= 9.0108404."""
    t = _tanh32(x)
    if abs(x) >= np.float32(_TANH_ONE):
        t = np.float32(1.0) if x > 0 else np.float32(-1.0)
    return t


@njit(cache=True, nogil=True, inline="always")
def _sigmoid32(x):
    """σ(x) = ½ + ½·tanh(x/2); exactly 1 from x >= 16.63554 as PyTorch's float32 σ."""
    s = np.float32(0.5) + np.float32(0.5) * _tanh32(np.float32(0.5) * x)
    if x >= np.float32(_SIG_ONE):
        s = np.float32(1.0)
    return s


@njit(cache=True, nogil=True)
def tanh32(x, out):
    """Vectorised float32 tanh (exposed for tests)."""
    for i in range(x.shape[0]):
        out[i] = _tanh32(np.float32(x[i]))


@njit(cache=True, nogil=True)
def _fmadd4(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n):
    w0 = W[o0 : o0 + n]
    w1 = W[o1 : o1 + n]
    w2 = W[o2 : o2 + n]
    w3 = W[o3 : o3 + n]
    for i in range(n):
        dst[i] += w0[i] * d0 + w1[i] * d1 + w2[i] * d2 + w3[i] * d3


@njit(cache=True, nogil=True)
def _fmadd1(W, o0, d0, dst, n):
    w0 = W[o0 : o0 + n]
    for i in range(n):
        dst[i] += w0[i] * d0


@njit(cache=True, nogil=True)
def _add_columns_f(W, w_off, stride, acc, a0, n, idx, dl, start, end):
    """The passed columns idx[start:end] into ``acc[a0 : a0 + n]``, four at a time."""
    dst = acc[a0 : a0 + n]
    g = start
    while g + 4 <= end:
        o0 = w_off + idx[g] * stride
        o1 = w_off + idx[g + 1] * stride
        o2 = w_off + idx[g + 2] * stride
        o3 = w_off + idx[g + 3] * stride
        d0, d1, d2, d3 = dl[g], dl[g + 1], dl[g + 2], dl[g + 3]
        _fmadd4(W, o0, o1, o2, o3, d0, d1, d2, d3, dst, n)
        g += 4
    while g < end:
        _fmadd1(W, w_off + idx[g] * stride, dl[g], dst, n)
        g += 1


@njit(cache=True, nogil=True)
def _encode_f(inp, ref, theta, idx, dl, n, col0):
    for j in range(inp.shape[0]):
        d = np.float32(inp[j]) - ref[j]
        if d != 0 and abs(d) >= theta:
            ref[j] += d
            idx[n] = col0 + j
            dl[n] = d
            n += 1
    return n


@njit(cache=True, nogil=True)
def _activate_f(acc, h, H):
    """Banks in the order M_cx, M_r, M_u, M_ch (as in exact mode)."""
    one = np.float32(1.0)
    for i in range(H):
        r = _sigmoid32(acc[H + i])
        u = _sigmoid32(acc[2 * H + i])
        c = _tanh32_sat(acc[i] + r * acc[3 * H + i])
        h[i] = (one - u) * c + u * h[i]


@njit(cache=True, nogil=True)
def _step_float(W, aux, meta, st, sf, x):
    """One float time step; ``st`` holds flags, counts and index lists, ``sf`` the values."""
    L = meta[meta.shape[0] - 1, G_L]
    g = meta[L]
    nz_off, tx_off, th_off, idx_off, dl_off, b_flag = (
        g[G_NZ],
        g[G_TX],
        g[G_TH],
        g[G_IDX],
        g[G_DL],
        g[G_BIAS],
    )
    inp = sf[0:0]
    for l in range(L):
        m = meta[l]
        I, H, stride, w_off = m[M_I], m[M_H], m[M_STRIDE], m[M_WOFF]
        xhat = sf[m[M_XHAT] : m[M_XHAT] + I]
        hhat = sf[m[M_HHAT] : m[M_HHAT] + H]
        h = sf[m[M_HOFF] : m[M_HOFF] + H]
        acc = sf[m[M_ACC] : m[M_ACC] + 4 * H]
        idx = st[idx_off : idx_off + I + H]
        dl = sf[dl_off : dl_off + I + H]
        nh = _encode_f(h, hhat, sf[th_off + l], idx, dl, 0, I)
        if l == 0:
            n = _encode_f(x, xhat, sf[tx_off + l], idx, dl, nh, 0)
        else:
            n = _encode_f(inp, xhat, sf[tx_off + l], idx, dl, nh, 0)
        st[nz_off + 2 * l] = n - nh
        st[nz_off + 2 * l + 1] = nh
        if st[b_flag + l] == 0:
            b = aux[m[M_BOFF] : m[M_BOFF] + 4 * H]
            for i in range(4 * H):
                acc[i] += b[i]
            st[b_flag + l] = 1
        _add_columns_f(W, w_off, stride, acc, H, 3 * H, idx, dl, 0, nh)
        _add_columns_f(W, w_off, stride, acc, 0, 3 * H, idx, dl, nh, n)
        _activate_f(acc, h, H)
        inp = h
    return inp


@njit(cache=True, nogil=True)
def step_float(W, aux, meta, st, sf, x, out):
    """Session step in float mode; writes h (float32) to ``out``.

    Returns :data:`STEP_OK`, or :data:`STEP_NOT_FINITE` (and runs nothing) when an input is
    NaN or inf, e.g. a finite float64 that overflowed float32.
    """
    for j in range(x.shape[0]):
        if not np.isfinite(x[j]):
            return STEP_NOT_FINITE
    h = _step_float(W, aux, meta, st, sf, x)
    for i in range(out.shape[0]):
        out[i] = h[i]
    return STEP_OK


@njit(cache=True, nogil=True)
def run_float(W, aux, meta, st, sf, X, TX, TH, OUT, NZ):
    """A whole sequence in float mode: X float32 (T, I), thresholds float32 (T, L)."""
    L = meta[meta.shape[0] - 1, G_L]
    g = meta[L]
    for t in range(X.shape[0]):
        for l in range(L):
            sf[g[G_TX] + l] = TX[t, l]
            sf[g[G_TH] + l] = TH[t, l]
        h = _step_float(W, aux, meta, st, sf, X[t])
        for i in range(OUT.shape[1]):
            OUT[t, i] = h[i]
        for l in range(L):
            NZ[t, l, 0] = st[g[G_NZ] + 2 * l]
            NZ[t, l, 1] = st[g[G_NZ] + 2 * l + 1]
