"""The report's figures: networks × instances × occupancies from :mod:`edgedrnn.perf`, and
the paper's (Gao et al., JETCAS 2020) to compare against.

Every row is one network (1 or 2 layers of 256…1024 hidden units on 40 inputs) on one
instance (8 PEs on a 64-bit bus, 16 / 128-bit, 32 / 256-bit, at 125 MHz) at one occupancy:
our design's modelled step (:func:`edgedrnn.perf.estimate`) and the original design's on the
same delta counts (:mod:`edgedrnn.perf.original`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..perf import Network, estimate, occupancy_counts, original
from ..perf.estimate import required_bandwidth
from ..perf.memory import PRESETS, MemorySystem
from ..perf.sparse import sparse_step

__all__ = [
    "CLOCK_MHZ",
    "CONFIGS",
    "HIDDEN",
    "INPUTS",
    "LAYERS",
    "MEMORY_POINTS",
    "OCCUPANCIES",
    "PAPER",
    "SPARSITIES",
    "RowTable",
    "memory_rows",
    "model_rows",
    "paper_occupancy",
    "sparsity_rows",
]

#: The paper's figures (Gao et al., JETCAS 2020) for 2L-768H on TIDIGITS, 8 PEs, 64-bit, 125 MHz.
PAPER = {
    "network": "2L-768H",
    "weights": "~5.4 M",
    "latency_us": 535.0,  # "~0.5 ms"; 2 × 5.40 M weights / 20.2 GOp/s = 534.7 µs
    "effective_gops": 20.2,
    "dram_reduction": 10.0,  # "up to 10x less DRAM access"
}

HIDDEN = (256, 512, 768, 1024)
LAYERS = (1, 2)
INPUTS = 40
OCCUPANCIES = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
CONFIGS = ((8, 64), (16, 128), (32, 256))
CLOCK_MHZ = 125.0
#: Weight sparsities γ of the report's sparse-image rows (0: the dense image).
SPARSITIES = (0.0, 7 / 8, 15 / 16)


def paper_occupancy(num_pe: int = 8, bus_bits: int = 64, clock_mhz: float = CLOCK_MHZ) -> float:
    """Occupancy at which the original design's model gives the paper's 20.2 GOp/s on 2L-768H.

    The paper measured its latency on TIDIGITS at ~90 % temporal sparsity without giving the
    per-layer counts; this inverts the model of its own design (bisection) to recover the
    occupancy that its measured throughput implies.

    Parameters
    ----------
    num_pe, bus_bits : int
        The original design's instance.
    clock_mhz : float
        Its clock.
    """
    net = Network.stacked(INPUTS, 768, 2)
    target = 2 * net.num_weights / (PAPER["effective_gops"] * 1e3)  # µs
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        counts = occupancy_counts(net, mid)
        cyc = original.step_cycles(net, counts, num_pe, bus_bits, from_reset=False)[0]
        if cyc / clock_mhz < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def model_rows(
    occupancies: dict[str, tuple[float, float]],
    configs: Iterable[tuple[int, int]] = CONFIGS,
    hidden: Iterable[int] = HIDDEN,
    layers: Iterable[int] = LAYERS,
    clock_mhz: float = CLOCK_MHZ,
) -> list[dict[str, Any]]:
    """One row per (network, instance, occupancy) with ours and the original's figures.

    Parameters
    ----------
    occupancies : dict
        Label → (Δx occupancy, Δh occupancy).
    configs : iterable of (int, int)
        Instances as (PEs, bus bits).
    hidden, layers : iterable of int
        Hidden sizes and depths of the networks (on :data:`INPUTS` inputs).
    clock_mhz : float
        The clock of every instance.
    """
    rows = []
    for nl in layers:
        for h in hidden:
            net = Network.stacked(INPUTS, h, nl)
            for pe, bus in configs:
                for label, (ox, oh) in occupancies.items():
                    kw = {"num_pe": pe, "bus_bits": bus, "clock_mhz": clock_mhz}
                    ours = estimate(net, occupancy=(ox, oh), **kw)
                    old = estimate(net, occupancy=(ox, oh), design="original", **kw)
                    s = ours.summary()
                    s.update(
                        occupancy=label,
                        occ_x=ox,
                        occ_h=oh,
                        original_cycles=old.mean_cycles,
                        original_latency_us=old.latency_us,
                        original_paced_latency_us=old.paced_latency_us,
                        original_gops=old.effective_gops,
                        speedup_vs_original=old.mean_cycles / ours.mean_cycles,
                    )
                    rows.append(s)
    return rows


#: The memories of :func:`memory_rows`: (preset, accelerator bus bits).
MEMORY_POINTS = (("ideal", 64), ("sdr32", 64), ("sdr64", 64), ("ddr3x16", 64), ("ddr3x16", 128))


def memory_rows(occupancy: float, num_pe: int = 8, clock_mhz: float = CLOCK_MHZ) -> dict[str, Any]:
    """The paper's point (2L-768H at ``occupancy``) behind the ideal port and each simulated
    memory (:data:`MEMORY_POINTS`), and the bandwidth it needs for the paper's latency.

    Returns ``rows``: one dict per memory with ``memory`` (its figures), ``bus_bits``,
    ``mean_cycles``, ``latency_us``, ``effective_gops``, ``bytes_per_cycle`` (weight bytes
    drawn per cycle), ``gb_per_s``, ``stream_bytes_per_cycle`` (the most a column stream
    sustains: ``min(bus, peak) · efficiency``) and ``reaches_paper``; ``need_bytes_per_cycle``
    and ``need_gb_per_s``: the sustained bandwidth at which the 64-bit instance's step takes
    the paper's latency (an otherwise ideal port; ``inf`` if out of reach).
    """
    net = Network.stacked(INPUTS, 768, 2)
    rows = []
    for key, bus in MEMORY_POINTS:
        mem = PRESETS[key]
        if key == "ideal":
            mem = MemorySystem(f"ideal {bus}-bit port")
        kw = {"num_pe": num_pe, "bus_bits": bus, "clock_mhz": clock_mhz}
        est = estimate(net, occupancy=occupancy, memory=mem, **kw)
        rows.append(
            {
                # JSON has no infinity: the ideal port's peak is None (as fast as the bus)
                "memory": {
                    **mem.__dict__,
                    "peak_bytes_per_cycle": None if mem.is_ideal else mem.peak_bytes_per_cycle,
                },
                "bus_bits": bus,
                "mean_cycles": est.mean_cycles,
                "latency_us": est.latency_us,
                "effective_gops": est.effective_gops,
                "bytes_per_cycle": est.mean_dram_bytes / est.mean_cycles,
                "gb_per_s": est.dram_bandwidth_gbs,
                "stream_bytes_per_cycle": min(bus / 8, mem.peak_bytes_per_cycle) * mem.efficiency,
                "reaches_paper": est.latency_us <= PAPER["latency_us"],
            }
        )
    kw = {"num_pe": num_pe, "bus_bits": 64, "clock_mhz": clock_mhz}
    need = required_bandwidth(net, PAPER["latency_us"], occupancy=occupancy, **kw)
    return {"rows": rows, "need_bytes_per_cycle": need, "need_gb_per_s": need * clock_mhz * 1e-3}


class RowTable:
    """The rows of :func:`model_rows`, looked up by network, instance and occupancy.

    Parameters
    ----------
    rows : list of dict
        :func:`model_rows`' output.
    """

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self._index = {(r["network"], r["num_pe"], r["bus_bits"], r["occupancy"]): r for r in rows}

    def get(self, network: str, num_pe: int, bus_bits: int, occupancy: str) -> dict[str, Any]:
        """The row of ``network`` (e.g. ``"2L-768H"``) on the instance at the occupancy label."""
        return self._index[network, num_pe, bus_bits, occupancy]


def sparsity_rows(
    occupancies: dict[str, float], num_pe: int = 8, bus_bits: int = 64
) -> list[dict[str, Any]]:
    """2L-768H with a column-balanced sparse weight image (issue 15) at each γ of
    :data:`SPARSITIES` and each occupancy: the modelled cycles and paced latency per step,
    and the DRAM bytes (:func:`edgedrnn.perf.sparse.sparse_step`; γ = 0 is the dense image).

    Parameters
    ----------
    occupancies : dict
        Label → fraction of elements passed on (both Δx and Δh).
    num_pe, bus_bits : int
        The instance.

    Returns one dict per (γ, occupancy): ``gamma``, ``slots`` (non-zeros per PE lane and
    gate of a column, per layer; None for dense), ``occupancy`` (label), ``occ``,
    ``mean_cycles``, ``time_us`` (back to back), ``latency_cycles``, ``latency_us`` (paced),
    ``dram_bytes`` (per step) and ``dram_reduction`` (a dense GRU step's bytes over these).
    """
    from ..config import HardwareConfig

    hw = HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    net = Network.stacked(INPUTS, 768, 2)
    rows = []
    for label, occ in occupancies.items():
        for gamma in SPARSITIES:
            s = sparse_step(net, gamma if gamma else 15 / 16, occupancy=occ, hw=hw)
            dense = gamma == 0
            cycles = float((s.dense_cycles if dense else s.cycles).mean())
            latency = float((s.dense_latency if dense else s.latency).mean())
            dram = float((s.dense_dram_bytes if dense else s.dram_bytes).mean())
            rows.append(
                {
                    "gamma": gamma,
                    "slots": None if dense else s.slots,
                    "occupancy": label,
                    "occ": occ,
                    "mean_cycles": cycles,
                    "time_us": cycles / CLOCK_MHZ,
                    "latency_cycles": latency,
                    "latency_us": latency / CLOCK_MHZ,
                    "dram_bytes": dram,
                    "dram_reduction": s.dense_step_dram_bytes / max(dram, 1e-12),
                }
            )
    return rows
