"""RTL cycles and latency per step (Verilator co-simulation), back to back and paced, against
the weight-beat floor, the target and the original EdgeDRNN's cycle model.

For 2-layer GRUs with 40 inputs and 16, 256 and 768 hidden units, at several thresholds
(Θx = Θh), driven by smooth sinusoid-plus-noise inputs (sparse deltas), on the ``rtl`` backend
(NUM_PE and bus width from the command line, default 8 PEs and 64 bits as the original):

* ``cyc``: mean ``Result.cycles`` per step (end of one step's output to the end of the next's:
  the throughput figure), back to back (``frame_cycles=0``).
* ``lat``: mean ``Result.latency`` per step (first x_in beat offered to last h_out beat
  accepted), back to back and paced (``frame_cycles``: :data:`PACED_FRAME` × the longest
  back-to-back step, so that every step's work, run ahead of its input, fits in a frame).
* ``floor``: weight-bus beats the step must fetch: the weight bytes of
  ``edgedrnn.perf.rtl.dram_bytes`` (passed-on columns, the bias column at step 0) over the
  bus width.
* ``target``: 1.1 × floor + Σ_l (H_l / NUM_PE + 32), per step.
* ``original``: the original design's model (``edgedrnn.perf.original``, docs/perf-model.md)
  on the same delta counts, as the original is built: 8 PEs on a 64-bit bus, the bias column
  at step 0. The original starts nothing before a step's input arrives, so its latency is its
  cycle count, back to back and paced.

Then the shape of the original design's own testbench: 2L-16H, 8 inputs, 1000 steps, Θ = 0
(its vectors are not ours to ship), on two synthetic inputs: the sinusoids above, far denser
in deltas than the original's vectors, and ``sensor`` inputs shaped like them (three channels
at zero, one constant, four moving in bursts and held still between them), whose motion is
scaled so that the original's model costs about what the original's testbench costs it
(190,430 cycles for 1000 steps, ≈ 22 Δ/step). Run totals back to back and at
``frame_cycles`` = 2000, against the original's model on the same delta counts.

Writes JSON to ``build/bench/rtl_cycles.json``. Run::

    .venv/bin/python benchmarks/rtl_cycles.py            # about half an hour on one core
    .venv/bin/python benchmarks/rtl_cycles.py --quick    # a quarter of the steps: about 10 minutes
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
#: The original design's testbench: hidden size, inputs, steps, Θ, and its pacing.
TESTBENCH = {"hidden": 16, "inputs": 8, "steps": 1000, "theta": 0.0, "frame_cycles": 2000}


def make_input(steps: int, inputs: int = INPUTS, seed: int = 0) -> np.ndarray:
    """Sinusoids of different frequencies and phases plus a little noise: (steps, inputs)."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    freq = rng.uniform(0.01, 0.08, inputs)
    phase = rng.uniform(0, 2 * np.pi, inputs)
    amp = rng.uniform(0.5, 2.0, inputs)
    return amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.02, (steps, inputs))


def make_sensor_input(steps: int, seed: int = 1, step_sd: float = 0.14) -> np.ndarray:
    """The ``sensor`` profile, (steps, 8): channels 0–2 zero, 7 constant (161/256), 3–6 a
    smoothed random walk (steps of N(0, ``step_sd``)) in bursts of 20–119 steps, each burst
    moving with probability 0.7 and held still otherwise."""
    rng = np.random.default_rng(seed)
    moving = np.zeros(steps, bool)
    t = 0
    while t < steps:
        n = int(rng.integers(20, 120))
        moving[t : t + n] = rng.random() < 0.7
        t += n
    x = np.zeros((steps, 8))
    x[:, 7] = 161 / 256
    held = np.maximum.accumulate(np.where(moving, np.arange(steps), 0))  # last moving step
    for c in range(3, 7):
        walk = np.cumsum(np.where(moving, rng.normal(0, step_sd, steps), 0.0))
        walk = np.convolve(walk, np.ones(5) / 5, mode="same")
        x[:, c] = np.where(moving, walk, walk[held]) * (held > 0)
    return x


