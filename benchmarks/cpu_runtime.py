"""Benchmark of the cpu backend against torch.nn.GRU on one core, batch size 1.

For each network (2L-768H with 40 inputs, the paper's network, and 2L-256H) and each target
delta occupancy (100% = Θ 0, 30%, 10%, 3%, and 0% = nothing passes: the fixed cost), it
measures µs per step of:

* the cpu backend, exact and float mode, through the public API only: ``Session.run`` (one
  call of the Numba kernel over the whole sequence, no Python per step) and
  ``Session.step`` from Python (dispatch included);
* ``torch.nn.GRU`` with ``torch.set_num_threads(1)``: stepwise (one call per step, the
  streaming situation) and whole-sequence (one call);
* the bytes floor: weight bytes read per step (passed columns × column bytes) divided by a
  measured read bandwidth, for a buffer as large as the weights (cache-resident if it fits)
  and for 1 GiB (DRAM).

The occupancy is set by searching one threshold Θ (Θx = Θh) on a smooth synthetic feature
sequence; the table gives the measured occupancy (passed columns / all columns).

Real feature sequences (``--real-utterances``, 0 to skip): the shipped trained model
``src/edgedrnn/pretrained/digits.edrnn`` (2L-256H) at its own thresholds on utterances of
the spoken-digits test set (log-mel features; generated with espeak-ng and cached on first
use, which takes a few minutes), each run from reset; and a 2L-768H network with random
weights driven by the same features.

Each number is the median of ``--repeats`` runs. Prints tables and writes JSON (default
``build/bench/cpu_runtime.json``).

Usage::

    .venv/bin/python benchmarks/cpu_runtime.py            # full run (a few minutes)
    .venv/bin/python benchmarks/cpu_runtime.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import torch
from numba import njit

import edgedrnn
from edgedrnn.pretrained import DIGITS_PROGRAM

NETWORKS = {"2L-768H": (40, 768, 2), "2L-256H": (40, 256, 2)}
PRETRAINED = DIGITS_PROGRAM
TARGETS = [1.0, 0.3, 0.1, 0.03, 0.0]
#: Uniform weight range of the synthetic networks (PyTorch's default ±1/sqrt(H) would mostly
#: round to 0 in Q1.7).
WEIGHT_SCALE = 0.1


# ------------------------------------------------------------------------- bandwidth
@njit(nogil=True, cache=True)
def _read_all(a):
    s = np.int64(0)
    for i in range(a.shape[0]):
        s ^= a[i]
    return s


def read_bandwidth(nbytes: int, repeats: int) -> float:
    """Bytes/s of a streaming read of ``nbytes`` (median of repeats, after a warm-up)."""
    a = np.ones(max(nbytes // 8, 1), dtype=np.int64)
    _read_all(a)
    times = []
    reps = max(1, int(2e8 // nbytes))
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(reps):
            _read_all(a)
        times.append((time.thread_time() - t0) / reps)
    return a.nbytes / statistics.median(times)


# ----------------------------------------------------------------------------- data
def feature_sequence(steps: int, size: int, seed: int = 0) -> np.ndarray:
    """A smooth synthetic feature stream (like filterbank features), float (T, I) ~ ±1."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    freqs = rng.uniform(0.01, 0.15, size)
    x = 0.6 * np.sin(2 * np.pi * freqs * t + rng.uniform(0, 6, size))
    x += np.cumsum(rng.normal(0, 0.04, (steps, size)), axis=0)
    return np.clip(x, -4, 4)


def make_program(input_size: int, hidden: int, layers: int) -> tuple:
    torch.manual_seed(0)
    gru = torch.nn.GRU(input_size, hidden, layers)
    with torch.no_grad():  # wider than PyTorch's default init so that Q1.7 keeps most weights
        for p in gru.parameters():
            p.uniform_(-WEIGHT_SCALE, WEIGHT_SCALE)
    hw = edgedrnn.HardwareConfig(max_hidden_size=1024, weight_memory_bytes=1 << 27)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return edgedrnn.compile(gru, hw=hw), gru


def occupancy(prog: edgedrnn.Program, x_q: np.ndarray, theta_q: int) -> float:
    """Passed columns / all columns over the sequence at Θx = Θh = theta_q."""
    steps = x_q.shape[0]
    res = edgedrnn.run(prog, x_q, backend="cpu", theta_x=theta_q / 256, theta_h=theta_q / 256)
    total = sum(lay.num_columns for lay in prog.layers) * steps
    return float(res.nonzero.sum() / total)


