"""Cycle model of the original EdgeDRNN design (docs/perf-model.md, "The original design").

Per step the original runs its layers strictly one after another::

    cycles = Σ_l (1 + MAC_l + ACT_l)
    ACT_l  = 5 · (⌈H/P⌉ + 1) + 1                      (5 activation phases over H/P groups)
    MAC_l  = max(col · n_l + 9,  1 + I_l' + H + 8)     (weight stream vs. serial delta scan)
    col    = ⌈3H / B⌉ / e                              (cycles per passed-on weight column)

with ``P`` PEs (8 in the original), ``B`` bus bytes (8), ``I_l'`` the input size padded to a
multiple of 8, ``n_l`` the passed-on deltas of the layer including the bias column (passed on
once, at the first step after reset) and ``e`` the fraction of cycles the weight stream is valid
(1.0 when weights are always available). The constants (9, 8, the 5 phases) are the ones
measured on the original; P and B other than 8 are an extrapolation, for side-by-side rows.
"""

from __future__ import annotations

import math

import numpy as np

from .workload import Network, check_counts

#: Pipeline overhead of the weight stream per layer (cycles), measured.
MAC_OVERHEAD = 9
#: Extra cycles of the serial delta scan beyond one per element, measured.
SCAN_OVERHEAD = 8
#: Activation phases, each over ⌈H/P⌉ + 1 groups.
ACT_PHASES = 5


def column_stream_cycles(hidden: int, bus_bits: int = 64, stream_efficiency: float = 1.0) -> float:
    """Cycles to stream one weight column of 3H int8 weights (the original has no b_hn row)."""
    if not 0 < stream_efficiency <= 1:
        raise ValueError(f"stream_efficiency must be in (0, 1], got {stream_efficiency}")
    return math.ceil(3 * hidden / (bus_bits // 8)) / stream_efficiency


def activation_cycles(hidden: int, num_pe: int = 8) -> int:
    """The original's activation phase: 5 · (⌈H/P⌉ + 1) + 1 cycles, not overlapped."""
    return ACT_PHASES * (math.ceil(hidden / num_pe) + 1) + 1


def scan_floor(input_size: int, hidden: int) -> int:
    """Lower bound of MAC_l set by the one-element-per-cycle delta scan (bias, I, H)."""
    padded = math.ceil(input_size / 8) * 8
    return 1 + padded + hidden + SCAN_OVERHEAD


def step_cycles(
    net: Network,
    counts,
    num_pe: int = 8,
    bus_bits: int = 64,
    stream_efficiency: float = 1.0,
    from_reset: bool = True,
) -> np.ndarray:
    """Modelled cycles of every step (float64 (T,)) of the original design.

    Args:
        net: layer sizes.
        counts: passed-on deltas (T, L, 2) like ``Result.nonzero`` (bias not counted).
        num_pe, bus_bits: the instance (the original is 8 PEs on a 64-bit stream).
        stream_efficiency: fraction of cycles the weight stream delivers a word.
        from_reset: if true, step 0 also streams each layer's bias column.
    """
    c = check_counts(net, counts)
    steps = c.shape[0]
    total = np.zeros(steps, dtype=np.float64)
    for li, (n_in, n_h) in enumerate(net.layers):
        n = c[:, li, 0] + c[:, li, 1]
        if from_reset and steps:
            n = n.copy()
            n[0] += 1
        col = column_stream_cycles(n_h, bus_bits, stream_efficiency)
        mac = np.maximum(col * n + MAC_OVERHEAD, scan_floor(n_in, n_h))
        total += 1 + mac + activation_cycles(n_h, num_pe)
    return total


def dram_bytes(net: Network, counts, bus_bits: int = 64, from_reset: bool = True) -> np.ndarray:
    """Weight bytes the original reads per step (T,): 3H bytes (whole bus words) per column."""
    c = check_counts(net, counts)
    word = bus_bits // 8
    out = np.zeros(c.shape[0], dtype=np.float64)
    for li, (_, n_h) in enumerate(net.layers):
        n = c[:, li, 0] + c[:, li, 1]
        if from_reset and len(n):
            n = n.copy()
            n[0] += 1
        out += n * math.ceil(3 * n_h / word) * word
    return out