def per_step_models(program: edgedrnn.Program, nonzero: np.ndarray) -> dict[str, np.ndarray]:
    """Floor, target and original-design cycles per step from the delta counts (T, L, 2)."""
    hw = program.hw
    net = Network.from_program(program)
    floor = rtl.dram_bytes(net, nonzero, hw, from_reset=True) / hw.bus_bytes
    overhead = sum(lay.hidden_size / hw.num_pe + 32 for lay in program.layers)
    old = original.step_cycles(net, nonzero, num_pe=8, bus_bits=64, from_reset=True)
    return {"floor": floor, "target": 1.1 * floor + overhead, "original": old}


#: The paced runs' frame, in longest back-to-back steps. Steps run ahead of their input
#: (the hidden part while the input is awaited, the next step started early) can take up to
#: about 1.35 × a back-to-back step, so at a smaller frame some inputs queue behind the step
#: before and the paced figure is no longer the latency of a paced input.
PACED_FRAME = 2.0


def frame_for(cycles: np.ndarray) -> int:
    """The paced frame for a run whose back-to-back steps took ``cycles``: PACED_FRAME × the
    longest (the rule of every benchmark that paces its inputs)."""
    return int(PACED_FRAME * float(cycles.max()))


def net_rows(args: argparse.Namespace, hw: edgedrnn.HardwareConfig) -> list[dict]:
    """The benchmark nets at every Θ: one row each, printed as they finish."""
    rows = []
    print(
        "| net | Θ | steps | Δ/step | cyc/step | lat/step | frame | paced lat/step | "
        "paced cyc/step | floor | cyc/floor | target | cyc ≤ target (steps) | "
        "original cyc = lat | original/cyc | original/paced lat |"
    )
    print("|---" * 16 + "|")
    for name in args.nets:
        hidden, steps = NETS[name]
        if args.quick:
            steps = max(20, steps // 4)
        x = make_input(steps)
        for theta in THETAS:
            program = seeded_program(INPUTS, [hidden, hidden], hw, theta)
            t0 = time.perf_counter()
            res = edgedrnn.run(program, x, backend="rtl", mem_latency=args.mem_latency)
            frame = frame_for(res.cycles)
            paced = edgedrnn.run(
                program, x, backend="rtl", mem_latency=args.mem_latency, frame_cycles=frame
            )
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
                "rtl_latency_mean": float(res.latency.mean()),
                "frame_cycles": frame,
                "paced_latency_mean": float(paced.latency.mean()),
                "paced_latency_max": int(paced.latency.max()),
                "paced_cycles_mean": float(paced.cycles.mean()),
                "floor_mean": float(m["floor"].mean()),
                "target_mean": float(m["target"].mean()),
                "original_mean": float(m["original"].mean()),
                "rtl_over_floor": float(cyc.sum() / m["floor"].sum()),
                "steps_within_target": int((cyc <= m["target"]).sum()),
                "speedup_vs_original": float(m["original"].sum() / cyc.sum()),
                "latency_gain_vs_original_paced": float(m["original"].sum() / paced.latency.sum()),
                "equal_to_reference": bool(res.same_as(ref) and paced.same_as(ref)),
                "sim_seconds": wall,
                "cycles": res.cycles.tolist(),
                "latency": res.latency.tolist(),
                "paced_latency": paced.latency.tolist(),
                "paced_cycles": paced.cycles.tolist(),
            }
            rows.append(row)
            print(
                f"| {name} | {theta:g} | {steps} | {row['deltas_per_step']:.1f} | "
                f"{row['rtl_cycles_mean']:.0f} | {row['rtl_latency_mean']:.0f} | {frame} | "
                f"{row['paced_latency_mean']:.0f} | {row['paced_cycles_mean']:.0f} | "
                f"{row['floor_mean']:.0f} | {row['rtl_over_floor']:.2f} | "
                f"{row['target_mean']:.0f} | {row['steps_within_target']}/{steps} | "
                f"{row['original_mean']:.0f} | {row['speedup_vs_original']:.2f} | "
                f"{row['latency_gain_vs_original_paced']:.2f} |",
                flush=True,
            )
            if not row["equal_to_reference"]:
                print(f"  WARNING: rtl result differs from the reference ({name}, Θ={theta})")
    return rows


