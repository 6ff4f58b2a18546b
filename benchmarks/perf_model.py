"""The RTL's cycle model (edgedrnn.perf.rtl) against RTL co-simulation cycles.

Runs the networks and thresholds of the rtl benchmark (benchmarks/rtl_cycles.py: 2-layer GRUs
with 40 inputs and 16 / 256 / 768 hidden units, Θ in 0, 0.05, 0.1, 0.25, the same inputs) on
the ``rtl`` backend, and compares ``edgedrnn.perf.estimate(program, result)`` with
``result.cycles`` per step, and counts the steps inside ``edgedrnn.perf.rtl.step_cycle_bounds``
(all of them, the benchmark's memory has no stalls). Also small networks on other instances
(PEs, bus widths). The mean error per case is (model mean − RTL mean) / RTL mean; the target
is ≤ 2 % on every case.

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
    """Compile the benchmark's model, run it on the rtl backend; returns (program, result)."""
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, bus_bits=bus_bits)
    program = seeded_program(INPUTS, [hidden, hidden], hw, theta)
    x = rtl_bench.make_input(steps)
    return program, edgedrnn.run(program, x, backend="rtl")


def compare(program, result) -> dict:
    """Model against measured cycles for one run."""
    est = estimate(program, result)
    measured = result.cycles.astype(np.float64)  # STEP_CYCLES, what the model counts
    err = (est.cycles - measured) / measured
    lo, hi = rtl.step_cycle_bounds(Network.from_program(program), result.nonzero, program.hw)
    return {
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
    print("| network | PEs | bus | Θ | steps | Δ/step | RTL cyc/step | model | error | in bounds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, hidden, steps, pe, bus in CASES:
        if args.quick:
            if hidden > 256:
                continue
            steps = max(20, steps // 4)
        for theta in THETAS:
            t0 = time.perf_counter()
            program, result = run_case(name, hidden, steps, pe, bus, theta)
            row = {
                "network": name,
                "hidden": hidden,
                "theta": theta,
                "num_pe": pe,
                "bus_bits": bus,
                "steps": steps,
                "sim_seconds": time.perf_counter() - t0,
                **compare(program, result),
            }
            cases.append(row)
            print(
                f"| {name} | {pe} | {bus} | {theta:g} | {steps} | {row['deltas_per_step']:.1f} | "
                f"{row['rtl_mean_cycles']:.1f} | {row['model_mean_cycles']:.1f} | "
                f"{100 * row['mean_error']:+.2f}% | {row['steps_within_bounds']}/{steps} |",
                flush=True,
            )
    worst = max(abs(c["mean_error"]) for c in cases)
    print(f"largest mean error: {100 * worst:.2f}% (target <= 2%)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"input": "benchmarks/rtl_cycles.py make_input", "cases": cases}, indent=1)
    )
    print(f"wrote {args.output}")
    return 0 if worst <= 0.02 else 1


if __name__ == "__main__":
    raise SystemExit(main())
