"""RTL cycles and DRAM bytes per step with a sparse weight image (Verilator co-simulation of
the sparse-decoding build), at the paper's point: 2L-768H, 40 inputs, 8 PEs on a 64-bit bus.

The network is :func:`edgedrnn.perf.workload.seeded_program`'s 2L-768H GRU (PyTorch's
default initialisation, seed 0) pruned column-balanced at each γ (:func:`edgedrnn.prune`)
and compiled to a sparse image (``HardwareConfig(sparse_weights=True)``); the input is
``benchmarks/rtl_cycles.py``'s smooth sinusoids. One Θ (Θx = Θh) is searched on the pruned
network for the target occupancy (``benchmarks/cpu_runtime.py``'s ``find_theta``, on the cpu
backend over ``--search-steps`` steps); the ``rtl`` backend then runs the first ``--steps``
steps back to back and paced (``rtl_cycles.frame_for``), and the rows average the steps
from ``--skip`` on (the first steps pass most columns: the state starts at zero).

Columns:

* ``occ``: passed-on columns / all columns over the averaged steps;
* ``cyc``: mean ``Result.cycles`` (STEP_CYCLES) back to back; ``model``: the cycle model
  (:func:`edgedrnn.perf.sparse.sparse_step`) on the same delta counts; ``dense model``: the
  dense image on the same counts (:mod:`edgedrnn.perf.rtl`, within 1 % of the dense RTL at
  this size: docs/performance.md);
* ``paced lat``: mean ``Result.latency`` with paced inputs;
* ``bytes``: weight bytes read per step (passed columns × ``column_stride``: the bursts the
  fetch unit issues, which the rtl tests count beat by beat); ``dense GRU``: the bytes of a
  dense GRU step (every column of the dense image) over ``bytes``.

Prints a table and writes JSON (default ``build/bench/rtl_sparse.json``). Run::

    .venv/bin/python benchmarks/rtl_sparse.py              # γ = 15/16, 10 %: a few minutes
    .venv/bin/python benchmarks/rtl_sparse.py --gammas 0.9375 0.875 --steps 24
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import edgedrnn
from edgedrnn.perf import Network, sparse
from edgedrnn.perf.workload import seeded_program

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_runtime import find_theta
from rtl_cycles import INPUTS, frame_for, make_input

HIDDEN = 768
#: The issue's targets at γ = 15/16, ~10 % occupancy.
TARGET_CYCLES = 12_500
TARGET_DRAM_REDUCTION = 50.0


def run_case(args: argparse.Namespace, hw: edgedrnn.HardwareConfig, gamma: float) -> dict:
    """One γ: the Θ search, the co-simulation back to back and paced, the models."""
    program = seeded_program(INPUTS, [HIDDEN, HIDDEN], hw, sparsity=gamma)
    x = make_input(max(args.search_steps, args.steps))
    x_q = np.clip(np.rint(x * 256), -32768, 32767).astype(np.int16)
    theta_q = find_theta(program, x_q[: args.search_steps], args.occupancy)
    theta = theta_q / 256
    xs = x_q[: args.steps]
    t0 = time.perf_counter()
    res = edgedrnn.run(program, xs, backend="rtl", theta_x=theta, theta_h=theta)
    paced = edgedrnn.run(
        program,
        xs,
        backend="rtl",
        theta_x=theta,
        theta_h=theta,
        frame_cycles=frame_for(res.cycles[args.skip :]),
    )
    wall = time.perf_counter() - t0
    ref = edgedrnn.run(program, xs, backend="reference", theta_x=theta, theta_h=theta)
    net = Network.from_program(program)
    slots = [lay.slots for lay in program.layers]
    model = sparse.sparse_step(net, slots, counts=res.nonzero, hw=hw)
    k = slice(args.skip, None)
    columns = sum(lay.num_columns for lay in program.layers)
    cyc = res.cycles[k].astype(np.float64)
    dram = float(model.dram_bytes[k].mean())
    return {
        "gamma": gamma,
        "slots": slots,
        "column_stride": [lay.column_stride for lay in program.layers],
        "theta_q": int(theta_q),
        "steps": int(xs.shape[0]),
        "averaged_from_step": args.skip,
        "occupancy": float(res.nonzero[k].sum() / (columns * cyc.size)),
        "deltas_per_step": float(res.nonzero[k].sum(axis=(1, 2)).mean()),
        "rtl_cycles_mean": float(cyc.mean()),
        "rtl_cycles_max": int(cyc.max()),
        "model_cycles_mean": float(model.cycles[k].mean()),
        "dense_model_cycles_mean": float(model.dense_cycles[k].mean()),
        "paced_latency_mean": float(paced.latency[k].mean()),
        "frame_cycles": frame_for(res.cycles[k]),
        "dram_bytes_mean": dram,
        "dense_step_dram_bytes": model.dense_step_dram_bytes,
        "dram_reduction": model.dense_step_dram_bytes / dram,
        "time_us": float(cyc.mean()) / hw.clock_mhz,
        "equal_to_reference": bool(res.same_as(ref) and paced.same_as(ref)),
        "sim_seconds": wall,
        "cycles": res.cycles.tolist(),
        "paced_latency": paced.latency.tolist(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gammas", type=float, nargs="+", default=[15 / 16])
    ap.add_argument("--occupancy", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=16, help="co-simulated steps")
    ap.add_argument("--skip", type=int, default=4, help="steps left out of the means")
    ap.add_argument("--search-steps", type=int, default=100, help="steps of the Θ search")
    ap.add_argument("--num-pe", type=int, default=8)
    ap.add_argument("--bus-bits", type=int, default=64)
    ap.add_argument("-o", "--output", type=Path, default=Path("build/bench/rtl_sparse.json"))
    args = ap.parse_args()
    hw = edgedrnn.HardwareConfig(num_pe=args.num_pe, bus_bits=args.bus_bits, sparse_weights=True)
    print(
        f"2L-{HIDDEN}H, {INPUTS} inputs, NUM_PE={hw.num_pe}, bus {hw.bus_bits} bits, sparse "
        f"build; steps {args.skip}..{args.steps - 1} of {args.steps}"
    )
    print(
        "| γ | n | Θ (raw) | occ | Δ/step | cyc/step | µs at 125 MHz | model | dense model | "
        "paced lat | bytes/step | dense GRU / bytes | exact |"
    )
    print("|---" * 13 + "|")
    rows = []
    for gamma in args.gammas:
        r = run_case(args, hw, gamma)
        rows.append(r)
        print(
            f"| {gamma:g} | {'/'.join(map(str, r['slots']))} | {r['theta_q']} | "
            f"{r['occupancy']:.3f} | {r['deltas_per_step']:.1f} | {r['rtl_cycles_mean']:,.0f} | "
            f"{r['time_us']:.1f} | {r['model_cycles_mean']:,.0f} | "
            f"{r['dense_model_cycles_mean']:,.0f} | {r['paced_latency_mean']:,.0f} | "
            f"{r['dram_bytes_mean']:,.0f} | {r['dram_reduction']:.1f}x | "
            f"{r['equal_to_reference']} |",
            flush=True,
        )
    for r in rows:
        if abs(r["gamma"] - 15 / 16) < 1e-9:
            ok_c = r["rtl_cycles_mean"] <= TARGET_CYCLES
            ok_b = r["dram_reduction"] >= TARGET_DRAM_REDUCTION
            print(
                f"targets at γ = 15/16: ≤ {TARGET_CYCLES:,} cycles/step: "
                f"{'met' if ok_c else 'NOT met'} ({r['rtl_cycles_mean']:,.0f}); "
                f"≥ {TARGET_DRAM_REDUCTION:g}x fewer DRAM bytes than a dense step: "
                f"{'met' if ok_b else 'NOT met'} ({r['dram_reduction']:.1f}x)"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "hardware": hw.to_dict(),
        "network": {"inputs": INPUTS, "hidden": [HIDDEN, HIDDEN]},
        "input": "sinusoids (f 0.01..0.08/step) + N(0, 0.02) noise (rtl_cycles.make_input)",
        "rows": rows,
    }
    args.output.write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
