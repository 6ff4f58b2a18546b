"""Numba kernels of the cpu backend (see :mod:`edgedrnn.backends.cpu` and docs/cpu-runtime.md).

Everything a kernel touches lives in a few flat arrays, so one Python → kernel call passes
five or six arguments (Numba's dispatch cost grows with the argument count):

* ``W``: all layers' weight columns, back to back; column ``k`` of layer ``l`` is
  ``W[w_off + k * stride : ... + 3H]`` (rows r, u, n), int8 (exact) or float32 (float).
* ``aux``: per layer the bias column (4H: r, u, cx, ch) and, in exact mode, the largest
  ``|w|`` of each column (used to prove that a group of columns cannot saturate).
* ``meta``: int64 (L + 1, 16): sizes and offsets (see ``M_*`` below), row L global offsets.
* ``st``: int32 state of one stream: overflow flag, per-layer "bias sent" flags, thresholds,
  delta counts, x̂, ĥ, h, the four accumulator banks and the scratch lists of passed columns.
* ``sf``: float32 state (float mode only), laid out like ``st``.

Exact mode keeps the accumulators in int32: a product ``w · Δ`` needs 23 bits and a bank
saturates at ±(2^23 - 1), so four products plus a bank fit easily. Columns are added four at
a time without clamping whenever ``max|M| + Σ |Δ_k| · max|w_k| <= 2^23 - 1`` (no partial sum
can then reach the limit, so the order of additions does not matter); otherwise the kernel
re-measures ``max|M|`` and, if saturation is still possible, adds that column on its own with
saturation, in encoding order, exactly as datapath.md §5 prescribes.
"""

from __future__ import annotations

import llvmlite.ir as llvm_ir
import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .. import fixedpoint as fp

# meta columns (per layer row)
M_I, M_H, M_STRIDE, M_WOFF, M_CMOFF, M_BOFF = 0, 1, 2, 3, 4, 5
M_XHAT, M_HHAT, M_HOFF, M_ACC, M_CACHE = 6, 7, 8, 9, 10
# meta row L (global)
G_L, G_NZ, G_TX, G_TH, G_IDX, G_DL, G_BIAS, G_DM = 0, 1, 2, 3, 4, 5, 6, 7
# st[0]: sticky overflow; st[1]: how often max|M| was re-measured (saturation possible)
S_OVERFLOW, S_REFRESH = 0, 1

ACC_MAX = fp.ACC_MAX


# ---------------------------------------------------------------------------- helpers
@njit(cache=True, nogil=True, inline="always")
def _rne(v, k):
    """RNE_k for int64 values (datapath.md §2)."""
    return (v + ((1 << (k - 1)) - 1) + ((v >> k) & 1)) >> k


@njit(cache=True, nogil=True)
def _maxabs(a):
    m = 0
    for i in range(a.shape[0]):
        v = abs(np.int64(a[i]))
        m = max(m, v)
    return m


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
        i16, i32 = llvm_ir.IntType(16), llvm_ir.IntType(32)
        total = None
        for k in range(4):
            p = builder.mul(builder.sext(args[2 * k], i16), args[2 * k + 1])
            total = p if total is None else builder.add(total, p)
        return builder.sext(total, i32)

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
        v = np.int64(dst[i]) + np.int64(w0[i]) * d0
        if v > ACC_MAX:
            v = ACC_MAX
            ov = 1
        elif v < -ACC_MAX:
            v = -ACC_MAX
            ov = 1
        dst[i] = v
    return ov


