"""Cycle and DRAM model of this project's RTL (:mod:`edgedrnn.hw`), from delta counts.

The one cycle model of the RTL: :mod:`edgedrnn.perf.estimate`, the report, the benchmarks and
the tests all use it. Its constants are sums of the pipeline depths and latencies that the RTL
components are built from (:mod:`edgedrnn.hw.pipeline`); nothing is fitted. docs/perf-model.md
derives them and works an example; docs/rtl.md ("Where the cycles go") describes the cycles.

Times are counted in cycles from the layer's first scan issue (``F_l``; STEP_CYCLES counts from
layer 0's first ``x_in`` beat, ``F_0 = 0``). Per layer ``l`` with ``S_l`` scan issues, ``n_l``
passed-on columns of ``c_l`` cycles (:func:`column_cycles`), the bias column (``b_l`` cycles, at
the first step after a reset only) issued at ``B_l``, and the first / last passed delta issued
at ``e_first`` / ``e_last``::

    A_l     = max(S_l − 1 + SCAN_TAIL,  stream_l − 1 + BEAT_TO_ACT)          (ACT starts)
    stream_l = max(max(bias_l, e_first + ISSUE_TO_AR + Lm) + n_l·c_l,      (weight stream
                   e_last + ISSUE_TO_AR + Lm + k·c_l)                        ends; n_l > 0)
    bias_l   = B_l + ISSUE_TO_AR + Lm + b_l   (first step after a reset; else −∞, and
                                              stream_l = bias_l when n_l = 0)
    F_l+1 − A_l = LAYER_SWITCH(H_l) = max(⌈H_l/P⌉ + ACT_DONE + LAYER_SETUP_CYCLES,
                                          ACT_TO_H + AVAIL_DELAY)
    STEP_CYCLES = A_L−1 + ACT_TO_OUT + H_L−1 − 1                             (one h_out per beat)

``Lm`` is the memory latency (cycles from an AR handshake to its first R beat). The scan takes
layer 0's inputs one per cycle and every other part a row group of P per cycle; the encoder's
serializer sends one passed delta per cycle, so a part of N elements with k passed takes
``max(⌈N/P⌉, k)`` cycles. :func:`step_cycles` places the passed deltas at their expected
positions (spread uniformly over each part's scan, ``k = 1`` column at the last one);
:func:`step_cycle_bounds` all at the earliest and all at the latest position the scan allows
(``k = n_l``), which bound STEP_CYCLES (equal, and exact, when no column is read).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import HardwareConfig
from ..hw import pipeline as pl
from ..program import LayerLayout
from .workload import Network, check_counts

# ---------------------------------------------------------------------------------------------
# Constants, derived from the pipeline (edgedrnn.hw.pipeline). The single registers of the
# controller's hand-offs have no constant there; the comment names the register.

#: Cycles from a scan issue (S0: read addresses, or an ``x_in`` beat) to the encoder's input.
SCAN_TO_ENCODER = pl.SCAN_LATENCY
#: Cycles from the encoder's input to its first delta on ``out``: the register stages E0–E3,
#: the group FIFO and the serializer's hold register.
ENCODER_TO_DELTA = pl.ENCODER_LATENCY
#: Cycles from the scan issue of a passed element to its column's first ``arvalid``: the scan,
#: the encoder, the delta FIFO and the weight fetch.
ISSUE_TO_AR = SCAN_TO_ENCODER + ENCODER_TO_DELTA + pl.DELTA_FIFO_LATENCY + pl.FETCH_LATENCY
#: Cycles from the cycle in which the whole datapath is idle to ACT's first cycle: the idle
#: detection's register stages, then the cycle in which DRAIN sees it and moves to ACT.
IDLE_TO_ACT = pl.IDLE_STAGES + 1
#: Cycles from the layer's last scan issue to ACT when nothing is passed on: the row group
#: passes the scan and encoder register stages (S1, S2, E0–E3), the datapath is idle the
#: cycle after, then IDLE_TO_ACT.
SCAN_TAIL = SCAN_TO_ENCODER + pl.ENCODER_STAGES + 1 + IDLE_TO_ACT
#: Cycles from a layer's last weight beat to ACT: the PE array drains, then it is seen idle.
BEAT_TO_ACT = pl.PE_DRAIN + IDLE_TO_ACT
#: Cycles from an activation issue (A0) to the units' new h (``o_valid``).
ACT_TO_H = pl.ACT_ISSUE_LATENCY + pl.ACT_LATENCY
#: Cycles after a layer's last activation issue before the controller leaves ACT: it sees
#: "no row group left" through the activation's register ``ga_nz`` (activate.py).
ACT_DONE = 1
#: Cycles from a row group's new h to the next layer's scan taking it: the scan sees it through
#: the register ``avail_nz`` (row groups of new h available).
AVAIL_DELAY = 1
#: Cycles from the last layer's first activation issue to its first ``h_out`` beat: the
#: activation, then the output FIFO and the serializer register ``ob``.
ACT_TO_OUT = ACT_TO_H + pl.OUTPUT_LATENCY
#: Cycles from layer 0's bias issue to the first ``x_in`` beat: the bias is issued in LSETUP2,
#: the last cycle of the layer setup, and SCAN_X takes its first beat in the next.
BIAS_LEAD_0 = 1


def _groups(n, p: int):
    return -(-n // p)


def layer_switch(hidden_size: int, num_pe: int) -> int:
    """Cycles from a layer's ACT start to the next layer's first scan issue.

    The controller issues ``⌈H/P⌉`` activation row groups, leaves ACT and sets up the next
    layer (LSTART, LSETUP, LSETUP2); that layer's scan of row group j then waits for row group
    j of the new h, which comes out of the activation ACT_TO_H cycles after its issue.
    """
    return max(
        _groups(hidden_size, num_pe) + ACT_DONE + pl.LAYER_SETUP_CYCLES, ACT_TO_H + AVAIL_DELAY
    )


def bias_issue(layer: int, prev_hidden: int, num_pe: int) -> int:
    """Cycle of a layer's bias issue (LSETUP2) relative to its first scan issue (< 0)."""
    if layer == 0:
        return -BIAS_LEAD_0
    setup_end = _groups(prev_hidden, num_pe) + ACT_DONE + pl.LAYER_SETUP_CYCLES - 1
    return setup_end - layer_switch(prev_hidden, num_pe)


