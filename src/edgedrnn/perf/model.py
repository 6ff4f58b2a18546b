"""Cycle and DRAM model of this project's RTL (:mod:`edgedrnn.hw`), from delta counts.

docs/perf-model.md derives the equations from the RTL's cycle behaviour (``edgedrnn.hw.top``)
and works an example. Per layer the controller scans the elements (SCAN_X, SCAN_H) while the
weight fetch streams the passed-on columns, waits for the last column to be accumulated
(DRAIN), then activates the neurons a row group of P per cycle (ACT). Per step::

    cycles  = STEP + (L - 1) · LAYER + Σ_l (body_l + act_l)
    body_l  = max(S_l + SCAN_TAIL,  fetch_l + FETCH_PIPE + mem_latency)
    fetch_l = max(e_first + b · c_bias + n_l · c,  e_last + c)        (when n_l > 0 or b)
    act_l   = ⌈H_l / P⌉ + ACT_LAT                   (layers before the last)
    act_L   = max(⌈H / P⌉ + ACT_LAT, H + OUT_LAT)   (last layer: h_out takes one per cycle)

* Scan time ``S_l = S_x + S_h``: layer 0 takes ``x_in`` one element per cycle (``S_x = I``);
  otherwise the encoder reads a row group of P elements per cycle while its serializer sends
  the passed-on deltas one per cycle (a group FIFO decouples the two), so a part of N
  elements with k passed costs ``max(⌈N / P⌉, k)`` cycles.
* ``c`` = cycles per weight column = ``column_stride / min(P, bus_bytes)`` (one bus beat per
  cycle, cut into P-wide chunks); ``c_bias`` the same for the 4H bias column, streamed at the
  first step after a reset only (``b`` = 1), issued before the scan (``e_first = -1`` then).
* ``e_first`` / ``e_last``: times at which the first / last passed-on delta leaves the scan,
  taken as the expected extremes of ``n_x`` (``n_h``) events spread uniformly over the input
  (hidden) part's scan time.
* The column stream runs back to back once started (AR bursts are issued ahead), so a layer
  ends when its columns are all through (fetch-bound) or one column after the last passed
  delta is scanned (scan-bound), plus the pipeline.

The constants live in :class:`RtlTiming` and are calibrated against the RTL's STEP_CYCLES
(benchmarks/perf_model.py checks the result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import HardwareConfig

from ..program import LayerLayout
from .workload import Network, check_counts


@dataclass(frozen=True)
class RtlTiming:
    """Cycle constants of the RTL (see the module docstring for where each one enters).

    Attributes:
        step: per-step overhead (STEP_CYCLES starts at the first ``x_in`` beat, so layer 0's
            LSTART/BIAS are not counted; the end is the last ``h_out`` beat).
        layer: LSTART and BIAS states of every layer after the first.
        scan_tail: cycles from the last scanned group to DRAIN's exit when nothing is fetched.
        fetch_pipe: cycles from a column's last beat to its last accumulator write, less the
            memory latency (fetch request, AR, R, chunker, 3-stage accumulate).
        act_lat: activation pipeline latency plus ACT's entry and exit cycles.
        out_lat: last layer: cycles beyond H from ACT's start to the last ``h_out`` beat.
    """

    step: int = 36
    layer: int = 2
    scan_tail: int = 19
    fetch_pipe: int = 3
    act_lat: int = 10
    out_lat: int = 11

    def fetch_tail(self, mem_latency: int = 1) -> int:
        return self.fetch_pipe + mem_latency


#: The constants of the RTL in src/edgedrnn/hw (calibrated: benchmarks/perf_model.py).
TIMING = RtlTiming()


def layouts(net: Network, hw: HardwareConfig) -> list[LayerLayout]:
    """The program's weight layout for these sizes (what the RTL streams)."""
    out, offset = [], 0
    for n_in, n_h in net.layers:
        lay = LayerLayout.plan(n_in, n_h, offset, hw)
        out.append(lay)
        offset = lay.end
    return out


def column_cycles(lay: LayerLayout, hw: HardwareConfig) -> tuple[float, float]:
    """Cycles the PE array spends on one input/hidden column and on the bias column."""
    per_cycle = min(hw.num_pe, hw.bus_bytes)
    return lay.column_stride / per_cycle, lay.bias_stride / per_cycle


def scan_time(size: int, lanes: int, k: np.ndarray, serial: bool) -> np.ndarray:
    """Cycles to scan a part of ``size`` elements with ``k`` passed on."""
    k = np.asarray(k, dtype=np.float64)
    if serial:
        return np.full(k.shape, float(size))
    # a row group is read per cycle while the serializer sends one passed delta per cycle:
    # whichever is slower sets the pace (the group FIFO between them absorbs the bunching)
    return np.maximum(float(-(-size // lanes)), k)


def layer_parts(
    lay: LayerLayout,
    hw: HardwareConfig,
    nx: np.ndarray,
    nh: np.ndarray,
    bias: np.ndarray,
    first_layer: bool,
    last_layer: bool,
    timing: RtlTiming = TIMING,
    mem_latency: int = 1,
) -> dict[str, np.ndarray]:
    """Per-step terms of one layer: ``scan``, ``fetch`` (end times), ``body`` and ``act``."""
    n_in, n_h, P = lay.input_size, lay.hidden_size, hw.num_pe
    c, c_bias = column_cycles(lay, hw)
    nx = np.asarray(nx, dtype=np.float64)
    nh = np.asarray(nh, dtype=np.float64)
    n = nx + nh
    sx = scan_time(n_in, P, nx, serial=first_layer)
    sh = scan_time(n_h, P, nh, serial=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(nx > 0, (sx - nx) / (nx + 1), sx + (sh - nh) / (nh + 1))
        last = np.where(nh > 0, sx + sh - 1 - (sh - nh) / (nh + 1), sx - 1 - (sx - nx) / (nx + 1))
    start = np.where(bias > 0, -1.0, first)
    fetch = np.maximum(start + bias * c_bias + n * c, np.where(n > 0, last + c, -np.inf))
    fetch = np.where((n == 0) & (bias == 0), -np.inf, fetch)
    scan = sx + sh
    body = np.maximum(scan + timing.scan_tail, fetch + timing.fetch_tail(mem_latency))
    act_groups = math.ceil(n_h / P) + timing.act_lat
    act = float(max(act_groups, n_h + timing.out_lat) if last_layer else act_groups)
    return {"scan": scan, "fetch": fetch, "body": body, "act": np.full(n.shape, act)}


def step_cycles(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    timing: RtlTiming = TIMING,
    mem_latency: int = 1,
) -> np.ndarray:
    """Modelled cycles of every step (float64 (T,)), as STEP_CYCLES counts them.

    Args:
        net: layer sizes.
        counts: passed-on deltas (T, L, 2) like ``Result.nonzero`` (bias not counted).
        hw: the instance (num_pe, bus_bits).
        from_reset: if true, step 0 also streams each layer's bias column.
        timing: the RTL's constants.
        mem_latency: cycles from a weight burst request to its first beat.
    """
    c = check_counts(net, counts)
    steps = c.shape[0]
    bias = np.zeros(steps)
    if from_reset and steps:
        bias[0] = 1.0
    total = np.full(steps, float(timing.step + timing.layer * (net.num_layers - 1)))
    last = net.num_layers - 1
    for li, lay in enumerate(layouts(net, hw)):
        p = layer_parts(
            lay, hw, c[:, li, 0], c[:, li, 1], bias, li == 0, li == last, timing, mem_latency
        )
        total += p["body"] + p["act"]
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
