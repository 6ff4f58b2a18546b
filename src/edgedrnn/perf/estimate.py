"""Performance estimates: cycles, latency, DRAM traffic and effective throughput.

:func:`estimate` puts a cycle model (this project's RTL, :mod:`edgedrnn.perf.rtl`, or the
original design's, :mod:`edgedrnn.perf.original`) together with a workload and a clock, and
derives:

* time per step = cycles / f_clk (back to back: the throughput figure);
* paced latency per step: from the input's arrival to the output, when inputs arrive at a
  frame rate (our RTL runs a step's hidden part before its input arrives; the original
  starts nothing before it, so its paced latency is its cycles);
* effective throughput (the paper's definition) = 2 × weights / latency, in GOp/s: the dense
  work a step stands for, divided by the time the delta network takes for it;
* DRAM bytes per step (weights read) and the reduction factor against a dense step;
* the dense equivalent (Θ = 0, every element changing) of all of the above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import HardwareConfig
from . import original, rtl
from .memory import MemorySystem
from .workload import Network, check_counts, dense_counts, occupancy_counts

DESIGNS = ("edgedrnn", "original")


def _cycles(
    design: str,
    net: Network,
    counts: np.ndarray,
    hw: HardwareConfig,
    from_reset: bool,
    mem_latency: int = 1,
    memory: MemorySystem | None = None,
):
    if design == "edgedrnn":
        return rtl.step_cycles(
            net, counts, hw, from_reset=from_reset, mem_latency=mem_latency, memory=memory
        )
    if memory is not None:
        raise ValueError("a memory system is modelled for this project's RTL only")
    if design == "original":
        return original.step_cycles(net, counts, hw.num_pe, hw.bus_bits, from_reset=from_reset)
    raise ValueError(f"unknown design {design!r}; choose one of {', '.join(DESIGNS)}")


def _paced_latency(
    design: str,
    net: Network,
    counts: np.ndarray,
    hw: HardwareConfig,
    from_reset: bool,
    mem_latency: int = 1,
    memory: MemorySystem | None = None,
):
    if design == "edgedrnn":
        return rtl.step_latency(
            net, counts, hw, from_reset=from_reset, mem_latency=mem_latency, memory=memory
        )
    return _cycles(design, net, counts, hw, from_reset, mem_latency, memory)


def _dram(design: str, net: Network, counts: np.ndarray, hw: HardwareConfig, from_reset: bool):
    if design == "edgedrnn":
        return rtl.dram_bytes(net, counts, hw, from_reset=from_reset)
    return original.dram_bytes(net, counts, hw.bus_bits, from_reset=from_reset)


@dataclass
class Estimate:
    """Modelled performance of one design on one workload.

    Attributes:
        design: ``"edgedrnn"`` (this project's RTL) or ``"original"``.
        net: layer sizes.
        hw: instance (PEs, bus width, clock).
        cycles: float64 (T,): cycles of each step, back to back (STEP_CYCLES).
        paced_latency: float64 (T,): cycles from each step's input to its output when the
            inputs are paced (LATENCY).
        dram_bytes: float64 (T,): weight bytes read from DRAM at each step.
        dense_cycles: cycles of a dense step (every column read, no bias).
        dense_dram_bytes: weight bytes of a dense step.
    """

    design: str
    net: Network
    hw: HardwareConfig
    cycles: np.ndarray
    paced_latency: np.ndarray
    dram_bytes: np.ndarray
    dense_cycles: float
    dense_dram_bytes: float

    @property
    def mean_cycles(self) -> float:
        return float(np.mean(self.cycles))

    @property
    def latency_us(self) -> float:
        """Mean latency per step in µs."""
        return self.mean_cycles / self.hw.clock_mhz

    @property
    def paced_latency_us(self) -> float:
        """Mean latency per step in µs with paced inputs (input arrival to output)."""
        return float(np.mean(self.paced_latency)) / self.hw.clock_mhz

    @property
    def max_latency_us(self) -> float:
        return float(np.max(self.cycles)) / self.hw.clock_mhz

    @property
    def dense_latency_us(self) -> float:
        return self.dense_cycles / self.hw.clock_mhz

    @property
    def effective_gops(self) -> float:
        """2 × weights / mean latency, in GOp/s (the paper's effective throughput)."""
        return 2 * self.net.num_weights / (self.latency_us * 1e3)

    @property
    def dense_gops(self) -> float:
        """Throughput of a dense step: 2 × weights / dense latency (GOp/s)."""
        return 2 * self.net.num_weights / (self.dense_latency_us * 1e3)

    @property
    def speedup_vs_dense(self) -> float:
        return self.dense_cycles / self.mean_cycles

    @property
    def mean_dram_bytes(self) -> float:
        return float(np.mean(self.dram_bytes))

    @property
    def dram_reduction(self) -> float:
        """Dense weight bytes per step ÷ this workload's mean weight bytes per step."""
        return self.dense_dram_bytes / max(self.mean_dram_bytes, 1e-12)

    @property
    def dram_bandwidth_gbs(self) -> float:
        """Mean weight bandwidth drawn, GB/s (bytes per step ÷ latency)."""
        return self.mean_dram_bytes / (self.latency_us * 1e3)

    def summary(self) -> dict[str, Any]:
        """The figures as plain numbers (JSON-friendly)."""
        return {
            "design": self.design,
            "network": self.net.label(),
            "layers": [list(x) for x in self.net.layers],
            "weights": self.net.num_weights,
            "num_pe": self.hw.num_pe,
            "bus_bits": self.hw.bus_bits,
            "clock_mhz": self.hw.clock_mhz,
            "steps": len(self.cycles),
            "mean_cycles": self.mean_cycles,
            "max_cycles": float(np.max(self.cycles)),
            "latency_us": self.latency_us,
            "paced_latency_cycles": float(np.mean(self.paced_latency)),
            "paced_latency_us": self.paced_latency_us,
            "effective_gops": self.effective_gops,
            "dense_cycles": self.dense_cycles,
            "dense_latency_us": self.dense_latency_us,
            "dense_gops": self.dense_gops,
            "speedup_vs_dense": self.speedup_vs_dense,
            "dram_bytes_per_step": self.mean_dram_bytes,
            "dense_dram_bytes_per_step": self.dense_dram_bytes,
            "dram_reduction": self.dram_reduction,
            "dram_bandwidth_gbs": self.dram_bandwidth_gbs,
        }


def make_hw(
    hw: HardwareConfig | None = None,
    num_pe: int | None = None,
    bus_bits: int | None = None,
    clock_mhz: float | None = None,
) -> HardwareConfig:
    """A HardwareConfig from a base one (default: 8 PEs, 64 bits, 125 MHz) and overrides."""
    base = hw or HardwareConfig()
    return HardwareConfig(
        num_pe=num_pe or base.num_pe,
        bus_bits=bus_bits or base.bus_bits,
        max_layers=base.max_layers,
        max_input_size=base.max_input_size,
        max_hidden_size=base.max_hidden_size,
        weight_memory_bytes=base.weight_memory_bytes,
        clock_mhz=clock_mhz or base.clock_mhz,
    )


def estimate(
    net: Network | Any,
    counts: Any = None,
    *,
    occupancy: float | tuple[float, float] | None = None,
    hw: HardwareConfig | None = None,
    num_pe: int | None = None,
    bus_bits: int | None = None,
    clock_mhz: float | None = None,
    design: str = "edgedrnn",
    from_reset: bool | None = None,
    mem_latency: int = 1,
    memory: MemorySystem | None = None,
) -> Estimate:
    """Model a design on a workload.

    Args:
        net: a :class:`Network` or a compiled ``Program`` (its sizes and hardware config).
        counts: passed-on deltas (T, L, 2), e.g. ``result.nonzero``; or a ``Result``.
        occupancy: instead of counts, the fraction of elements passed on: one value, or
            ``(occ_x, occ_h)``; gives one steady-state step.
        hw, num_pe, bus_bits, clock_mhz: the instance (a Program's own config by default).
        design: ``"edgedrnn"`` (ours) or ``"original"``.
        from_reset: whether step 0 is the first after reset (streams the bias columns).
            Default: true for counts from a run, false for an occupancy assumption.
        mem_latency: our design: cycles from a weight burst request to its first beat.
        memory: our design: the weight memory (:mod:`edgedrnn.perf.memory`; its latency
            replaces ``mem_latency``); None: the ideal port.
    """
    if not isinstance(net, Network):
        program = net
        net = Network.from_program(program)
        hw = hw or program.hw
    hw = make_hw(hw, num_pe, bus_bits, clock_mhz)
    if counts is not None and occupancy is not None:
        raise ValueError("give either counts or occupancy, not both")
    if counts is None:
        if occupancy is None:
            raise ValueError("give the delta counts of a run (counts=) or an occupancy")
        occ = occupancy if isinstance(occupancy, tuple) else (occupancy, occupancy)
        counts = occupancy_counts(net, occ[0], occ[1])
        if from_reset is None:
            from_reset = False
    elif hasattr(counts, "nonzero") and not isinstance(counts, np.ndarray):
        counts = counts.nonzero
    if from_reset is None:
        from_reset = True
    c = check_counts(net, counts)
    dense = dense_counts(net)
    return Estimate(
        design=design,
        net=net,
        hw=hw,
        cycles=np.asarray(
            _cycles(design, net, c, hw, from_reset, mem_latency, memory), dtype=np.float64
        ),
        paced_latency=np.asarray(
            _paced_latency(design, net, c, hw, from_reset, mem_latency, memory), dtype=np.float64
        ),
        dram_bytes=np.asarray(_dram(design, net, c, hw, from_reset), dtype=np.float64),
        dense_cycles=float(_cycles(design, net, dense, hw, False, mem_latency, memory)[0]),
        dense_dram_bytes=float(_dram(design, net, dense, hw, False)[0]),
    )


def required_bandwidth(
    net: Network,
    target_us: float,
    *,
    occupancy: float | tuple[float, float],
    hw: HardwareConfig | None = None,
    like: MemorySystem | None = None,
    num_pe: int | None = None,
    bus_bits: int | None = None,
    clock_mhz: float | None = None,
) -> float:
    """Sustained weight bandwidth (bytes per cycle) at which our design takes ``target_us``
    per step, back to back; ``math.inf`` if even the ideal port is slower than that.

    The memory is ``like`` (default: an otherwise ideal port: 1 cycle latency, no per-column
    overhead) with its sustained bandwidth (``peak · efficiency``) set by bisection.

    Parameters
    ----------
    net : Network
        Layer sizes.
    target_us : float
        Time per step to reach, µs.
    occupancy : float or (float, float)
        As for :func:`estimate`.
    hw, num_pe, bus_bits, clock_mhz
        The instance, as for :func:`estimate`.
    like : MemorySystem, optional
        The memory's other figures (efficiency, overhead, latency).
    """
    like = like or MemorySystem("port")

    def time_us(bpc: float) -> float:
        mem = like.with_bandwidth(bpc)
        kw = {"hw": hw, "num_pe": num_pe, "bus_bits": bus_bits, "clock_mhz": clock_mhz}
        return estimate(net, occupancy=occupancy, memory=mem, **kw).latency_us

    hi = float(make_hw(hw, num_pe, bus_bits).bus_bytes)
    if time_us(hi * 1e6) > target_us:
        return float("inf")
    while time_us(hi) > target_us and hi < 1e6:
        hi *= 2
    lo = 0.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if time_us(mid) > target_us:
            lo = mid
        else:
            hi = mid
    return hi
