"""Cycles and DRAM bytes per step with a sparse weight image (issue 15), on our RTL's schedule.

The model of the sparse build (``HardwareConfig(sparse_weights=True)``, docs/rtl.md); it is
separate from :mod:`edgedrnn.perf.rtl`, whose dense figures it does not change, and matches
the sparse RTL as closely as that model the dense one (tests/perf/test_vs_rtl.py). The
schedule (scan, encoder, hidden part ahead of the input part, activation) is
:mod:`edgedrnn.perf.rtl`'s; only an input or hidden column's cost differs. A column of a
sparse image with ``n`` slots (docs/program-format.md, *Sparse weight image*) is ``3·n``
slots of ``P`` two-byte entries, one per PE lane:

* on the bus: ``6·n·P`` bytes, ``beats = ⌈6·n·P / W⌉`` beats of ``W = bus_bits / 8`` bytes,
  the column padded to whole beats (``column_stride`` bytes read from DRAM);
* in the PE array: one slot per cycle (every lane adds one entry into the bank row its
  index names), ``3·n`` cycles;

so a column occupies the weight stream ``max(beats, 3·n)`` cycles (:func:`column_cycles`),
against ``max(⌈3R / W⌉, 3R / P)`` for a dense one of ``R`` rows per gate. With 8 PEs and a
64-bit bus a slot is two beats: ``6·n`` cycles, bus-bound like the dense column. The bias
column stays dense (``4R`` bytes, once after a reset).

Example (the paper's point, 2L-768H, 8 PEs, 64-bit bus, γ = 15/16 → n = 6)::

    from edgedrnn.perf import Network, sparse
    s = sparse.sparse_step(Network.stacked(40, 768, 2), 15 / 16, occupancy=0.1)
    s.cycles, s.dram_bytes, s.dram_reduction
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import HardwareConfig
from ..program import LayerLayout
from ..sparse.image import balanced_slots, column_bytes
from . import rtl
from .workload import Network, check_counts, dense_counts, occupancy_counts


def column_cycles(hw: HardwareConfig, slots: int) -> int:
    """Cycles one sparse column of ``slots`` entries per (gate, lane) occupies the stream."""
    beats = -(-column_bytes(slots, hw.num_pe) // hw.bus_bytes)
    return max(beats, 3 * slots)


def layer_slots(net: Network, sparsity: float | Sequence[int], num_pe: int) -> list[int]:
    """Slots per layer: from a weight sparsity γ (:func:`edgedrnn.prune`'s count) or given."""
    if isinstance(sparsity, int | float):
        if not 0 <= sparsity < 1:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
        return [balanced_slots(float(sparsity), h, num_pe) for _, h in net.layers]
    slots = [int(n) for n in sparsity]
    if len(slots) != net.num_layers:
        raise ValueError(f"give one slot count per layer ({net.num_layers}), got {slots}")
    for (_, h), n in zip(net.layers, slots, strict=True):
        if not 1 <= n <= -(-h // num_pe):
            raise ValueError(f"slots {n} outside 1..{-(-h // num_pe)} for {h} hidden units")
    return slots


def layouts(net: Network, hw: HardwareConfig, slots: Sequence[int]) -> list[LayerLayout]:
    """The sparse image's layout for these sizes and slots (what the fetch unit streams)."""
    shw = dataclasses.replace(hw, sparse_weights=True)
    out, offset = [], 0
    for (n_in, n_h), n in zip(net.layers, slots, strict=True):
        lay = LayerLayout.plan(n_in, n_h, offset, shw, n)
        out.append(lay)
        offset = lay.end
    return out


@dataclass(frozen=True)
class SparseStep:
    """Modelled figures per step (float64 (T,) arrays) for a sparse image, and the dense
    image's figures on the same counts (the same network without pruning).

    Attributes
    ----------
    slots : list of int
        Entries per (column, gate, lane) of each layer.
    cycles, latency : numpy.ndarray
        STEP_CYCLES back to back (every input queued: each step in order) and LATENCY with
        paced inputs (the hidden parts ahead), as :mod:`edgedrnn.perf.rtl` models them.
    dram_bytes : numpy.ndarray
        Weight bytes read per step (padded sparse columns, plus the dense bias columns at the
        first step after a reset).
    dense_cycles, dense_latency, dense_dram_bytes : numpy.ndarray
        The same for the dense image.
    dense_step_dram_bytes : float
        Bytes of a dense GRU step (every column of the dense image, Θ = 0).
    """

    slots: list[int]
    cycles: np.ndarray
    latency: np.ndarray
    dram_bytes: np.ndarray
    dense_cycles: np.ndarray
    dense_latency: np.ndarray
    dense_dram_bytes: np.ndarray
    dense_step_dram_bytes: float

    @property
    def dram_reduction(self) -> float:
        """A dense GRU step's bytes over this workload's mean bytes per step."""
        return self.dense_step_dram_bytes / max(float(np.mean(self.dram_bytes)), 1e-12)

    @property
    def speedup(self) -> float:
        """Mean dense cycles over mean sparse cycles on the same counts."""
        return float(np.mean(self.dense_cycles) / np.mean(self.cycles))


def sparse_step(
    net: Network,
    sparsity: float | Sequence[int],
    occupancy: float | tuple[float, float] | None = None,
    counts=None,
    hw: HardwareConfig | None = None,
    from_reset: bool | None = None,
    mem_latency: int = 1,
) -> SparseStep:
    """Cycles, latency and DRAM bytes per step of a sparse image as a function of (γ, occupancy).

    Parameters
    ----------
    net : Network
        Layer sizes.
    sparsity : float or sequence of int
        Weight sparsity γ (slots from :func:`edgedrnn.prune`'s count), or the slots per layer.
    occupancy : float or (occ_x, occ_h), optional
        Fraction of elements passed on (one steady-state step); or give ``counts``.
    counts : array_like, optional
        Passed-on deltas (T, L, 2) like ``Result.nonzero``.
    hw : HardwareConfig, optional
        NUM_PE and the bus width (default 8 PEs, 64 bits).
    from_reset : bool, optional
        Step 0 streams the bias columns (default: true for counts, false for an occupancy).
    mem_latency : int
        Cycles from a weight burst request to its first beat.
    """
    hw = HardwareConfig() if hw is None else dataclasses.replace(hw, sparse_weights=False)
    if (counts is None) == (occupancy is None):
        raise ValueError("give either counts or an occupancy")
    if counts is None:
        occ = occupancy if isinstance(occupancy, tuple) else (occupancy, occupancy)
        counts = occupancy_counts(net, occ[0], occ[1])
        from_reset = False if from_reset is None else from_reset
    from_reset = True if from_reset is None else from_reset
    c = check_counts(net, counts)
    slots = layer_slots(net, sparsity, hw.num_pe)
    cols = [column_cycles(hw, n) for n in slots]

    def figures(column):
        args = (net, c, hw, from_reset, mem_latency, None)
        back = rtl._figure(*args, rtl._cycles, "expected", column=column)
        paced = rtl._figure(*args, rtl._latency, "expected", True, column=column)
        return back, paced

    cycles, latency = figures(cols.__getitem__)
    d_cycles, d_latency = figures(None)
    dram = np.zeros(c.shape[0])
    for li, lay in enumerate(layouts(net, hw, slots)):
        dram += (c[:, li, 0] + c[:, li, 1]) * lay.column_stride
        if from_reset and len(dram):
            dram[0] += lay.bias_stride
    return SparseStep(
        slots=slots,
        cycles=cycles,
        latency=latency,
        dram_bytes=dram,
        dense_cycles=d_cycles,
        dense_latency=d_latency,
        dense_dram_bytes=rtl.dram_bytes(net, c, hw, from_reset=from_reset),
        dense_step_dram_bytes=float(rtl.dram_bytes(net, dense_counts(net), hw, False)[0]),
    )