#: The testbench shape's inputs: name → (steps) → (steps, 8).
TESTBENCH_INPUTS = {
    "sinusoids": lambda steps: make_input(steps, TESTBENCH["inputs"], seed=1),
    "sensor": make_sensor_input,
}


def testbench_case(args: argparse.Namespace, hw: edgedrnn.HardwareConfig, inputs: str) -> dict:
    """The original testbench's shape on ``inputs``, back to back and paced; run totals."""
    tb = TESTBENCH
    program = seeded_program(tb["inputs"], [tb["hidden"]] * 2, hw, tb["theta"])
    x = TESTBENCH_INPUTS[inputs](tb["steps"])
    ref = edgedrnn.run(program, x, backend="reference")
    back = edgedrnn.run(program, x, backend="rtl", mem_latency=args.mem_latency)
    paced = edgedrnn.run(
        program, x, backend="rtl", mem_latency=args.mem_latency, frame_cycles=tb["frame_cycles"]
    )
    old = per_step_models(program, back.nonzero)["original"]
    doc = {
        **tb,
        "inputs_profile": inputs,
        "deltas_per_step": float(back.nonzero.sum(axis=(1, 2)).mean()),
        "back_to_back_cycles": int(back.cycles.sum()),
        "back_to_back_latency": int(back.latency.sum()),
        "paced_latency": int(paced.latency.sum()),
        "paced_cycles": int(paced.cycles.sum()),
        "paced_latency_max": int(paced.latency.max()),
        "original_cycles": float(old.sum()),
        "original_latency": float(old.sum()),
        # paced, the original also ends each step a frame after the previous one's end
        # (every step fits in the frame) and starts nothing before the input
        "original_paced_cycles": float((len(x) - 1) * tb["frame_cycles"] + old[-1]),
        "equal_to_reference": bool(back.same_as(ref) and paced.same_as(ref)),
    }
    f = tb["frame_cycles"]
    print()
    print(
        f"Original testbench shape: 2L-{tb['hidden']}H, {tb['inputs']} inputs, {tb['steps']} "
        f"steps, Θ = {tb['theta']:g} ({inputs} inputs; {doc['deltas_per_step']:.1f} Δ/step)"
    )
    print(
        "| run | rtl cycles (Σ) | rtl latency (Σ) | original cycles (Σ) | "
        "original latency (Σ) | rtl/original cycles | rtl/original latency |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, cyc, lat, old_cyc in (
        ("back to back", doc["back_to_back_cycles"], doc["back_to_back_latency"], old.sum()),
        (
            f"frame_cycles = {f}",
            doc["paced_cycles"],
            doc["paced_latency"],
            doc["original_paced_cycles"],
        ),
    ):
        print(
            f"| {label} | {cyc} | {lat} | {old_cyc:.0f} | {old.sum():.0f} | "
            f"{cyc / old_cyc:.3f} | {lat / old.sum():.3f} |"
        )
    if not doc["equal_to_reference"]:
        print("  WARNING: rtl result differs from the reference (testbench shape)")
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-pe", type=int, default=8)
    ap.add_argument("--bus-bits", type=int, default=64)
    ap.add_argument("--mem-latency", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a quarter of the steps")
    ap.add_argument(
        "--nets",
        nargs="*",
        default=list(NETS),
        choices=list(NETS),
        help="benchmark nets (none: only the original testbench's shape)",
    )
    ap.add_argument("-o", "--output", type=Path, default=Path("build/bench/rtl_cycles.json"))
    args = ap.parse_args()

    hw = edgedrnn.HardwareConfig(num_pe=args.num_pe, bus_bits=args.bus_bits)
    print(
        f"NUM_PE={hw.num_pe}, bus {hw.bus_bits} bits, memory latency {args.mem_latency}, no stalls"
    )
    rows = net_rows(args, hw)
    tb = {name: testbench_case(args, hw, name) for name in TESTBENCH_INPUTS}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "hardware": hw.to_dict(),
        "mem_latency": args.mem_latency,
        "input": "sinusoids (f 0.01..0.08/step) + N(0, 0.02) noise",
        "rows": rows,
        "original_testbench_shape": tb["sinusoids"],
        "original_testbench_shape_sensor": tb["sensor"],
    }
    args.output.write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