def find_theta(prog, x_q, target: float) -> int:
    """Raw Θ whose occupancy is closest to ``target`` (Θ = 0 for 100%, max for 0%).

    Occupancy falls with Θ but not smoothly (past some Θ a layer's hidden state freezes),
    so the bisection keeps both ends and returns the one closer to the target (log scale).
    """
    if target >= 1.0:
        return 0
    if target <= 0.0:
        return 32767
    lo, hi = 0, 4096
    occ_lo, occ_hi = 1.0, occupancy(prog, x_q, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        occ = occupancy(prog, x_q, mid)
        if occ > target:
            lo, occ_lo = mid, occ
        else:
            hi, occ_hi = mid, occ
    d_lo = abs(np.log(max(occ_lo, 1e-6) / target))
    d_hi = abs(np.log(max(occ_hi, 1e-6) / target))
    return lo if d_lo < d_hi else hi


# --------------------------------------------------------------------------- timing
def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (and compile)
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return statistics.median(times)


def bench_cpu(prog, x_q, theta_q, mode, repeats, warmup_steps):
    """µs per step: (Session.run over the sequence, Session.step), passed columns per step.

    ``Session.run`` runs the whole sequence in one call of the Numba kernel (no Python per
    step); each timed run starts from the same steady state (``warmup_steps`` run untimed).
    """
    theta = theta_q / 256
    inputs = x_q if mode == "exact" else x_q.astype(np.float32) / 256
    body = inputs[warmup_steps:]
    nonzero = []

    def primed():
        sess = edgedrnn.Session(prog, mode=mode, theta_x=theta, theta_h=theta)
        sess.run(inputs[:warmup_steps])
        return sess

    def timed_run():
        sessions = [primed() for _ in range(repeats + 1)]  # untimed
        times = []
        for sess in sessions:
            t0 = time.thread_time()
            sess.run(body)
            times.append(time.thread_time() - t0)
            nonzero.append(sess.last_nonzero)
        return statistics.median(times[1:])  # the first run compiles

    t_kernel = timed_run() / body.shape[0]
    cols = float(occupancy_columns(prog, x_q, theta_q, warmup_steps))

    sess = edgedrnn.Session(prog, mode=mode, theta_x=theta, theta_h=theta)
    steps = x_q.shape[0]

    def session_run():
        sess.reset()
        for t in range(steps):
            sess.step(inputs[t])

    t_sess = median_time(session_run, max(1, repeats // 2)) / steps
    return t_kernel * 1e6, t_sess * 1e6, cols


def occupancy_columns(prog, x_q, theta_q, warmup_steps):
    """Mean passed-on columns per step after ``warmup_steps`` (the cpu backend's count)."""
    res = edgedrnn.run(prog, x_q, backend="cpu", theta_x=theta_q / 256, theta_h=theta_q / 256)
    return res.nonzero[warmup_steps:].sum() / (x_q.shape[0] - warmup_steps)


def bench_torch(gru, x, repeats):
    torch.set_num_threads(1)
    xt = torch.tensor(x, dtype=torch.float32).unsqueeze(1)  # (T, 1, I)
    steps = xt.shape[0]

    def stepwise():
        h = None
        with torch.inference_mode():
            for t in range(steps):
                _, h = gru(xt[t : t + 1], h)

    def whole():
        with torch.inference_mode():
            gru(xt)

    return (
        median_time(stepwise, repeats) / steps * 1e6,
        median_time(whole, repeats) / steps * 1e6,
    )


# ------------------------------------------------------------------ real features
def load_utterances(n: int) -> list[np.ndarray]:
    """The first ``n`` spoken-digits test utterances as raw Q8.8 int16 (T, 40) arrays.

    Generated with espeak-ng and cached on first use (a few minutes on a fresh machine).
    """
    from edgedrnn.data import spoken_digits as sd

    print(f"loading {n} spoken-digits test utterances (generated on first use) ...", flush=True)
    data = sd.load("test", n=n, progress=True)
    return [np.clip(np.rint(f * 256), -32768, 32767).astype(np.int16) for f in data.features]


def torch_gru(prog: edgedrnn.Program) -> torch.nn.GRU:
    """A torch.nn.GRU computing the program's network (dequantized weights, dense)."""
    m = edgedrnn.DeltaGRU.from_program(prog)
    gru = torch.nn.GRU(prog.input_size, prog.hidden_sizes[0], prog.num_layers)
    gru.load_state_dict({k: v for k, v in m.state_dict().items() if k in gru.state_dict()})
    return gru


def time_kernel_utterances(prog, mode, utts, theta_x_q, theta_h_q, repeats):
    """µs per step of ``Session.run`` over utterances each run from reset; passed columns."""
    inputs = [u if mode == "exact" else u.astype(np.float32) / 256 for u in utts]
    theta_x, theta_h = list(theta_x_q / 256), list(theta_h_q / 256)

    def sessions():
        return [edgedrnn.Session(prog, mode=mode, theta_x=theta_x, theta_h=theta_h) for _ in inputs]

    def run_all(fresh):
        return [sess.run(u) for sess, u in zip(fresh, inputs, strict=True)]

    run_all(sessions())  # warm-up (and compile)
    times = []
    for _ in range(repeats):
        fresh = sessions()  # fresh (reset) sessions, made untimed
        t0 = time.thread_time()
        run_all(fresh)
        times.append(time.thread_time() - t0)
    steps = sum(u.shape[0] for u in utts)
    per_layer = {"theta_x": np.array([theta_x]), "theta_h": np.array([theta_h])}  # (1, L)
    cols = sum(edgedrnn.run(prog, u, backend="cpu", **per_layer).nonzero.sum() for u in utts)
    return statistics.median(times) / steps * 1e6, float(cols) / steps


def time_session_utterances(prog, mode, utts, theta_x_q, theta_h_q, repeats):
    """µs per step of ``Session.step`` from Python, reset before each utterance."""
    sess = edgedrnn.Session(
        prog, mode=mode, theta_x=list(theta_x_q / 256), theta_h=list(theta_h_q / 256)
    )
    inputs = [u if mode == "exact" else u.astype(np.float32) / 256 for u in utts]

    def session_run():
        for u in inputs:
            sess.reset()
            for t in range(u.shape[0]):
                sess.step(u[t])

    steps = sum(u.shape[0] for u in utts)
    return median_time(session_run, max(1, repeats // 2)) / steps * 1e6


def bench_real(prog, utts, theta_x_q, theta_h_q, repeats):
    """(exact, exact Session, float, float Session) µs per step, passed columns per step."""
    args = (utts, theta_x_q, theta_h_q, repeats)
    ex, cols = time_kernel_utterances(prog, "exact", *args)
    fl, _ = time_kernel_utterances(prog, "float", *args)
    ex_s = time_session_utterances(prog, "exact", *args)
    fl_s = time_session_utterances(prog, "float", *args)
    return ex, ex_s, fl, fl_s, cols


def bench_torch_utterances(gru, utts, repeats):
    """torch.nn.GRU µs per step over the utterances: stepwise and one call per utterance."""
    torch.set_num_threads(1)
    xs = [torch.tensor(u.astype(np.float32) / 256).unsqueeze(1) for u in utts]
    steps = sum(x.shape[0] for x in xs)

    def stepwise():
        with torch.inference_mode():
            for x in xs:
                h = None
                for t in range(x.shape[0]):
                    _, h = gru(x[t : t + 1], h)

    def whole():
        with torch.inference_mode():
            for x in xs:
                gru(x)

    return (
        median_time(stepwise, repeats) / steps * 1e6,
        median_time(whole, repeats) / steps * 1e6,
    )


def real_rows(n_utts: int, repeats: int, bw_dram: float, bw_cache: dict) -> list[dict]:
    """Rows of the trained 2L-256H model and a random 2L-768H one on real features."""
    utts = load_utterances(n_utts)
    trained = edgedrnn.Program.load(PRETRAINED)
    random768, _ = make_program(40, 768, 2)
    # both at the trained model's thresholds (Θx = Θh = 51/256 per layer)
    tq = np.asarray(trained.theta_x_q, dtype=np.int64)
    th = np.asarray(trained.theta_h_q, dtype=np.int64)
    cases = [
        ("2L-256H", "trained (digits.edrnn)", trained),
        ("2L-768H", "random ±0.1", random768),
    ]
    rows = []
    for name, weights, prog in cases:
        L = prog.num_layers
        ex, ex_s, fl, fl_s, cols = bench_real(prog, utts, tq, th, repeats)
        steps = sum(u.shape[0] for u in utts)
        net = edgedrnn.Session(prog).stream.net
        if net.weight_bytes not in bw_cache:
            bw_cache[net.weight_bytes] = read_bandwidth(net.weight_bytes, repeats)
        t_step, t_seq = bench_torch_utterances(torch_gru(prog), utts, max(1, repeats // 2))
        bytes_step = cols * net.column_bytes(0)
        total_cols = sum(lay.num_columns for lay in prog.layers)
        rows.append(
            {
                "network": name,
                "weights": weights,
                "source": f"spoken-digits test set, {len(utts)} utterances from reset",
                "steps": steps,
                "theta_x": [float(t) / 256 for t in tq],
                "theta_h": [float(t) / 256 for t in th],
                "occupancy": cols / total_cols,
                "columns_per_step": cols,
                "bytes_per_step": bytes_step,
                "exact_us": ex,
                "exact_session_us": ex_s,
                "float_us": fl,
                "float_session_us": fl_s,
                "torch_stepwise_us": t_step,
                "torch_sequence_us": t_seq,
                "floor_cache_us": bytes_step / bw_cache[net.weight_bytes] * 1e6,
                "floor_dram_us": bytes_step / bw_dram * 1e6,
                "speedup_vs_torch_stepwise": t_step / ex,
                "layers": L,
            }
        )
        print(
            f"{name} ({weights}) on real features: occ {rows[-1]['occupancy']:.3f} "
            f"exact {ex:.1f} µs, float {fl:.1f} µs, torch step {t_step:.0f} µs",
            flush=True,
        )
    return rows


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    ap.add_argument("--networks", nargs="*", default=list(NETWORKS))
    ap.add_argument(
        "--real-utterances",
        type=int,
        default=30,
        help="spoken-digits test utterances for the real-feature rows (0: skip them)",
    )
    ap.add_argument("--out", default="build/bench/cpu_runtime.json")
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="no measurement: merge the JSON of several runs (median of every number)",
    )
    args = ap.parse_args(argv)
    if args.merge:
        doc = merge([json.loads(Path(p).read_text()) for p in args.merge])
        print(table(doc))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(doc, indent=2))
        print(f"\nwrote {args.out}")
        return doc
    if args.quick:
        args.steps, args.repeats = 120, 3
        args.real_utterances = min(args.real_utterances, 4)
    torch.set_num_threads(1)
    warm = min(50, args.steps // 4)

    rows = []
    bw_cache: dict[int, float] = {}
    bw_dram = read_bandwidth(1 << 30, max(3, args.repeats // 2))
    for name in args.networks:
        I, H, L = NETWORKS[name]
        prog, gru = make_program(I, H, L)
        x = feature_sequence(args.steps, I)
        x_q = np.rint(x * 256).astype(np.int16)
        net = edgedrnn.Session(prog).stream.net
        col_bytes = [net.column_bytes(layer) for layer in range(L)]
        bw_cache[net.weight_bytes] = read_bandwidth(net.weight_bytes, args.repeats)
        t_step, t_seq = bench_torch(gru, x, max(1, args.repeats // 2))
        for target in TARGETS:
            theta_q = find_theta(prog, x_q, target)
            occ = occupancy(prog, x_q[warm:], theta_q) if target > 0 else 0.0
            ex_k, ex_s, cols = bench_cpu(prog, x_q, theta_q, "exact", args.repeats, warm)
            fl_k, fl_s, _ = bench_cpu(prog, x_q, theta_q, "float", args.repeats, warm)
            # bytes read per step: passed columns × column bytes (layers have equal H here)
            bytes_step = cols * col_bytes[0]
            floor_cache = bytes_step / bw_cache[net.weight_bytes] * 1e6
            floor_dram = bytes_step / bw_dram * 1e6
            rows.append(
                {
                    "network": name,
                    "weights": prog.num_weights,
                    "target_occupancy": target,
                    "theta_q": theta_q,
                    "occupancy": occ,
                    "columns_per_step": cols,
                    "bytes_per_step": bytes_step,
                    "exact_us": ex_k,
                    "exact_session_us": ex_s,
                    "float_us": fl_k,
                    "float_session_us": fl_s,
                    "torch_stepwise_us": t_step,
                    "torch_sequence_us": t_seq,
                    "floor_cache_us": floor_cache,
                    "floor_dram_us": floor_dram,
                    "speedup_vs_torch_stepwise": t_step / ex_k,
                }
            )
            print_row(rows[-1])
    real = []
    if args.real_utterances > 0:
        try:
            real = real_rows(args.real_utterances, args.repeats, bw_dram, bw_cache)
        except (OSError, RuntimeError) as e:  # no espeak-ng to generate the data set, ...
            print(f"real-feature rows skipped: {type(e).__name__}: {e}", flush=True)
    doc = {
        "machine": cpu_model(),
        "numba": __import__("numba").__version__,
        "torch": torch.__version__,
        "kernel": edgedrnn.Session(edgedrnn.Program.load(PRETRAINED)).stream.net.kernel,
        "steps": args.steps,
        "warmup_steps": warm,
        "repeats": args.repeats,
        "bandwidth_dram_GBps": bw_dram / 1e9,
        "bandwidth_weights_sized_GBps": {str(k): v / 1e9 for k, v in bw_cache.items()},
        "rows": rows,
        "real_rows": real,
    }
    print()
    print(table(doc))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(f"\nwrote {out}")
    return doc


def merge(docs: list[dict]) -> dict:
    """Median over runs of every numeric field, row by row (rows matched by position)."""
    out = dict(docs[0])
    out["runs"] = len(docs)

    def med(values):
        return statistics.median(values) if isinstance(values[0], int | float) else values[0]

    out["bandwidth_dram_GBps"] = med([d["bandwidth_dram_GBps"] for d in docs])
    out["bandwidth_weights_sized_GBps"] = {
        k: med([d["bandwidth_weights_sized_GBps"][k] for d in docs])
        for k in docs[0]["bandwidth_weights_sized_GBps"]
    }
    for key in ("rows", "real_rows"):
        out[key] = [
            {k: med([d[key][i][k] for d in docs]) for k in docs[0][key][i]}
            for i in range(len(docs[0].get(key, [])))
        ]
    return out


def print_row(r: dict) -> None:
    print(
        f"{r['network']} target {r['target_occupancy']:.0%}: occ {r['occupancy']:.3f} "
        f"exact {r['exact_us']:.1f} µs, float {r['float_us']:.1f} µs, "
        f"torch step {r['torch_stepwise_us']:.0f} µs",
        flush=True,
    )


def table(doc: dict) -> str:
    """The Markdown table of docs/performance.md."""
    head = (
        "| network | target occ. | measured occ. | exact µs | exact Session µs | float µs "
        "| float Session µs | torch stepwise µs | torch sequence µs | floor DRAM µs "
        "| floor cache µs | exact vs torch stepwise |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in doc["rows"]:
        lines.append(
            f"| {r['network']} | {r['target_occupancy']:.0%} | {r['occupancy']:.3f} "
            f"| {r['exact_us']:.1f} | {r['exact_session_us']:.1f} | {r['float_us']:.1f} "
            f"| {r['float_session_us']:.1f} | {r['torch_stepwise_us']:.0f} "
            f"| {r['torch_sequence_us']:.0f} | {r['floor_dram_us']:.1f} "
            f"| {r['floor_cache_us']:.1f} | {r['speedup_vs_torch_stepwise']:.0f}x |"
        )
    if doc.get("real_rows"):
        lines += ["", real_table(doc["real_rows"])]
    bw = ", ".join(
        f"{float(v):.0f} GB/s ({int(k) / 1e6:.1f} MB)"
        for k, v in doc["bandwidth_weights_sized_GBps"].items()
    )
    lines.append("")
    lines.append(
        f"Read bandwidth: DRAM (1 GiB) {doc['bandwidth_dram_GBps']:.1f} GB/s; "
        f"weight-sized buffers {bw}."
    )
    return "\n".join(lines)


def real_table(rows: list[dict]) -> str:
    """The Markdown table of the real-feature rows."""
    lines = [
        "| network | weights | Θx = Θh | occupancy | exact µs | exact Session µs | float µs "
        "| float Session µs | torch stepwise µs | torch sequence µs | floor DRAM µs "
        "| floor cache µs | exact vs torch stepwise |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['weights']} | {r['theta_x'][0]:.4f} | {r['occupancy']:.3f} "
            f"| {r['exact_us']:.1f} | {r['exact_session_us']:.1f} | {r['float_us']:.1f} "
            f"| {r['float_session_us']:.1f} | {r['torch_stepwise_us']:.0f} "
            f"| {r['torch_sequence_us']:.0f} | {r['floor_dram_us']:.2f} "
            f"| {r['floor_cache_us']:.2f} | {r['speedup_vs_torch_stepwise']:.0f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
