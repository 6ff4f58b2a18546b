"""Cycle and DRAM model of this project's RTL (:mod:`edgedrnn.hw`), from delta counts.

The one cycle model of the RTL: :mod:`edgedrnn.perf.estimate`, the report, the benchmarks and
the tests all use it. Its constants are sums of the pipeline depths and latencies that the RTL
components are built from (:mod:`edgedrnn.hw.pipeline`); nothing is fitted. docs/perf-model.md
derives them and works an example; docs/rtl.md ("Controller", "Where the cycles go")
describes the schedule.

A step has two parts (docs/rtl.md, *Controller*). The **hidden part** (every layer's bias at
the first step after a reset, then its hidden columns; from the last layer down to layer 0)
starts when the previous step has ended (its last ``h_out`` beat, cycle 0) and ends in WAITX
at ``E``, right after layer 0's last hidden scan issue (no drain: layer 0's input columns
follow its hidden columns on the same layer registers); the **input part** (every layer's
input columns and activation) starts when WAITX sees ``x_in`` valid, at
``W = max(E, offer)``, and ends with the step's last ``h_out`` beat. Per part of a layer with
``S`` scan issues, ``n`` passed-on columns of ``c`` cycles (:func:`column_cycles`), the bias
column (``b`` cycles, issued BIAS_LEAD cycles before the hidden scan) and the first / last
passed delta issued at ``e_first`` / ``e_last`` (cycles from the part's first scan issue)::

    part    = max(S − 1 + SCAN_TAIL,  stream − 1 + BEAT_TO_ACT)   (to the next state)
    stream  = max(max(bias, e_first + ISSUE_TO_AR + Lm) + n·c,      (weight stream ends;
                  e_last + ISSUE_TO_AR + Lm + k·c)                   n > 0)
    bias    = −BIAS_LEAD + ISSUE_TO_AR + Lm + b   (first step after a reset; else −∞, and
                                                  stream = bias when n = 0)
    E       = HIDDEN_START + Σ_l≥1 (hidden part_l + LAYER_SETUP_CYCLES) + S_h,0
    busy_0  = stream_h,0 − S_h,0 − (W − E) − INPUT_START   (layer 0's input part takes it
                                                  as its ``bias``: its hidden columns' end)
    latency = INPUT_START + 1 + Σ_l<L−1 (input part_l + LAYER_SWITCH(H_l))
              + input part_L−1 + ACT_TO_OUT + ⌈H_L−1/P⌉ − 1             (LATENCY, paced)
    STEP_CYCLES = max(E, offer) + latency − 1   (back to back: offer ≤ E, so E + latency − 1)

``Lm`` is the memory latency (cycles from an AR handshake to its first R beat). The scan takes
a row group of P per cycle (layer 0's inputs: an ``x_in`` beat), the output side sends one
per ``h_out`` beat; the encoder's serializer sends one passed delta per cycle, so a part of N
elements with k passed takes ``max(⌈N/P⌉, k)`` cycles. :func:`step_cycles` and
:func:`step_latency` place the passed deltas at their expected positions (spread uniformly
over each part's scan, ``k = 1`` column at the last one); the bounds all at the earliest and
all at the latest position the scan allows (``k = n``), which bound the measured figures
(equal, and exact, when no column is read).
For the first step after a reset, STEP_CYCLES counts from ``x_in``'s first valid cycle; the
model counts it like the others, from the cycle before its hidden part starts.

Back to back with two or more layers a step starts early (docs/rtl.md, *Controller*,
*Column contexts*): its input is already queued when the previous step's last layer flips
its column context (with no column in flight, the cycle its activation starts), so it
starts then, in order, before the previous step's end (its last ``h_out`` beat, still to
come); STEP_CYCLES is counted between the two ends. Offered, a step starts early when its
input is valid by then.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import HardwareConfig
from ..hw import pipeline as pl
from ..program import LayerLayout
from .memory import MemorySystem
from .workload import Network, check_counts

# ---------------------------------------------------------------------------------------------
# Constants, derived from the pipeline (edgedrnn.hw.pipeline). The single registers of the
# controller's hand-offs have no constant there; the comment names the register.

#: Cycles from a scan issue (S0: read addresses, or an ``x_in`` beat) to the encoder's input.
SCAN_TO_ENCODER = pl.SCAN_LATENCY
#: Cycles from the encoder's input to its first delta on ``out``: the register stages E1–E3,
#: the group FIFO and the serializer's hold register.
ENCODER_TO_DELTA = pl.ENCODER_LATENCY
#: Cycles from the scan issue of a passed element to its column's first ``arvalid``: the scan,
#: the encoder, the delta FIFO and the weight fetch.
ISSUE_TO_AR = SCAN_TO_ENCODER + ENCODER_TO_DELTA + pl.DELTA_FIFO_LATENCY + pl.FETCH_LATENCY
#: Cycles from the cycle in which the whole datapath is idle to ACT's first cycle: the idle
#: detection's register stages, then the cycle in which DRAIN sees it and moves to ACT.
IDLE_TO_ACT = pl.IDLE_STAGES + 1
#: Cycles from the layer's last scan issue to ACT when nothing is passed on: the row group
#: passes the scan and encoder register stages (S1, S2, E1–E3), the datapath is idle the
#: cycle after, then IDLE_TO_ACT.
SCAN_TAIL = SCAN_TO_ENCODER + pl.ENCODER_STAGES + 1 + IDLE_TO_ACT
#: Cycles from a layer's last weight beat to ACT: the PE array drains (its idle term, seen
#: through the idle detection, runs ahead of its idle by PE_IDLE_LEAD).
BEAT_TO_ACT = pl.PE_DRAIN - pl.PE_IDLE_LEAD + IDLE_TO_ACT
#: Cycles from an activation issue (A0) to the units' new h (``o_valid``).
ACT_TO_H = pl.ACT_ISSUE_LATENCY + pl.ACT_LATENCY
#: Cycles after a layer's last activation issue before the controller's ACT flag (and, last
#: layer, the wait in ACT) sees "no row group left", through the activation's register
#: ``ga_nz`` (activate.py).
ACT_DONE = 1
#: Cycles from a row group's new h (``o_valid``, its h memory write) to the next layer's scan
#: taking it: the scan sees it through the register ``avail``, counted AVAIL_LEAD cycles
#: early (the word forwarded where the scan's read misses its write), so this is negative.
AVAIL_DELAY = 1 - pl.AVAIL_LEAD
#: Cycles from the last layer's first activation issue to its first ``h_out`` beat: the
#: activation, then the output FIFO and the serializer register ``ob``.
ACT_TO_OUT = ACT_TO_H + pl.OUTPUT_LATENCY
#: Cycles from the bias issue (LSETUP2, hidden part of the first step after a reset) to the
#: layer's first hidden scan issue (SCAN_H follows LSETUP2).
BIAS_LEAD = 1
#: Cycles from the previous step's last ``h_out`` beat to layer 0's first hidden scan issue:
#: DONE moves to CHECK, CHECK_CYCLES, then the layer setup.
HIDDEN_START = 1 + pl.CHECK_CYCLES + pl.LAYER_SETUP_CYCLES
#: Cycles from the cycle WAITX sees ``x_in`` valid to layer 0's first input scan issue:
#: WAITX loads the scan's input pointers (layer 0's registers are loaded since its hidden
#: part, the last one) and moves to SCAN_X.
INPUT_START = 1


#: The latest offer (cycles after the previous step's last ``h_out`` beat) at which a step
#: runs in order: CHECK's last cycle sees ``x_in`` valid.
IN_ORDER_OFFER = pl.CHECK_CYCLES
#: Cycles from the previous step's last ``h_out`` beat back to the last layer's ACT, for
#: ``⌈H/P⌉ = 0``: a step whose input is valid in ACT starts early (networks of two or more
#: layers: in order, while the previous step's activation and output finish), at the cycle
#: ACT sees it, at the earliest ``ACT_TO_OUT − 1 + ⌈H/P⌉`` cycles before the previous end.
EARLY_OFFER = -(ACT_TO_OUT - 1)
#: Cycles from the last layer's ACT start after which the scan may issue again (the
#: activation reads the h memory while it issues its ``⌈H/P⌉`` row groups; + this).
ACT_ISSUE_END = ACT_DONE
#: Cycles by which a passed delta at a layer's last scan issue delays the scan side's move
#: to the next layer (the flip) beyond SCAN_TAIL: the serializer lets it out
#: ENCODER_LATENCY after the encoder's input, later than the last row group's group FIFO
#: write (E4), which SCAN_TAIL waits for.
DELTA_DRAIN = pl.ENCODER_LATENCY - pl.ENCODER_STAGES
#: Cycles from the start of the column QUEUE columns ahead of a layer's last delta (the
#: queues full: the delta waits for room) to the flip: the command FIFO's pop, the delta
#: FIFO's registered room, the encoder's idle term and the idle detection.
QUEUE_DRAIN = pl.DELTA_FIFO_LATENCY + 1 + 1 + IDLE_TO_ACT


def _groups(n, p: int):
    return -(-n // p)


def layer_switch(hidden_size: int, num_pe: int) -> int:
    """Cycles from a layer's ACT start to the next layer's first scan issue.

    The activation issues ``⌈H/P⌉`` row groups on its own while the controller sets up the
    next layer (LSTART, LSETUP, LSETUP2); that layer's scan waits until the activation has
    issued (ACT_ISSUE_END after its last row group: they share the h memory's read port), and
    its scan of row group j for row group j of the new h, which comes out of the activation
    ACT_TO_H cycles after its issue.
    """
    return max(int(in_order_switch(hidden_size, num_pe)), ACT_TO_H + AVAIL_DELAY)


def in_order_switch(hidden_size: int, num_pe: int, bias=0):
    """In order: cycles from a layer's ACT start to the next layer's first (hidden) scan
    issue: the layer setup, beside the activation's ``⌈H/P⌉`` issues (+ ACT_ISSUE_END).
    With the bias column (``bias``, the first step after a reset), queued in LSETUP2 or,
    while the activation still issues, after it (BIAS): the scan BIAS_LEAD after it."""
    off = _groups(hidden_size, num_pe) + ACT_ISSUE_END  # the first cycle the scan may issue
    plain = max(pl.LAYER_SETUP_CYCLES, off)
    late = max(pl.LAYER_SETUP_CYCLES, off) + BIAS_LEAD  # the bias waits for the activation
    return np.where(
        np.asarray(bias) > 0, plain if off <= pl.LAYER_SETUP_CYCLES - 1 else late, plain
    )


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


def scan_cycles(size: int, lanes: int, k) -> np.ndarray:
    """Cycles to scan a part of ``size`` elements with ``k`` passed on.

    A row group is read (layer 0's inputs: an ``x_in`` beat taken) per cycle while the
    serializer sends one passed delta per cycle (the encoder's group FIFO absorbs the
    bunching), and the slower of the two sets the pace.
    """
    k = np.asarray(k, dtype=np.float64)
    return np.maximum(float(_groups(size, lanes)), k)


def _positions(s, k, place: str):
    """Issue cycles of the first and the last passed delta of a part (from its first issue)."""
    if place == "expected":
        # expected extremes of k positions drawn uniformly from the part's S scan cycles
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = (s - k) / (k + 1)
        return gap, s - 1 - gap
    if place == "early":
        return np.zeros_like(s), np.zeros_like(s)
    if place == "late":
        return s - 1, s - 1
    raise ValueError(f"unknown placement {place!r}")


def _part(s, k, col: int, lead: int, bias_end, place: str) -> tuple[np.ndarray, np.ndarray]:
    """Cycles from a part's first scan issue to the next state ((H)DRAIN's exit), and the
    end of its weight stream (−∞ without columns), both from its first scan issue.

    ``bias_end``: the weight stream is busy until then (the bias column; layer 0's input
    part: its hidden columns)."""
    first, last = _positions(s, k, place)
    # the bias column streams first; the passed columns follow back to back, the first of them
    # not before its delta's issue + lead, none before its own: the last position holds one
    # column (expected) or all of them (the bounds, where every passed delta sits at one
    # position)
    tail = np.minimum(k, 1) if place == "expected" else k
    columns_end = np.maximum(np.maximum(bias_end, first + lead) + k * col, last + lead + tail * col)
    stream = np.where(k > 0, columns_end, bias_end)
    return np.maximum(s - 1 + SCAN_TAIL, stream - 1 + BEAT_TO_ACT), stream


def _scan_lengths(n_in, n_h, p, nx, nh, place):
    if place == "early":  # the scan without stalls
        sx = np.full(nx.shape, float(_groups(n_in, p)))
        sh = np.full(nx.shape, float(_groups(n_h, p)))
    else:  # expected and late: the serializer may hold the scan (one passed delta a cycle)
        sx = scan_cycles(n_in, p, nx)
        sh = scan_cycles(n_h, p, nh)
    return sx, sh


def _column(hw: HardwareConfig, lay: LayerLayout, li: int, column, memory=None) -> float:
    """Cycles of one input or hidden column of layer ``li`` (``column``: an override;
    ``memory``: a :class:`~edgedrnn.perf.memory.MemorySystem` bounding the stream)."""
    c = column_cycles(hw, lay.rows_per_gate) if column is None else column(li)
    return c if memory is None else memory.column_cycles(c, lay.column_stride, hw.bus_bytes)


def _hidden_part(hw, lay, li, sh, nh, bias, lead, place, column, memory=None):
    """A layer's hidden part, from its first scan issue: (to the next state, end of its
    weight stream); the bias column streams first on the first step after a reset."""
    b = column_cycles(hw, lay.rows_per_gate, bias=True)
    if memory is not None:
        b = memory.column_cycles(b, lay.bias_stride, hw.bus_bytes)
    bias_end = np.where(bias > 0, -BIAS_LEAD + lead + b, -np.inf)
    return _part(sh, nh, _column(hw, lay, li, column, memory), lead, bias_end, place)


def _step(
    net: Network,
    c: np.ndarray,
    hw: HardwareConfig,
    bias: np.ndarray,
    mem_latency: int,
    place: str,
    offer,
    column=None,
    memory: MemorySystem | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(E, latency) of every step: the hidden part's end (WAITX) and the input part (from
    the cycle WAITX sees ``x_in``, to the last ``h_out`` beat, both counted).

    ``offer``: None, back to back (WAITX waits for nothing); ``np.inf``, paced (the hidden
    columns have left before ``x_in`` comes); otherwise the offer of every step.
    ``column``: cycles of one input or hidden column of layer l, ``column(l)`` (default
    :func:`column_cycles`; :mod:`edgedrnn.perf.sparse` gives sparse columns'); ``memory``: the
    weight memory bounding every column (None: the ideal port)."""
    p = hw.num_pe
    lead = ISSUE_TO_AR + mem_latency
    lays, sizes = layouts(net, hw), net.layers
    hidden = np.full(c.shape[0], float(HIDDEN_START))
    # the hidden part, from the last layer down to layer 0; the layers above 0 drain and set
    # up the layer below, layer 0 goes to WAITX after its last scan issue
    for li in reversed(range(net.num_layers)):
        (n_in, n_h), lay = sizes[li], lays[li]
        nx, nh = c[:, li, 0], c[:, li, 1]
        _, sh = _scan_lengths(n_in, n_h, p, nx, nh, place)
        part, stream = _hidden_part(hw, lay, li, sh, nh, bias, lead, place, column, memory)
        if li > 0:
            hidden += part + pl.LAYER_SETUP_CYCLES
        else:
            hidden += sh
            stream0, sh0 = stream, sh
    wait = 0.0 if offer is None else np.maximum(np.asarray(offer, np.float64) - hidden, 0.0)
    # layer 0's hidden columns may still stream when its input scan starts: its input
    # columns follow them (from the input part's first scan issue)
    with np.errstate(invalid="ignore"):
        busy0 = np.where(np.isinf(wait), -np.inf, stream0 - sh0 - wait - INPUT_START)
    # LATENCY counts the offer's cycle and the last beat's cycle
    latency = np.full(c.shape[0], float(INPUT_START + 1))
    last = net.num_layers - 1
    for li, (lay, (n_in, n_h)) in enumerate(zip(lays, sizes, strict=True)):
        nx, nh = c[:, li, 0], c[:, li, 1]
        sx, _ = _scan_lengths(n_in, n_h, p, nx, nh, place)
        busy = busy0 if li == 0 else np.full(nx.shape, -np.inf)
        latency += _part(sx, nx, _column(hw, lay, li, column, memory), lead, busy, place)[0]
        if li < last:
            latency += layer_switch(n_h, p)
        else:
            latency += ACT_TO_OUT + _groups(n_h, p) - 1
    return hidden, latency


