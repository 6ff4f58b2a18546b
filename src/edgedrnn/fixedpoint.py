"""Fixed-point formats of the EdgeDRNN datapath (docs/datapath.md §1-6).

All integer helpers work on NumPy integer arrays (or Python ints) and compute in int64, wide
enough that no intermediate wraps. Narrowing is always explicit and saturating; functions that
narrow return the saturation as a boolean so callers can keep the sticky ``overflow`` flag.

Formats:

* ``Q8.8`` (int16, scale 2^-8): inputs, hidden state, deltas, thresholds, gate outputs.
* ``Q1.7`` (int8, scale 2^-7): weights and biases, range [-1, 127/128].
* ``int24`` accumulators (scale 2^-15), saturating at ±(2^23 - 1).

Example::

    >>> from edgedrnn import fixedpoint as fp
    >>> fp.to_q88(0.5), fp.to_q17(-1.5)
    (128, -128)
    >>> int(fp.rne(5, 1)), int(fp.rne(7, 1))  # 2.5 -> 2, 3.5 -> 4
    (2, 4)
"""

from __future__ import annotations

from functools import cache

import numpy as np

#: Fractional bits of activations (Q8.8) and of weights (Q1.7).
ACT_FRAC = 8
WEIGHT_FRAC = 7
#: Fractional bits of an accumulator: product of Q8.8 and Q1.7.
ACC_FRAC = ACT_FRAC + WEIGHT_FRAC

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT8_MIN, INT8_MAX = -(1 << 7), (1 << 7) - 1
#: Accumulators saturate symmetrically at ±(2^23 - 1) (datapath.md §3).
ACC_MAX = (1 << 23) - 1
ACC_MIN = -ACC_MAX
#: 1.0 in Q8.8: the delta with which the bias column is passed on at the first step.
ONE_Q88 = 1 << ACT_FRAC

IntArray = np.ndarray


def rne(v: IntArray | int, k: int) -> IntArray:
    """``RNE_k(v)``: v / 2^k rounded to the nearest integer, ties to even (datapath.md §2).

    Implemented as the hardware does it: add ``2^(k-1)`` if bit k of v is set, else
    ``2^(k-1) - 1``, then shift right arithmetically by k.
    """
    v = np.asarray(v, dtype=np.int64)
    if k == 0:
        return v
    half = np.int64(1 << (k - 1))
    bit_k = (v >> k) & 1
    return (v + half - 1 + bit_k) >> k


def saturate(v: IntArray | int, lo: int, hi: int) -> tuple[IntArray, bool]:
    """Clamp ``v`` to [lo, hi]; return the clamped int64 array and whether anything clipped."""
    v = np.asarray(v, dtype=np.int64)
    clipped = bool(np.any((v < lo) | (v > hi)))
    return np.clip(v, lo, hi), clipped


def sat16(v: IntArray | int) -> tuple[IntArray, bool]:
    """Saturate to int16 (Q8.8); returns (values as int64, clipped)."""
    return saturate(v, INT16_MIN, INT16_MAX)


def sat24(v: IntArray | int) -> tuple[IntArray, bool]:
    """Saturate an accumulator to ±(2^23 - 1); returns (values as int64, clipped)."""
    return saturate(v, ACC_MIN, ACC_MAX)


def quantize(x: np.ndarray | float, frac_bits: int, lo: int, hi: int) -> tuple[IntArray, int]:
    """Float → fixed point: round half to even at ``frac_bits``, then saturate.

    Returns the integer array (int64) and the number of elements that clipped.
    Raises ``ValueError`` for NaN or infinite values.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize NaN or infinite values")
    scaled = np.rint(x * float(1 << frac_bits))  # np.rint rounds half to even
    n_clipped = int(np.count_nonzero((scaled < lo) | (scaled > hi)))
    return np.clip(scaled, lo, hi).astype(np.int64), n_clipped


def to_q88(x: np.ndarray | float) -> IntArray | int:
    """Float → Q8.8 integer (round half to even, saturate). Scalars give Python ints."""
    q, _ = quantize(x, ACT_FRAC, INT16_MIN, INT16_MAX)
    return int(q) if q.ndim == 0 else q.astype(np.int16)


def to_q17(x: np.ndarray | float) -> IntArray | int:
    """Float → Q1.7 integer (round half to even, saturate). Scalars give Python ints."""
    q, _ = quantize(x, WEIGHT_FRAC, INT8_MIN, INT8_MAX)
    return int(q) if q.ndim == 0 else q.astype(np.int8)


def from_q88(q: IntArray | int) -> np.ndarray:
    """Q8.8 integer → float64."""
    return np.asarray(q, dtype=np.float64) / float(1 << ACT_FRAC)


def from_q17(q: IntArray | int) -> np.ndarray:
    """Q1.7 integer → float64."""
    return np.asarray(q, dtype=np.float64) / float(1 << WEIGHT_FRAC)


def _table(fn) -> np.ndarray:
    v = np.arange(INT16_MIN, INT16_MAX + 1, dtype=np.float64) / float(1 << ACT_FRAC)
    return (16 * np.rint(16.0 * fn(v))).astype(np.int16)


@cache
def sig_table() -> np.ndarray:
    """SIG for all 65,536 int16 inputs, indexed by ``v + 32768`` (datapath.md §6).

    ``SIG(v) = 16 · RNE(16 · σ(v / 256))``: multiples of 1/16 in Q8.8, 0..256.
    The returned array is read-only.
    """
    t = _table(lambda v: 1.0 / (1.0 + np.exp(-v)))
    t.setflags(write=False)
    return t


@cache
def tanh_table() -> np.ndarray:
    """TANH for all 65,536 int16 inputs, indexed by ``v + 32768`` (datapath.md §6).

    ``TANH(v) = 16 · RNE(16 · tanh(v / 256))``: multiples of 1/16 in Q8.8, -256..256.
    The returned array is read-only.
    """
    t = _table(np.tanh)
    t.setflags(write=False)
    return t


def sig(v: IntArray | int) -> IntArray:
    """Look up SIG for int16-range values (int64 in, int64 out)."""
    return sig_table()[np.asarray(v, dtype=np.int64) - INT16_MIN].astype(np.int64)


def tanh(v: IntArray | int) -> IntArray:
    """Look up TANH for int16-range values (int64 in, int64 out)."""
    return tanh_table()[np.asarray(v, dtype=np.int64) - INT16_MIN].astype(np.int64)
