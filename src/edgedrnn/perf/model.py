"""Cycle and DRAM model of this project's RTL (:mod:`edgedrnn.hw`), from delta counts.

docs/perf-model.md derives the equations from the RTL's cycle behaviour (docs/rtl.md) and
works an example. In short, per step::

    cycles = STEP + Σ_l layer_l
    layer_l = LAYER + max(scan_l, fetch_l) + act_l
    scan_l  = ⌈(I_l + H_l) / S⌉                     (delta encoder, S elements per cycle)
    fetch_l = n_l · (words_col + GAP) + [reset] · (words_bias + GAP) + PIPE
    act_l   = ⌈H_l / P⌉ · ACT_II + ACT_LAT

where ``n_l`` is the layer's passed-on deltas, ``words_col`` the bus words of one weight column
(``column_stride / bus_bytes`` of the program layout) and ``P`` the PEs. The constants live in
:class:`RtlTiming`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..program import HardwareConfig, LayerLayout
from .workload import Network, check_counts


@dataclass(frozen=True)
class RtlTiming:
    """Cycle constants of the RTL (see the module docstring for where each one enters)."""

    step: int = 2
    layer: int = 2
    scan_per_cycle: int | None = None  # None: num_pe elements per cycle
    gap: int = 0
    pipe: int = 4
    act_ii: int = 1
    act_lat: int = 6


#: The constants of the RTL in src/edgedrnn/hw.
TIMING = RtlTiming()


def layouts(net: Network, hw: HardwareConfig) -> list[LayerLayout]:
    """The program's weight layout for these sizes (what the RTL streams)."""
    out, offset = [], 0
    for n_in, n_h in net.layers:
        lay = LayerLayout.plan(n_in, n_h, offset, hw)
        out.append(lay)
        offset = lay.end
    return out


def layer_parts(
    n_in: int,
    n_h: int,
    n: np.ndarray,
    bias: np.ndarray,
    hw: HardwareConfig,
    timing: RtlTiming = TIMING,
) -> dict[str, np.ndarray]:
    """The terms of one layer's cycles (scan, fetch, act, overhead) for ``n`` deltas per step."""
    lay = LayerLayout.plan(n_in, n_h, 0, hw)
    words_col = lay.column_stride // hw.bus_bytes
    words_bias = lay.bias_stride // hw.bus_bytes
    per_cycle = timing.scan_per_cycle or hw.num_pe
    scan = np.full(n.shape, math.ceil((n_in + n_h) / per_cycle), dtype=np.float64)
    fetch = n * (words_col + timing.gap) + bias * (words_bias + timing.gap) + timing.pipe
    act = np.full(n.shape, math.ceil(n_h / hw.num_pe) * timing.act_ii + timing.act_lat, float)
    return {
        "scan": scan,
        "fetch": fetch,
        "act": act,
        "overhead": np.full(n.shape, float(timing.layer)),
    }


def step_cycles(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    timing: RtlTiming = TIMING,
) -> np.ndarray:
    """Modelled cycles of every step (float64 (T,)).

    Args:
        net: layer sizes.
        counts: passed-on deltas (T, L, 2) like ``Result.nonzero`` (bias not counted).
        hw: the instance (num_pe, bus_bits).
        from_reset: if true, step 0 also streams each layer's bias column.
        timing: the RTL's constants.
    """
    c = check_counts(net, counts)
    steps = c.shape[0]
    bias = np.zeros(steps)
    if from_reset and steps:
        bias[0] = 1.0
    total = np.full(steps, float(timing.step))
    for li, (n_in, n_h) in enumerate(net.layers):
        p = layer_parts(n_in, n_h, c[:, li, 0] + c[:, li, 1], bias, hw, timing)
        total += p["overhead"] + np.maximum(p["scan"], p["fetch"]) + p["act"]
    return total


def dram_bytes(net: Network, counts, hw: HardwareConfig, from_reset: bool = True) -> np.ndarray:
    """Weight bytes read per step (T,): one padded column per passed-on delta, plus the bias
    column of every layer at the first step after reset."""
    c = check_counts(net, counts)
    out = np.zeros(c.shape[0], dtype=np.float64)
    for li, lay in enumerate(layouts(net, hw)):
        out += (c[:, li, 0] + c[:, li, 1]) * lay.column_stride
        if from_reset and len(out):
            out[0] += lay.bias_stride
    return out