@njit(cache=True, nogil=True)
def _add_columns(W, w_off, stride, cm, acc, idx, dl, start, end, H, hidden, bound):
    """Add the passed columns idx[start:end] (deltas dl) to the banks, in encoding order.

    ``hidden``: hidden columns feed banks r, u, ch (rows 2H..3H go to acc[3H:4H]); input
    columns feed r, u, cx. ``bound`` is an upper bound of max|acc|. Returns (bound, ov,
    number of times max|acc| was re-measured).
    """
    ov = 0
    refresh = 0
    g = start
    n_first = 2 * H if hidden else 3 * H
    a_first = acc[:n_first]
    a_ch = acc[3 * H : 4 * H]
    while g < end:
        if g + 4 <= end:
            j0, j1, j2, j3 = idx[g], idx[g + 1], idx[g + 2], idx[g + 3]
            d0, d1, d2, d3 = dl[g], dl[g + 1], dl[g + 2], dl[g + 3]
            c = (
                abs(np.int64(d0)) * cm[j0]
                + abs(np.int64(d1)) * cm[j1]
                + abs(np.int64(d2)) * cm[j2]
                + abs(np.int64(d3)) * cm[j3]
            )
            if bound + c > ACC_MAX:
                bound = _maxabs(acc)
                refresh += 1
            if bound + c <= ACC_MAX:
                o0 = w_off + j0 * stride
                o1 = w_off + j1 * stride
                o2 = w_off + j2 * stride
                o3 = w_off + j3 * stride
                if c <= 32767:  # every row's group sum fits 16 bits
                    _madd4_i16(W, o0, o1, o2, o3, d0, d1, d2, d3, a_first, n_first)
                    if hidden:
                        s = 2 * H
                        _madd4_i16(W, o0 + s, o1 + s, o2 + s, o3 + s, d0, d1, d2, d3, a_ch, H)
                else:
                    _madd4(W, o0, o1, o2, o3, d0, d1, d2, d3, a_first, n_first)
                    if hidden:
                        s = 2 * H
                        _madd4(W, o0 + s, o1 + s, o2 + s, o3 + s, d0, d1, d2, d3, a_ch, H)
                bound += c
                g += 4
                continue
        # one column on its own
        j0 = idx[g]
        d0 = dl[g]
        c = abs(np.int64(d0)) * cm[j0]
        o0 = w_off + j0 * stride
        if bound + c > ACC_MAX:
            bound = _maxabs(acc)
            refresh += 1
        if bound + c <= ACC_MAX:
            _madd1(W, o0, d0, a_first, n_first)
            if hidden:
                _madd1(W, o0 + 2 * H, d0, a_ch, H)
            bound += c
        else:
            ov |= _madd1_sat(W, o0, d0, a_first, n_first)
            if hidden:
                ov |= _madd1_sat(W, o0 + 2 * H, d0, a_ch, H)
            bound = min(bound + c, ACC_MAX)
        g += 1
    return bound, ov, refresh


@njit(cache=True, nogil=True)
def _encode_exact(inp, ref, theta, idx, dl, n, col0, dm16):
    """Delta-encode ``inp`` against ``ref`` (moved in place); append passed (col, Δ).

    First a branch-free pass computes every Δ (zero where not passed) into the int16 scratch
    ``dm16``; then a scan that skips four zero deltas at a time collects the passed ones in
    ascending order. Returns (new n, overflow).
    """
    N = inp.shape[0]
    ov = _I32(0)
    for j in range(N):
        d = _I32(inp[j]) - ref[j]
        ds = min(max(d, _I32(-32768)), _I32(32767))
        ov = max(ov, _I32(d != ds))
        dd = ds if (ds != 0) & (abs(ds) >= theta) else _I32(0)
        ref[j] += dd
        dm16[j] = dd
    n_words = (N + 3) // 4
    for j in range(N, 4 * n_words):
        dm16[j] = 0
    words = dm16[: 4 * n_words].view(np.int64)
    for w in range(n_words):
        if words[w] != 0:
            for k in range(4 * w, 4 * w + 4):
                v = dm16[k]
                if v != 0:
                    idx[n] = col0 + k
                    dl[n] = v
                    n += 1
    return n, ov


_I32 = np.int32


@njit(cache=True, nogil=True, inline="always")
def _rne32(a, k):
    """RNE_k on int32 values (no intermediate here exceeds int32)."""
    return (a + _I32((1 << (k - 1)) - 1) + ((a >> _I32(k)) & _I32(1))) >> _I32(k)


@njit(cache=True, nogil=True, inline="always")
def _sat16(a):
    return min(max(a, _I32(-32768)), _I32(32767))


# SIG and TANH (datapath.md §6) are monotone step functions of v with steps of 16, and
# SIG(-v) = 256 - SIG(v), TANH(-v) = -TANH(v). So each is a count of breakpoints below |v|:
# 8 compares for SIG, 16 for TANH, which vectorise (no table gathers in the hot loop).
# The breakpoints are checked against the full tables of fixedpoint.py on import of
# edgedrnn.backends.cpu (and in the tests).
SIG_BREAKS = (33, 98, 166, 241, 326, 432, 581, 880)
TANH_BREAKS = (9, 25, 41, 57, 74, 92, 111, 131, 152, 175, 202, 232, 269, 316, 386, 531)