def _scan_window(lo, n, act, g):
    """First issue and end (the cycle after the last issue) of a scan of ``n`` row groups
    that starts no earlier than ``lo`` and issues nothing while an activation issues its
    ``g`` row groups from ``act`` (the controller's ACT flag: ``act`` to ``act + g``)."""
    first = lo if (lo < act or lo > act + g) else act + g + ACT_ISSUE_END
    end = first + n
    if first < act < end:
        end += g + ACT_ISSUE_END
    return first, end


def _held(start, length, hold):
    """End of a weight stream of ``length`` cycles from ``start`` that stalls while the PE
    array is held (``hold``: the first and last cycle; from the cycle before an activation's
    first accumulator read to the cycle before its last)."""
    h0, h1 = hold
    if length <= 0 or start > h1 or start + length <= h0:
        return start + length
    if start >= h0:
        return h1 + 1 + length
    return start + length + (h1 - h0 + 1)


def _in_order(
    net: Network,
    c: np.ndarray,
    hw: HardwareConfig,
    bias: np.ndarray,
    mem_latency: int,
    place: str,
    column=None,
    memory: MemorySystem | None = None,
    offer=None,
    from_reset: bool = True,
) -> np.ndarray:
    """STEP_CYCLES of every step run in order (its input offered by IN_ORDER_OFFER): layer by
    layer, each hidden scan right before the input scan on the same layer registers (one
    cycle between: WAITX or XSETUP), no drain between a layer's two parts; with column
    contexts (docs/rtl.md, *Column contexts*) the scan side moves on to the next layer (and,
    back to back, the next step: the early start) when it has queued the layer's last
    delta, the layer's activation starts when its columns have landed and holds the weight
    stream while it issues. Steps depend on the one before (its last activation, its
    stream), so they are followed one by one. ``column``, ``memory``: as for :func:`_step`;
    ``offer``: as for :func:`step_cycles`."""
    p = hw.num_pe
    lead = ISSUE_TO_AR + mem_latency
    lays, sizes = layouts(net, hw), net.layers
    L = net.num_layers
    T = c.shape[0]
    cols = [float(_column(hw, lay, li, column, memory)) for li, lay in enumerate(lays)]
    bias_cols = []
    for lay in lays:
        b = column_cycles(hw, lay.rows_per_gate, bias=True)
        if memory is not None:
            b = memory.column_cycles(b, lay.bias_stride, hw.bus_bytes)
        bias_cols.append(float(b))
    queue = pl.DELTA_FIFO_DEPTH - pl.DELTA_FIFO_SLACK + pl.CMD_FIFO_DEPTH + 1
    offers = None if offer is None else np.broadcast_to(np.asarray(offer, np.float64), (T,))
    g_last = _groups(sizes[-1][1], p)
    # the step before (times from its end): its last layer's flip (the ACT state's first
    # cycle) and activation (first issue), its weight stream's end and its PE hold
    act_prev = float(EARLY_OFFER - g_last)
    flip_prev, busy_prev = act_prev, -np.inf
    hold_prev = (act_prev, act_prev + g_last - 1)
    out = np.zeros(T)
    for t in range(T):
        bias_t = bias[t] > 0
        first_step = t == 0 and from_reset
        # the start: early, in the previous step's ACT (two or more layers), its input valid
        at = flip_prev if offers is None else max(offers[t], flip_prev)
        early = L >= 2 and not first_step and at <= -1
        lo = at + HIDDEN_START if early else float(HIDDEN_START)
        win = (act_prev, g_last) if early else (-np.inf, 0)
        busy = busy_prev if early else -np.inf
        hold = hold_prev if early else (-np.inf, -np.inf)
        # the previous step's last activation must have drained before layer 0's flip (its
        # last new h, then the controller's register ``act_free``, then the flip)
        free = act_prev + g_last + ACT_TO_H + 2 if early else -np.inf
        for li, (n_in, n_h) in enumerate(sizes):
            nx, nh = c[t, li, 0], c[t, li, 1]
            sx, sh = _scan_lengths(n_in, n_h, p, np.asarray(nx), np.asarray(nh), place)
            sx, sh = float(sx), float(sh)
            col = cols[li]
            g = _groups(n_h, p)
            # the bias (first step after a reset), queued in LSETUP2 unless the activation
            # issues: then after it, the scan BIAS_LEAD later
            bias_end = -np.inf
            if bias_t:
                b_at = lo - BIAS_LEAD
                if win[0] <= b_at <= win[0] + win[1]:
                    b_at = win[0] + win[1] + ACT_ISSUE_END
                    lo = max(lo, b_at + BIAS_LEAD)
                bias_end = _held(max(busy, b_at + lead), bias_cols[li], hold)
                busy = bias_end
            hs, he = _scan_window(lo, sh, *win)
            first, last = _positions(np.asarray(he - hs), np.asarray(nh), place)
            tail_h = min(nh, 1) if place == "expected" else nh
            if nh > 0:
                st = max(busy, hs + float(first) + lead)
                end = _held(st, nh * col, hold)
                busy = max(end, hs + float(last) + lead + tail_h * col)
            # the input scan: WAITX / XSETUP, then (layer > 0) the new h of the layer below
            xlo = he + INPUT_START
            if li > 0:
                xlo = max(xlo, win[0] + ACT_TO_H + AVAIL_DELAY)
            xs, xe = _scan_window(xlo, sx, *win)
            first, last = _positions(np.asarray(xe - xs), np.asarray(nx), place)
            tail = min(nx, 1) if place == "expected" else nx
            if nx > 0:
                st = max(busy, xs + float(first) + lead)
                busy = max(_held(st, nx * col, hold), xs + float(last) + lead + tail * col)
            # the flip (the next state's first cycle): the scan side has queued the last delta
            flip = xe - 1 + SCAN_TAIL
            if nx > 0:
                flip = max(flip, xs + float(last) + SCAN_TAIL + DELTA_DRAIN + tail - 1)
            elif nh > 0:
                flip = max(flip, hs + float(last) + SCAN_TAIL + DELTA_DRAIN + tail_h - 1)
            if nx + nh > 0:
                flip = max(flip, busy - queue * col + QUEUE_DRAIN)
            flip = max(flip, free)
            free = -np.inf
            act = max(flip, busy - 1 + BEAT_TO_ACT)
            hold = (act - 1 if act > flip else act, act + g - 2)
            win = (act, g)
            if li < L - 1:
                lo = flip + pl.LAYER_SETUP_CYCLES
        end_t = act + ACT_TO_OUT + g - 1
        out[t] = end_t
        act_prev, flip_prev, busy_prev = act - end_t, flip - end_t, busy - end_t
        hold_prev = (hold[0] - end_t, hold[1] - end_t)
    return out


