"""The memory-system term of the RTL cycle model (:mod:`edgedrnn.perf.memory`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from edgedrnn.config import HardwareConfig
from edgedrnn.perf import Network, estimate, rtl
from edgedrnn.perf.estimate import required_bandwidth
from edgedrnn.perf.memory import IDEAL, PRESETS, MemorySystem, for_dram, preset

#: Back-to-back SoC runs (benchmarks/soc_cycles.py): sizes, per-step delta counts and the
#: measured mean cycles per step (steps 1..) under each simulated DRAM.
SOC_RUNS = Path(__file__).with_name("soc_runs.json")


def _counts(net: Network, seed: int, steps: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(
        [[[rng.integers(0, n_in + 1), rng.integers(0, n_h + 1)] for n_in, n_h in net.layers]]
        * steps
    ) * rng.uniform(0, 1, (steps, 1, 1))


@pytest.mark.parametrize("pe,bus", [(8, 64), (8, 128), (16, 128), (4, 64)])
def test_ideal_memory_leaves_the_model_unchanged(pe, bus):
    hw = HardwareConfig(num_pe=pe, bus_bits=bus)
    net = Network(((40, 77), (77, 50)))
    c = _counts(net, pe + bus)
    base = rtl.step_cycles(net, c, hw)
    for mem in (IDEAL, MemorySystem.ideal_for(hw), MemorySystem("bus", hw.bus_bytes)):
        assert np.array_equal(rtl.step_cycles(net, c, hw, memory=mem), base)
        assert np.array_equal(
            rtl.step_latency(net, c, hw, memory=mem), rtl.step_latency(net, c, hw)
        )
    # the memory's latency is the model's mem_latency
    slow = MemorySystem("late", latency=9)
    assert np.array_equal(
        rtl.step_cycles(net, c, hw, memory=slow), rtl.step_cycles(net, c, hw, mem_latency=9)
    )


def test_narrow_port_bounds_the_column_stream():
    """Behind a 4-byte port a dense step's columns take bytes / 4 cycles each."""
    hw = HardwareConfig(num_pe=8, bus_bits=64)
    net = Network.stacked(40, 256, 2)
    dense = np.array([[[40, 256], [256, 256]]])
    ideal = rtl.step_cycles(net, dense, hw, from_reset=False)[0]
    narrow = rtl.step_cycles(net, dense, hw, from_reset=False, memory=MemorySystem("x", 4.0))[0]
    nbytes = rtl.dram_bytes(net, dense, hw, from_reset=False)[0]
    assert narrow >= nbytes / 4 > ideal
    assert narrow - nbytes / 4 < ideal - nbytes / 8 + 1  # the rest of the step is unchanged
    # efficiency and per-column overhead slow it further
    worse = MemorySystem("y", 4.0, efficiency=0.9, column_overhead=2.0)
    assert rtl.step_cycles(net, dense, hw, from_reset=False, memory=worse)[0] > narrow


def test_presets():
    assert for_dram("MT48LC16M16", 32) is PRESETS["sdr32"] is preset("sdr32")
    assert for_dram("MT41K128M16", 16).peak_bytes_per_cycle == 16
    with pytest.raises(ValueError):
        for_dram("MT48LC16M16", 16)
    with pytest.raises(ValueError):
        preset("hbm")
    with pytest.raises(ValueError):
        MemorySystem("bad", 4.0, efficiency=1.5)
    for mem in PRESETS.values():
        assert mem.bytes_per_cycle == mem.peak_bytes_per_cycle * mem.efficiency
    assert PRESETS["ideal"].is_ideal and not PRESETS["sdr32"].is_ideal


def test_presets_match_the_soc_simulation():
    """The calibrated presets within 5 % (mean |error| per memory) of the SoC's cycles."""
    runs = json.loads(SOC_RUNS.read_text())
    errors: dict[str, list[float]] = {}
    for run in runs:
        hw = HardwareConfig(**run["hw"])
        net = Network(tuple(tuple(x) for x in run["layers"]))
        mem = for_dram(run["sdram_module"], run["sdram_data_width"])
        for row in run["rows"]:
            model = rtl.step_cycles(net, np.array(row["nonzero"]), hw, memory=mem)[1:].mean()
            errors.setdefault(mem.name, []).append(model / row["soc_cycles_mean"] - 1)
    assert len(errors) == 3
    for name, e in errors.items():
        assert np.mean(np.abs(e)) <= 0.05, (name, e)


def test_required_bandwidth_reaches_the_target():
    net = Network.stacked(40, 768, 2)
    kw = {"occupancy": 0.1, "num_pe": 8, "bus_bits": 64, "clock_mhz": 125.0}
    ideal = estimate(net, **kw).latency_us
    target = ideal * 1.5
    need = required_bandwidth(net, target, **kw)
    assert 0 < need < 8
    got = estimate(net, memory=MemorySystem("b", need), **kw).latency_us
    assert got == pytest.approx(target, rel=1e-6)
    assert math.isinf(required_bandwidth(net, ideal * 0.9, **kw))
    # a memory with overheads needs more
    like = MemorySystem("sdr-like", 1.0, efficiency=0.9, column_overhead=2.0, latency=20)
    assert required_bandwidth(net, target, like=like, **kw) > need