@njit(cache=True, nogil=True, inline="always")
def _sig(v):
    a = abs(v)
    k = (
        _I32(a >= _I32(33))
        + _I32(a >= _I32(98))
        + _I32(a >= _I32(166))
        + _I32(a >= _I32(241))
        + _I32(a >= _I32(326))
        + _I32(a >= _I32(432))
        + _I32(a >= _I32(581))
        + _I32(a >= _I32(880))
    )
    return _I32(128) + _I32(16) * (k if v >= 0 else -k)


@njit(cache=True, nogil=True, inline="always")
def _tanh(v):
    a = abs(v)
    k = (
        _I32(a >= _I32(9))
        + _I32(a >= _I32(25))
        + _I32(a >= _I32(41))
        + _I32(a >= _I32(57))
        + _I32(a >= _I32(74))
        + _I32(a >= _I32(92))
        + _I32(a >= _I32(111))
        + _I32(a >= _I32(131))
        + _I32(a >= _I32(152))
        + _I32(a >= _I32(175))
        + _I32(a >= _I32(202))
        + _I32(a >= _I32(232))
        + _I32(a >= _I32(269))
        + _I32(a >= _I32(316))
        + _I32(a >= _I32(386))
        + _I32(a >= _I32(531))
    )
    return _I32(16) * (k if v >= 0 else -k)


@njit(cache=True, nogil=True)
def activation_functions(sig_out, tanh_out):
    """SIG and TANH of the kernels for all 65,536 int16 inputs (index v + 32768)."""
    for i in range(65536):
        v = _I32(i - 32768)
        sig_out[i] = _sig(v)
        tanh_out[i] = _tanh(v)