def column_cycles(hw: HardwareConfig, rows_per_gate: int, bias: bool = False) -> int:
    """Cycles one column occupies the weight stream: ``max(beats, chunks)``.

    A column holds ``3 · rows_per_gate`` weights (the bias column ``4 · rows_per_gate``); the
    bus delivers one beat of ``bus_bytes`` per cycle and the PE array takes one chunk of
    NUM_PE per cycle, skipping the bus padding of the column's last beat.
    """
    n = (4 if bias else 3) * rows_per_gate
    return max(_groups(n, hw.bus_bytes), n // hw.num_pe)


def layouts(net: Network, hw: HardwareConfig) -> list[LayerLayout]:
    """The program's weight layout for these sizes (what the RTL streams)."""
    out, offset = [], 0
    for n_in, n_h in net.layers:
        lay = LayerLayout.plan(n_in, n_h, offset, hw)
        out.append(lay)
        offset = lay.end
    return out


def scan_cycles(size: int, lanes: int, k, serial: bool) -> np.ndarray:
    """Cycles to scan a part of ``size`` elements with ``k`` passed on.

    Layer 0's inputs arrive one per cycle (``serial``); otherwise a row group is read per
    cycle while the serializer sends one passed delta per cycle (the encoder's group FIFO
    absorbs the bunching), and the slower of the two sets the pace.
    """
    k = np.asarray(k, dtype=np.float64)
    if serial:
        return np.full(k.shape, float(size))
    return np.maximum(float(_groups(size, lanes)), k)


def _positions(sx, sh, nx, nh, place: str):
    """Issue cycles of the first and the last passed delta of a layer (relative to F_l)."""
    if place == "expected":
        # expected extremes of k positions drawn uniformly from a part's N scan cycles
        with np.errstate(divide="ignore", invalid="ignore"):
            first = np.where(nx > 0, (sx - nx) / (nx + 1), sx + (sh - nh) / (nh + 1))
            last = np.where(
                nh > 0, sx + sh - 1 - (sh - nh) / (nh + 1), sx - 1 - (sx - nx) / (nx + 1)
            )
        return first, last
    if place == "early":
        first = np.where(nx > 0, 0.0, sx)
        return first, first
    if place == "late":
        last = np.where(nh > 0, sx + sh - 1, sx - 1)
        return last, last
    raise ValueError(f"unknown placement {place!r}")


def _step(
    net: Network,
    c: np.ndarray,
    hw: HardwareConfig,
    bias: np.ndarray,
    mem_latency: int,
    place: str,
) -> np.ndarray:
    p = hw.num_pe
    total = np.zeros(c.shape[0], dtype=np.float64)
    for li, (lay, (n_in, n_h)) in enumerate(zip(layouts(net, hw), net.layers, strict=True)):
        nx, nh = c[:, li, 0], c[:, li, 1]
        n = nx + nh
        if place == "expected":
            sx = scan_cycles(n_in, p, nx, serial=li == 0)
            sh = scan_cycles(n_h, p, nh, serial=False)
        else:  # the scan without stalls
            sx = np.full(n.shape, float(n_in if li == 0 else _groups(n_in, p)))
            sh = np.full(n.shape, float(_groups(n_h, p)))
        first, last = _positions(sx, sh, nx, nh, place)
        col = column_cycles(hw, lay.rows_per_gate)
        b = column_cycles(hw, lay.rows_per_gate, bias=True)
        prev_h = net.layers[li - 1][1] if li else 0
        lead = ISSUE_TO_AR + mem_latency
        # the bias column (issued in LSETUP2) streams first; the passed columns follow back to
        # back, the first of them not before its delta's issue + lead, none before its own:
        # the last position holds one column (expected) or all of them (the bounds, where
        # every passed delta sits at one position)
        bias_end = np.where(bias > 0, bias_issue(li, prev_h, p) + lead + b, -np.inf)
        tail = np.minimum(n, 1) if place == "expected" else n
        columns_end = np.maximum(
            np.maximum(bias_end, first + lead) + n * col, last + lead + tail * col
        )
        stream = np.where(n > 0, columns_end, bias_end)
        act = np.maximum(sx + sh - 1 + SCAN_TAIL, stream - 1 + BEAT_TO_ACT)
        total += act
        if li < net.num_layers - 1:
            total += layer_switch(n_h, p)
        else:
            total += ACT_TO_OUT + n_h - 1
    return total


def _bias(steps: int, from_reset: bool) -> np.ndarray:
    bias = np.zeros(steps)
    if from_reset and steps:
        bias[0] = 1.0
    return bias


def step_cycles(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
) -> np.ndarray:
    """Modelled cycles of every step (float64 (T,)), as STEP_CYCLES counts them.

    Parameters
    ----------
    net : Network
        Layer sizes.
    counts : array_like
        Passed-on deltas (T, L, 2) like ``Result.nonzero`` (bias not counted); may be
        fractional (expected counts).
    hw : HardwareConfig
        The instance (NUM_PE, bus width).
    from_reset : bool
        If true, step 0 also streams each layer's bias column.
    mem_latency : int
        Cycles from an AR handshake to its first R beat.

    Returns
    -------
    numpy.ndarray
        float64 (T,): the passed deltas at their expected positions in the scan.
    """
    c = check_counts(net, counts)
    return _step(net, c, hw, _bias(c.shape[0], from_reset), mem_latency, "expected")


def step_cycle_bounds(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of every step's STEP_CYCLES (int64 (T,) each).

    The passed deltas at the earliest (every layer's first passed delta in its first scan
    cycle of that part) and the latest positions (all in the last scan cycle of their part),
    the scan without stalls; no bus stalls, ``x_in`` always valid, ``h_out`` always ready.
    Without passed-on columns (and bias) both bounds are the exact count.

    Parameters are those of :func:`step_cycles`; ``counts`` are integers.
    """
    c = check_counts(net, counts)
    bias = _bias(c.shape[0], from_reset)
    lo = _step(net, c, hw, bias, mem_latency, "early")
    hi = _step(net, c, hw, bias, mem_latency, "late")
    return lo.astype(np.int64), hi.astype(np.int64)


def dram_bytes(net: Network, counts, hw: HardwareConfig, from_reset: bool = True) -> np.ndarray:
    """Weight bytes read per step (T,): one padded column per passed-on delta, plus the bias
    column of every layer at the first step after a reset."""
    c = check_counts(net, counts)
    out = np.zeros(c.shape[0], dtype=np.float64)
    for li, lay in enumerate(layouts(net, hw)):
        out += (c[:, li, 0] + c[:, li, 1]) * lay.column_stride
        if from_reset and len(out):
            out[0] += lay.bias_stride
    return out


def network(input_size: int, hidden_sizes: Sequence[int]) -> Network:
    """A :class:`Network` from an input size and the hidden sizes of its layers."""
    sizes_in = [input_size, *hidden_sizes[:-1]]
    return Network(tuple(zip(sizes_in, hidden_sizes, strict=True)))
