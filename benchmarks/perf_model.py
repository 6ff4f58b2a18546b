"""The RTL's cycle model (edgedrnn.perf.rtl) against RTL co-simulation cycles.

Runs the networks and thresholds of the rtl benchmark (benchmarks/rtl_cycles.py: 2-layer GRUs
with 40 inputs and 16 / 256 / 768 hidden units, Θ in 0, 0.05, 0.1, 0.25, the same inputs) on
the ``rtl`` backend, and compares ``edgedrnn.perf.estimate(program, result)`` with
``result.cycles`` per step, and counts the steps inside ``edgedrnn.perf.rtl.step_cycle_bounds``
(all of them, the benchmark's memory has no stalls). The latency too: back to back
(``edgedrnn.perf.rtl.step_latency`` with the input offered when the host offered it, against
``result.latency``) and paced (a second run with ``frame_cycles`` from
``rtl_cycles.frame_for``, 2 × the longest back-to-back step, against
``estimate(...).paced_latency``). Also small networks on other instances (PEs, bus
widths). The mean error per case and figure is (model mean − RTL mean) / RTL mean; the
target is ≤ 2 % on every case.

Writes ``build/bench/perf_model.json`` (read by ``edgedrnn report``). Run::

    .venv/bin/python benchmarks/perf_model.py            # all cases (minutes; 2L-768H is long)
    .venv/bin/python benchmarks/perf_model.py --quick    # fewer steps, no 768H
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

import edgedrnn
from edgedrnn.perf import Network, estimate, rtl
from edgedrnn.perf.workload import seeded_program

_spec = importlib.util.spec_from_file_location(
    "rtl_cycles", Path(__file__).with_name("rtl_cycles.py")
)
rtl_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rtl_bench)

INPUTS = rtl_bench.INPUTS
THETAS = rtl_bench.THETAS
#: (name, hidden, steps, num_pe, bus_bits): the rtl benchmark's nets, then other instances.
CASES = [(name, h, steps, 8, 64) for name, (h, steps) in rtl_bench.NETS.items()] + [
    ("2L-16H", 16, 100, 16, 128),
    ("2L-64H", 64, 60, 4, 64),
    ("2L-64H", 64, 60, 8, 256),
    ("2L-64H", 64, 60, 32, 128),
]


def run_case(name: str, hidden: int, steps: int, num_pe: int, bus_bits: int, theta: float):
    """Compile the benchmark's model, run it on the rtl backend back to back and paced;
    returns (program, back-to-back result, paced result)."""
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    program = seeded_program(INPUTS, [hidden, hidden], hw, theta)
    x = rtl_bench.make_input(steps)
    back = edgedrnn.run(program, x, backend="rtl")
    paced = edgedrnn.run(program, x, backend="rtl", frame_cycles=rtl_bench.frame_for(back.cycles))
    return program, back, paced


def _mean_error(model: np.ndarray, measured: np.ndarray) -> float:
    return float((model.mean() - measured.mean()) / measured.mean())


def compare(program, result, paced) -> dict:
    """Model against measured cycles and latency for one case."""
    est = estimate(program, result)
    net = Network.from_program(program)
    measured = result.cycles.astype(np.float64)  # STEP_CYCLES, what the model counts
    err = (est.cycles - measured) / measured
    lo, hi = rtl.step_cycle_bounds(net, result.nonzero, program.hw)
    # back to back the input waits in the queue until the host has read the previous step's
    # registers: its offer, from the previous step's end, is the host's (cycles − latency + 1)
    offer = result.cycles - result.latency + 1
    back_latency = rtl.step_latency(net, result.nonzero, program.hw, offer=offer)
    paced_model = estimate(program, paced).paced_latency
    return {
        "back_latency_rtl": float(result.latency.mean()),
        "back_latency_model": float(back_latency.mean()),
        "back_latency_error": _mean_error(back_latency, result.latency.astype(np.float64)),
        "paced_latency_rtl": float(paced.latency.mean()),
        "paced_latency_model": float(paced_model.mean()),
        "paced_latency_error": _mean_error(paced_model, paced.latency.astype(np.float64)),
        "rtl_mean_cycles": float(measured.mean()),
        "model_mean_cycles": float(est.cycles.mean()),
        "mean_error": float((est.cycles.mean() - measured.mean()) / measured.mean()),
        "step_abs_error_mean": float(np.abs(err).mean()),
        "step_abs_error_max": float(np.abs(err).max()),
        "steps_within_bounds": int(((lo <= measured) & (measured <= hi)).sum()),
        "deltas_per_step": float(result.nonzero.sum(axis=(1, 2)).mean()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a quarter of the steps, no 768H")
    ap.add_argument("-o", "--output", type=Path, default=Path("build/bench/perf_model.json"))
    args = ap.parse_args()
    cases = []
    print(
        "| network | PEs | bus | Θ | steps | Δ/step | RTL cyc/step | model | error | in bounds "
        "| latency b2b: RTL | model | error | latency paced: RTL | model | error |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, hidden, steps, pe, bus in CASES:
        if args.quick:
            if hidden > 256:
                continue
            steps = max(20, steps // 4)
        for theta in THETAS:
            t0 = time.perf_counter()
            program, result, paced = run_case(name, hidden, steps, pe, bus, theta)
            row = {
                "network": name,
                "hidden": hidden,
                "theta": theta,
                "num_pe": pe,
                "bus_bits": bus,
                "steps": steps,
                "sim_seconds": time.perf_counter() - t0,
                **compare(program, result, paced),
            }
            cases.append(row)
            print(
                f"| {name} | {pe} | {bus} | {theta:g} | {steps} | {row['deltas_per_step']:.1f} | "
                f"{row['rtl_mean_cycles']:.1f} | {row['model_mean_cycles']:.1f} | "
                f"{100 * row['mean_error']:+.2f}% | {row['steps_within_bounds']}/{steps} | "
                f"{row['back_latency_rtl']:.1f} | {row['back_latency_model']:.1f} | "
                f"{100 * row['back_latency_error']:+.2f}% | {row['paced_latency_rtl']:.1f} | "
                f"{row['paced_latency_model']:.1f} | {100 * row['paced_latency_error']:+.2f}% |",
                flush=True,
            )
    keys = ("mean_error", "back_latency_error", "paced_latency_error")
    worst = max(abs(c[k]) for c in cases for k in keys)
    print(f"largest mean error: {100 * worst:.2f}% (target <= 2%)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"input": "benchmarks/rtl_cycles.py make_input", "cases": cases}, indent=1)
    )
    print(f"wrote {args.output}")
    return 0 if worst <= 0.02 else 1


if __name__ == "__main__":
    raise SystemExit(main())