@njit(cache=True, nogil=True)
def _activate_exact(acc, h, H, cache):
    """datapath.md §5 activation for all H neurons; updates h in place; returns ov.

    All intermediates fit int32: |M| < 2^23, r·q + 2·M_cx < 2^25, u·h < 2^24.
    ``cache`` (2H) receives RNE_8((256 - u)·c) and u, which depend on the banks only: a
    later step that changes no bank reuses them (:func:`_update_h_only`).
    """
    ov = _I32(0)
    ar = acc[0:H]
    au = acc[H : 2 * H]
    ax = acc[2 * H : 3 * H]
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
        vs = _rne32(_I32(r * q + _I32(2) * ax[i]), 8)
        s = _sat16(vs)
        c = _tanh(s)
        p = _rne32(_I32((_I32(256) - u) * c), 8)
        vh = p + _rne32(_I32(u * h[i]), 8)
        hn = _sat16(vh)
        ov = max(ov, _I32((vr != sr) | (vu != su) | (vq != q) | (vs != s) | (vh != hn)))
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
    ov = _I32(0)
    for i in range(H):
        vh = cache[i] + _rne32(_I32(cache[H + i] * h[i]), 8)
        hn = _sat16(vh)
        ov = max(ov, _I32(vh != hn))
        h[i] = hn
    return ov


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
        dm16 = st[dm_off : dm_off + (I + H) // 2 + 4].view(np.int16)
        if l == 0:
            nx, o1 = _encode_exact(x, xhat, st[tx_off + l], idx, dl, 0, 0, dm16)
        else:
            nx, o1 = _encode_exact(inp, xhat, st[tx_off + l], idx, dl, 0, 0, dm16)
        n, o2 = _encode_exact(h, hhat, st[th_off + l], idx, dl, nx, I, dm16)
        ov |= o1 | o2
        st[nz_off + 2 * l] = nx
        st[nz_off + 2 * l + 1] = n - nx
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
        if n > 0:
            cm = aux[m[M_CMOFF] : m[M_CMOFF] + I + H]
            bound = _maxabs(acc)
            bound, o3, r3 = _add_columns(W, w_off, stride, cm, acc, idx, dl, 0, nx, H, False, bound)
            bound, o4, r4 = _add_columns(W, w_off, stride, cm, acc, idx, dl, nx, n, H, True, bound)
            ov |= o3 | o4
            st[S_REFRESH] += r3 + r4
        ov |= _activate_exact(acc, h, H, cache)
        inp = h
    if ov:
        st[S_OVERFLOW] = 1
    return inp


@njit(cache=True, nogil=True)
def _quantize_into(xf, xq):
    """Float → Q8.8 (round half to even, saturate). Returns 0, 1 (clipped) or 2 (NaN/inf)."""
    status = 0
    for j in range(xf.shape[0]):
        v = np.float64(xf[j])
        if not np.isfinite(v):
            return 2
        r = np.rint(v * 256.0)
        if r > 32767.0:
            r = 32767.0
            status = 1
        elif r < -32768.0:
            r = -32768.0
            status = 1
        xq[j] = np.int32(r)
    return status


@njit(cache=True, nogil=True)
def step_exact_q(W, aux, meta, st, x, out, outf):
    """Session step on raw int16 input; writes h as int16 to ``out`` and h / 256 to ``outf``."""
    h = _step_exact(W, aux, meta, st, x)
    for i in range(out.shape[0]):
        out[i] = h[i]
        outf[i] = np.float32(h[i]) * np.float32(1.0 / 256.0)
    return 0


@njit(cache=True, nogil=True)
def step_exact_f(W, aux, meta, st, x, out, xq):
    """Session step on float input (quantized here); writes h / 256 (float32) to ``out``.

    Returns the quantization status (see :func:`_quantize_into`); on status 2 nothing runs.
    """
    status = _quantize_into(x, xq)
    if status == 2:
        return 2
    h = _step_exact(W, aux, meta, st, xq)
    for i in range(out.shape[0]):
        out[i] = np.float32(h[i]) * np.float32(1.0 / 256.0)
    return status


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
def _add_columns_f(W, w_off, stride, acc, idx, dl, start, end, H, hidden):
    n_first = 2 * H if hidden else 3 * H
    a_first = acc[:n_first]
    a_ch = acc[3 * H : 4 * H]
    g = start
    while g + 4 <= end:
        o0 = w_off + idx[g] * stride
        o1 = w_off + idx[g + 1] * stride
        o2 = w_off + idx[g + 2] * stride
        o3 = w_off + idx[g + 3] * stride
        d0, d1, d2, d3 = dl[g], dl[g + 1], dl[g + 2], dl[g + 3]
        _fmadd4(W, o0, o1, o2, o3, d0, d1, d2, d3, a_first, n_first)
        if hidden:
            s = 2 * H
            _fmadd4(W, o0 + s, o1 + s, o2 + s, o3 + s, d0, d1, d2, d3, a_ch, H)
        g += 4
    while g < end:
        o0 = w_off + idx[g] * stride
        _fmadd1(W, o0, dl[g], a_first, n_first)
        if hidden:
            _fmadd1(W, o0 + 2 * H, dl[g], a_ch, H)
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
    one = np.float32(1.0)
    for i in range(H):
        r = _sigmoid32(acc[i])
        u = _sigmoid32(acc[H + i])
        c = _tanh32_sat(acc[2 * H + i] + r * acc[3 * H + i])
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
        if l == 0:
            nx = _encode_f(x, xhat, sf[tx_off + l], idx, dl, 0, 0)
        else:
            nx = _encode_f(inp, xhat, sf[tx_off + l], idx, dl, 0, 0)
        n = _encode_f(h, hhat, sf[th_off + l], idx, dl, nx, I)
        st[nz_off + 2 * l] = nx
        st[nz_off + 2 * l + 1] = n - nx
        if st[b_flag + l] == 0:
            b = aux[m[M_BOFF] : m[M_BOFF] + 4 * H]
            for i in range(4 * H):
                acc[i] += b[i]
            st[b_flag + l] = 1
        _add_columns_f(W, w_off, stride, acc, idx, dl, 0, nx, H, False)
        _add_columns_f(W, w_off, stride, acc, idx, dl, nx, n, H, True)
        _activate_f(acc, h, H)
        inp = h
    return inp


@njit(cache=True, nogil=True)
def step_float(W, aux, meta, st, sf, x, out):
    """Session step in float mode; writes h (float32) to ``out``; returns 2 on NaN/inf."""
    for j in range(x.shape[0]):
        if not np.isfinite(x[j]):
            return 2
    h = _step_float(W, aux, meta, st, sf, x)
    for i in range(out.shape[0]):
        out[i] = h[i]
    return 0


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
