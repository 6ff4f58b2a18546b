"""Analytic performance model of EdgeDRNN: cycles, latency, DRAM traffic, effective GOp/s.

* :mod:`edgedrnn.perf.rtl`: this project's RTL, the one cycle model of :mod:`edgedrnn.hw`
  (derived from :mod:`edgedrnn.hw.pipeline`, validated against the ``rtl`` backend);
* :mod:`edgedrnn.perf.original`: the original design (docs/perf-model.md, "The original design");
* :mod:`edgedrnn.perf.memory`: the memory system behind the weight port (a DRAM controller's
  bandwidth, efficiency and latency; presets calibrated on the ``soc`` backend's simulation),
  the RTL model's memory term;
* :mod:`edgedrnn.perf.sparse`: the same RTL schedule with a sparse weight image (cycles and
  DRAM bytes per step as a function of weight sparsity γ and occupancy);
* :mod:`edgedrnn.perf.estimate`: latency, throughput and DRAM figures for either;
* :mod:`edgedrnn.perf.workload`: network sizes and delta counts (from a run or an occupancy).

Example::

    from edgedrnn.perf import Network, estimate, memory
    net = Network.stacked(40, 768, 2)
    est = estimate(net, occupancy=0.1, num_pe=8, bus_bits=64, clock_mhz=125)
    est.latency_us, est.effective_gops, est.dram_reduction
    estimate(program, result.nonzero)            # from a run
    estimate(net, occupancy=0.1, memory=memory.preset("ddr3x16"))   # behind a DRAM
"""

from __future__ import annotations

from . import memory, original, rtl, sparse
from .estimate import DESIGNS, Estimate, estimate, make_hw, required_bandwidth
from .memory import MemorySystem
from .workload import Network, check_counts, dense_counts, occupancy_counts

__all__ = [
    "DESIGNS",
    "Estimate",
    "MemorySystem",
    "Network",
    "check_counts",
    "dense_counts",
    "estimate",
    "make_hw",
    "memory",
    "occupancy_counts",
    "original",
    "required_bandwidth",
    "rtl",
    "sparse",
]
