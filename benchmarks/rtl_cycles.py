"""RTL cycles per step (Verilator co-simulation) against the weight-beat floor, the target and
the original EdgeDRNN's cycle model.

For 2-layer GRUs with 40 inputs and 16, 256 and 768 hidden units, at several thresholds
(Θx = Θh), driven by smooth sinusoid-plus-noise inputs (sparse deltas), on the ``rtl`` backend
(NUM_PE and bus width from the command line, default 8 PEs and 64 bits as the original):

* ``rtl``: mean STEP_CYCLES per step.
* ``floor``: weight-bus beats the step must fetch: the weight bytes of
  ``edgedrnn.perf.rtl.dram_bytes`` (passed-on columns, the bias column at step 0) over the
  bus width.
* ``target``: 1.1 × floor + Σ_l (H_l / NUM_PE + 32), per step.
* ``original``: the original design's model (``edgedrnn.perf.original``, docs/perf-model.md)
  on the same delta counts, as the original is built: 8 PEs on a 64-bit bus, the bias column
  at step 0.

Writes JSON to ``build/bench/rtl_cycles.json``. Run::

    .venv/bin/python benchmarks/rtl_cycles.py            # about 10 minutes on one core
    .venv/bin/python benchmarks/rtl_cycles.py --quick    # fewer steps
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import edgedrnn
from edgedrnn.perf import Network, original, rtl
from edgedrnn.perf.workload import seeded_program

INPUTS = 40
NETS = {"2L-16H": (16, 300), "2L-256H": (256, 200), "2L-768H": (768, 100)}
THETAS = (0.0, 0.05, 0.1, 0.25)


def make_input(steps: int, seed: int = 0) -> np.ndarray:
    """Sinusoids of different frequencies and phases plus a little noise: (steps, 40)."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    freq = rng.uniform(0.01, 0.08, INPUTS)
    phase = rng.uniform(0, 2 * np.pi, INPUTS)
    amp = rng.uniform(0.5, 2.0, INPUTS)
    return amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.02, (steps, INPUTS))


def per_step_models(program: edgedrnn.Program, nonzero: np.ndarray) -> dict[str, np.ndarray]:
    """Floor, target and original-design cycles per step from the delta counts (T, L, 2)."""
    hw = program.hw
    net = Network.from_program(program)
    floor = rtl.dram_bytes(net, nonzero, hw, from_reset=True) / hw.bus_bytes
    overhead = sum(lay.hidden_size / hw.num_pe + 32 for lay in program.layers)
    old = original.step_cycles(net, nonzero, num_pe=8, bus_bits=64, from_reset=True)
    return {"floor": floor, "target": 1.1 * floor + overhead, "original": old}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-pe", type=int, default=8)
    ap.add_argument("--bus-bits", type=int, default=64)
    ap.add_argument("--mem-latency", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a quarter of the steps")
    ap.add_argument("--nets", nargs="*", default=list(NETS), choices=list(NETS))
    ap.add_argument("-o", "--output", type=Path, default=Path("build/bench/rtl_cycles.json"))
    args = ap.parse_args()

    hw = edgedrnn.HardwareConfig(num_pe=args.num_pe, bus_bits=args.bus_bits)
    rows = []
    header = (
        "| net | Θ | steps | Δ/step | rtl cyc/step | floor | rtl/floor | target | "
        "rtl ≤ target (steps) | original | original/rtl |"
    )
    print(
        f"NUM_PE={hw.num_pe}, bus {hw.bus_bits} bits, memory latency {args.mem_latency}, no stalls"
    )
    print(header)
    print("|---" * 11 + "|")
    for name in args.nets:
        hidden, steps = NETS[name]
        if args.quick:
            steps = max(20, steps // 4)
        x = make_input(steps)
        for theta in THETAS:
            program = seeded_program(INPUTS, [hidden, hidden], hw, theta)
            t0 = time.perf_counter()
            res = edgedrnn.run(program, x, backend="rtl", mem_latency=args.mem_latency)
            wall = time.perf_counter() - t0
            ref = edgedrnn.run(program, x, backend="reference")
            m = per_step_models(program, res.nonzero)
            cyc = res.cycles.astype(np.float64)
            row = {
                "net": name,
                "hidden": hidden,
                "inputs": INPUTS,
                "theta": theta,
                "steps": steps,
                "deltas_per_step": float(res.nonzero.sum(axis=(1, 2)).mean()),
                "rtl_cycles_mean": float(cyc.mean()),
                "rtl_cycles_max": int(res.cycles.max()),
                "floor_mean": float(m["floor"].mean()),
                "target_mean": float(m["target"].mean()),
                "original_mean": float(m["original"].mean()),
                "rtl_over_floor": float(cyc.sum() / m["floor"].sum()),
                "steps_within_target": int((cyc <= m["target"]).sum()),
                "speedup_vs_original": float(m["original"].sum() / cyc.sum()),
                "equal_to_reference": bool(res.same_as(ref)),
                "sim_seconds": wall,
                "cycles": res.cycles.tolist(),
            }
            rows.append(row)
            print(
                f"| {name} | {theta:g} | {steps} | {row['deltas_per_step']:.1f} | "
                f"{row['rtl_cycles_mean']:.0f} | {row['floor_mean']:.0f} | "
                f"{row['rtl_over_floor']:.2f} | {row['target_mean']:.0f} | "
                f"{row['steps_within_target']}/{steps} | {row['original_mean']:.0f} | "
                f"{row['speedup_vs_original']:.2f} |",
                flush=True,
            )
            if not row["equal_to_reference"]:
                print(f"  WARNING: rtl result differs from the reference ({name}, Θ={theta})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "hardware": hw.to_dict(),
        "mem_latency": args.mem_latency,
        "input": "sinusoids (f 0.01..0.08/step) + N(0, 0.02) noise, 40 features",
        "rows": rows,
    }
    args.output.write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
