"""Benchmark of the cpu backend's sparse-weight kernel against its dense kernel, same run.

One network (2L-768H, 40 inputs, random weights uniform in ±0.1, as in
``benchmarks/cpu_runtime.py``), pruned column-balanced for 8 PEs with
:func:`edgedrnn.prune` at each γ, compiled twice: with a dense weight image and with a
sparse one (``HardwareConfig(sparse_weights=True)``). Both programs compute the same
integers (checked here on every run), so the comparison is of the column kernels alone on
the same deltas: µs per step of the exact-mode kernel over a smooth synthetic feature
sequence (``Session.run``'s kernel, one call, after ``--warmup`` untimed steps), for each
exact-mode column kernel ("vnni", "portable"; "vnni" emulates ``vpdpbusd`` with portable
vector code on CPUs without AVX-512 VNNI, so its dense figure is only meaningful where the
CPU has it), with one threshold Θ (Θx = Θh) searched for the target occupancy on the
pruned network. torch is pinned to one thread. Prints a table and writes JSON (default
``build/bench/cpu_sparse.json``).

Usage::

    .venv/bin/python benchmarks/cpu_sparse.py            # γ = 15/16 and 7/8, 10 % occupancy
    .venv/bin/python benchmarks/cpu_sparse.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import torch

import edgedrnn
from edgedrnn.backends import cpu
from edgedrnn.backends import cpu_kernels as K

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_runtime import WEIGHT_SCALE, cpu_model, feature_sequence, find_theta

KERNELS = ("portable", "vnni")


def make_programs(inputs: int, hidden: int, layers: int, gamma: float, num_pe: int):
    """(dense program, sparse program) of one random GRU pruned at ``gamma``."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(inputs, hidden, layers)
    with torch.no_grad():
        for p in gru.parameters():
            p.uniform_(-WEIGHT_SCALE, WEIGHT_SCALE)
    hw = edgedrnn.HardwareConfig(num_pe=num_pe, max_hidden_size=1024, weight_memory_bytes=1 << 27)
    edgedrnn.prune(gru, gamma, hw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = edgedrnn.compile(gru, hw=hw)
        sparse = edgedrnn.compile(gru, hw=dataclasses.replace(hw, sparse_weights=True))
    return dense, sparse


def time_kernel(prog, kernel, x_q, theta_q, warmup, repeats):
    """µs per step of the exact kernel over ``x_q[warmup:]`` (median of repeats), and the
    Result of the whole sequence."""
    net = cpu.get_net(prog, "exact", kernel)
    T, L = x_q.shape[0], prog.num_layers
    tx = np.full((T, L), theta_q, dtype=np.int64)
    out = np.zeros((T, prog.output_size), dtype=np.int16)
    nz = np.zeros((T, L, 2), dtype=np.int64)
    st0, _ = net.new_state()
    K.run_exact(net.W, net.aux, net.meta, st0, x_q[:warmup], tx[:warmup], tx[:warmup],
                out[:warmup], nz[:warmup])  # fmt: skip
    times = []
    for r in range(repeats + 1):  # the first one compiles
        st = st0.copy()
        t0 = time.thread_time()
        K.run_exact(net.W, net.aux, net.meta, st, x_q[warmup:], tx[warmup:], tx[warmup:],
                    out[warmup:], nz[warmup:])  # fmt: skip
        if r:
            times.append(time.thread_time() - t0)
    return statistics.median(times) / (T - warmup) * 1e6, out.copy(), nz.copy()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--inputs", type=int, default=40)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--num-pe", type=int, default=8)
    ap.add_argument("--gammas", default="0.9375,0.875", help="comma-separated γ")
    ap.add_argument("--occupancy", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="2L-256H, 150 steps, 3 repeats")
    ap.add_argument("--out", default="build/bench/cpu_sparse.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.hidden, args.steps, args.repeats, args.warmup = 256, 150, 3, 30
    torch.set_num_threads(1)
    x = feature_sequence(args.steps, args.inputs)
    x_q = np.clip(np.rint(x * 256), -32768, 32767).astype(np.int16)
    rows = []
    for gamma in (float(g) for g in args.gammas.split(",")):
        dense, sparse = make_programs(args.inputs, args.hidden, args.layers, gamma, args.num_pe)
        theta_q = find_theta(dense, x_q, args.occupancy)
        row = {
            "network": f"{args.layers}L-{args.hidden}H",
            "gamma": gamma,
            "slots": [lay.slots for lay in sparse.layers],
            "theta_q": int(theta_q),
            "dense_column_bytes": dense.layers[-1].column_stride,
            "sparse_column_bytes": sparse.layers[-1].column_stride,
        }
        for kernel in KERNELS:
            t_d, out_d, nz_d = time_kernel(dense, kernel, x_q, theta_q, args.warmup, args.repeats)
            t_s, out_s, nz_s = time_kernel(sparse, kernel, x_q, theta_q, args.warmup, args.repeats)
            if not (np.array_equal(out_d, out_s) and np.array_equal(nz_d, nz_s)):
                raise AssertionError(f"sparse and dense programs differ (kernel {kernel})")
            total = sum(lay.num_columns for lay in dense.layers)
            row["occupancy"] = float(nz_d[args.warmup :].sum() / total / (args.steps - args.warmup))
            row[f"{kernel}_dense_us"] = round(t_d, 2)
            row[f"{kernel}_sparse_us"] = round(t_s, 2)
            row[f"{kernel}_speedup"] = round(t_d / t_s, 2)
        rows.append(row)
    doc = {
        "machine": {
            "cpu": cpu_model(),
            "native_vnni": bool(K.NATIVE_VNNI),
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
        },
        "args": vars(args),
        "rows": rows,
    }
    head = ["network", "γ", "slots", "occ.", "kernel", "dense µs", "sparse µs", "speed-up"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        for kernel in KERNELS:
            slots = "/".join(map(str, r["slots"]))
            cells = [r["network"], f"{r['gamma']:g}", slots, f"{r['occupancy']:.3f}", kernel]
            cells += [f"{r[kernel + '_dense_us']:.1f}", f"{r[kernel + '_sparse_us']:.1f}"]
            cells.append(f"{r[kernel + '_speedup']:.2f}x")
            print("| " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


if __name__ == "__main__":
    main()