def _bias(steps: int, from_reset: bool) -> np.ndarray:
    bias = np.zeros(steps)
    if from_reset and steps:
        bias[0] = 1.0
    return bias


def _in_order_mask(offer) -> np.ndarray | bool:
    """Steps whose input is offered early enough to run in order (offer None: all)."""
    if offer is None:
        return True
    return np.asarray(offer, np.float64) <= IN_ORDER_OFFER


def _cycles(parts, in_order: np.ndarray, offer) -> np.ndarray:
    """STEP_CYCLES: in order, or the two parts with ``x_in`` offered ``offer`` cycles after
    the previous end."""
    if offer is None:
        return in_order
    hidden, latency = parts
    ahead = np.maximum(hidden, np.asarray(offer, np.float64)) + latency - 1
    return np.where(_in_order_mask(offer), in_order, ahead)


def _latency(parts, in_order: np.ndarray, offer) -> np.ndarray:
    """LATENCY: from the cycle ``x_in`` is offered (``offer`` after the previous end; None:
    paced, after the hidden part) to the last ``h_out`` beat, both counted."""
    hidden, latency = parts
    if offer is None:
        return latency
    offer = np.asarray(offer, np.float64)
    ahead = np.maximum(hidden - offer, 0.0) + latency
    return np.where(_in_order_mask(offer), in_order - offer + 1, ahead)


def _figure(
    net,
    counts,
    hw,
    from_reset,
    mem_latency,
    offer,
    figure,
    place,
    paced_latency=False,
    column=None,
    memory=None,
):
    c = check_counts(net, counts)
    bias = _bias(c.shape[0], from_reset)
    at = np.inf if paced_latency else offer
    if memory is not None:
        mem_latency = memory.latency
    parts = _step(net, c, hw, bias, mem_latency, place, at, column, memory)
    in_order = _in_order(net, c, hw, bias, mem_latency, place, column, memory, offer, from_reset)
    return figure(parts, in_order, offer)


def step_cycles(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
    offer=None,
    memory: MemorySystem | None = None,
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
    offer : int or array_like (T,), optional
        Cycles from the previous step's last ``h_out`` beat to the step's ``x_in`` being
        valid (≤ IN_ORDER_OFFER, or negative for an input queued before: the step runs in
        order); None: back to back (every input queued, every step in order).
    memory : MemorySystem, optional
        The weight memory (:mod:`edgedrnn.perf.memory`): every column streams no faster
        than it allows, and its latency replaces ``mem_latency``. None: the ideal port.

    Returns
    -------
    numpy.ndarray
        float64 (T,): the passed deltas at their expected positions in the scan.
    """
    return _figure(
        net, counts, hw, from_reset, mem_latency, offer, _cycles, "expected", memory=memory
    )


def step_latency(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
    offer=None,
    memory: MemorySystem | None = None,
) -> np.ndarray:
    """Modelled latency of every step (float64 (T,)), as LATENCY counts it: cycles from the
    step's first ``x_in`` valid to its last ``h_out`` beat.

    Parameters are those of :func:`step_cycles`; ``offer`` None means paced inputs (``x_in``
    valid after the step's hidden part has ended, the hidden columns off the latency path).
    """
    return _figure(
        net,
        counts,
        hw,
        from_reset,
        mem_latency,
        offer,
        _latency,
        "expected",
        offer is None,
        memory=memory,
    )


def _bounds(net, counts, hw, from_reset, mem_latency, offer, figure):
    paced = figure is _latency and offer is None
    lo = _figure(net, counts, hw, from_reset, mem_latency, offer, figure, "early", paced)
    hi = _figure(net, counts, hw, from_reset, mem_latency, offer, figure, "late", paced)
    if figure is _cycles and from_reset and len(lo):
        # the first step after a reset starts (the bias, ahead of its input) at the reset;
        # its count starts at its input's offer, which may come at any time: at the
        # latest, only its input part is counted, at the earliest the whole step ahead
        c = check_counts(net, counts)
        bias = _bias(c.shape[0], from_reset)
        early = _step(net, c, hw, bias, mem_latency, "early", np.inf)
        late = _step(net, c, hw, bias, mem_latency, "late", None)
        lo[0] = min(lo[0], early[1][0])
        hi[0] = max(hi[0], late[0][0] + late[1][0] - 1)
    return lo.astype(np.int64), hi.astype(np.int64)


def step_cycle_bounds(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
    offer=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of every step's STEP_CYCLES (int64 (T,) each).

    The passed deltas at the earliest (every part's first passed delta in its first scan
    cycle) and the latest positions (all in the last scan cycle of their part), the scan
    without stalls; no bus stalls, ``x_in`` valid ``offer`` cycles after the previous step's
    end (None: queued before), ``h_out`` always ready. Without passed-on columns (and bias)
    both bounds are the exact count.

    Parameters are those of :func:`step_cycles`; ``counts`` are integers.
    """
    return _bounds(net, counts, hw, from_reset, mem_latency, offer, _cycles)


def step_latency_bounds(
    net: Network,
    counts,
    hw: HardwareConfig,
    from_reset: bool = True,
    mem_latency: int = 1,
    offer=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of every step's LATENCY (int64 (T,) each), as
    :func:`step_cycle_bounds` bounds STEP_CYCLES (``offer`` None: paced inputs)."""
    return _bounds(net, counts, hw, from_reset, mem_latency, offer, _latency)


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
