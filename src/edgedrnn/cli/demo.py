"""``edgedrnn demo`` (``make demo``): the shipped pretrained DeltaGRU, end to end.

1. loads the pretrained spoken-digits model (a quantized 2-layer DeltaGRU compiled into a
   Program, plus its float CTC head) from ``edgedrnn/pretrained``;
2. synthesizes a handful of test utterances no model has heard (voices of the test split,
   a seed no data set uses) and featurizes them as in training;
3. runs the same Program on every backend (reference, torch, cpu, rtl), checks that they
   give the same integers, decodes the transcripts on the host (float linear head + greedy
   CTC) and reports the WER;
4. reports the deltas passed on per layer, cycles per step and the latency at the clock of
   the hardware configuration (125 MHz) measured on the RTL co-simulation;
5. draws the delta activity over time (which neurons fired when) into a PNG.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ALL_BACKENDS = ("reference", "torch", "cpu", "rtl")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="decode unseen spoken digits with the pretrained DeltaGRU on every backend",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=None, help="model .pt (default: the pretrained one)")
    p.add_argument("-n", "--utterances", type=int, default=5, help="utterances to synthesize")
    p.add_argument(
        "--seed",
        type=int,
        default=1000,
        help="seed of the synthesized utterances (the data sets use 0)",
    )
    p.add_argument(
        "--backends",
        default=",".join(ALL_BACKENDS),
        help="comma-separated backends to run (default: all four)",
    )
    p.add_argument(
        "--rtl-utterances",
        type=int,
        default=1,
        help="utterances also run on the (slow) RTL co-simulation (default 1)",
    )
    p.add_argument("--out", default="build/demo", help="output folder (default build/demo)")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=main)


def delta_raster(program, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Which elements each layer passed on at each step, from the reference model.

    Returns per layer ``(fired_x (T, I), fired_h (T, H))`` booleans: an element was passed on
    exactly when its reference value (x̂ or ĥ) moved during the step (datapath.md §5).
    """
    from ..backends.reference import ReferenceModel
    from ..runner import quantize_input

    xq = quantize_input(x, program.input_size)
    ref = ReferenceModel(program)
    out = [
        (np.zeros((len(xq), lay.input_size), bool), np.zeros((len(xq), lay.hidden_size), bool))
        for lay in program.layers
    ]
    for t in range(len(xq)):
        before = [(s.x_hat.copy(), s.h_hat.copy()) for s in ref.layers]
        ref.step(xq[t])
        for k, s in enumerate(ref.layers):
            out[k][0][t] = s.x_hat != before[k][0]
            out[k][1][t] = s.h_hat != before[k][1]
    return out


def draw_activity(path: Path, x: np.ndarray, raster, transcript: str, hop_ms: float) -> Path:
    """Features and per-layer delta rasters of one utterance, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = len(raster)
    steps = x.shape[0]
    fig, axes = plt.subplots(
        2 + layers,
        1,
        figsize=(10, 2.2 + 2.2 * layers),
        dpi=110,
        sharex=True,
        gridspec_kw={"height_ratios": [1.0] + [1.6] * layers + [0.8]},
    )
    ext = [0, steps * hop_ms / 1000.0]
    axes[0].imshow(x.T, aspect="auto", origin="lower", cmap="magma", extent=[*ext, 0, x.shape[1]])
    axes[0].set_ylabel("log-mel")
    axes[0].set_title(f'"{transcript}": hidden deltas passed on (black = neuron fired)')
    for k, (_fx, fh) in enumerate(raster):
        ax = axes[1 + k]
        ax.imshow(
            fh.T,
            aspect="auto",
            origin="lower",
            cmap="Greys",
            interpolation="nearest",
            extent=[*ext, 0, fh.shape[1]],
        )
        ax.set_ylabel(f"layer {k}\nhidden unit")
    ax = axes[-1]
    tt = np.arange(steps) * hop_ms / 1000.0
    for k, (fx, fh) in enumerate(raster):
        ax.plot(tt, fx.sum(1) + fh.sum(1), lw=0.8, label=f"layer {k}: Δx + Δh")
    ax.set_ylabel("passed/step")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console
    from rich.table import Table

    import edgedrnn
    from edgedrnn.backends import get_backend

    from ..data import spoken_digits as sd
    from ..train.checkpoint import load_model
    from ..train.ctc import greedy_decode, word_error_rate
    from ..train.digits import featurize
    from .evaluate import default_model_path

    t_start = time.time()
    torch.set_num_threads(max(1, args.threads))
    console = Console()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model_path = Path(args.model) if args.model else default_model_path()
    model = load_model(model_path)
    meta = model.metadata
    program_file = model_path.with_suffix(".edrnn")
    program = (
        edgedrnn.Program.load(program_file)
        if program_file.exists()
        else edgedrnn.compile(model.rnn)
    )
    console.rule("[bold]EdgeDRNN demo: connected spoken digits")
    console.print(
        f"model: {model_path} ({model_path.stat().st_size / 1e3:.0f} kB) + "
        f"{program_file.name} ({program_file.stat().st_size / 1e3:.0f} kB)"
    )
    console.print(program.summary())
    if "command" in meta:
        console.print(f"trained with: [dim]{meta['command']}[/dim]")

    # ---------------------------------------------------------------- utterances
    cfg = sd.SpokenDigitsConfig()
    utts = []
    for i in range(args.utterances):
        audio, plan = sd.make_utterance("test", i, seed=args.seed)
        x = featurize(audio, meta)
        utts.append({"x": x, "plan": plan, "audio_s": len(audio) / cfg.sample_rate})
    console.print(
        f"synthesized {len(utts)} unseen utterances (test-split voices, seed {args.seed}; "
        f"{sum(u['x'].shape[0] for u in utts)} steps of {cfg.hop_ms:g} ms)"
    )

    # ---------------------------------------------------------------- backends
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    available, missing = [], {}
    for name in wanted:
        try:
            get_backend(name)
            available.append(name)
        except (ValueError, ImportError) as exc:
            missing[name] = str(exc)
    results: dict[str, list[Any]] = {}
    timings: dict[str, float] = {}
    for name in available:
        t0 = time.time()
        todo = utts[: max(1, args.rtl_utterances)] if name == "rtl" else utts
        try:
            with console.status(f"running {len(todo)} utterance(s) on the {name} backend..."):
                results[name] = [edgedrnn.run(program, u["x"], backend=name) for u in todo]
        except Exception as exc:
            missing[name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        timings[name] = time.time() - t0
    if not results:
        console.print("[red]no backend could run the program[/red]")
        return 1
    full = [n for n in results if len(results[n]) == len(utts)]
    if not full:
        console.print("[red]only partial backend runs: add reference, torch or cpu[/red]")
        return 1
    base_name = "reference" if "reference" in full else full[0]
    base = results[base_name]

    # ---------------------------------------------------------------- transcripts
    refs, hyps = [], []
    table = Table(title="transcripts (decoded on the host: float head + greedy CTC)")
    for col in ("#", "voice", "spoken", "decoded", "errors"):
        table.add_column(col)
    for i, (u, res) in enumerate(zip(utts, base, strict=True)):
        with torch.no_grad():
            scores = model.head(torch.as_tensor(res.outputs, dtype=torch.float32))
        hyp = greedy_decode(scores)
        ref = [int(k) for k in u["plan"]["labels"]]
        refs.append(ref)
        hyps.append(hyp)
        from ..train.ctc import edit_distance

        err = edit_distance(ref, hyp)
        table.add_row(
            str(i),
            u["plan"]["voice"],
            sd.decode(ref),
            sd.decode(hyp),
            "[green]0[/green]" if err == 0 else f"[red]{err}[/red]",
        )
    wer = word_error_rate(refs, hyps)
    console.print(table)
    console.print(
        f"WER on these {len(utts)} utterances: [bold]{wer:.1f} %[/bold] "
        f"({sum(len(r) for r in refs)} words)"
    )

    # ---------------------------------------------------------------- deltas per layer
    nz = np.concatenate([r.nonzero for r in base])  # (sum T, L, 2)
    sizes = [(lay.input_size, lay.hidden_size) for lay in program.layers]
    dt = Table(title=f"deltas passed on per step (Θx = {program.theta_x}, Θh = {program.theta_h})")
    for col in ("layer", "Δx passed / I", "Δh passed / H", "sparsity Δx", "sparsity Δh"):
        dt.add_column(col, justify="right")
    for k, (i_sz, h_sz) in enumerate(sizes):
        mx, mh = nz[:, k, 0].mean(), nz[:, k, 1].mean()
        dt.add_row(
            str(k),
            f"{mx:.1f} / {i_sz}",
            f"{mh:.1f} / {h_sz}",
            f"{1 - mx / i_sz:.1%}",
            f"{1 - mh / h_sz:.1%}",
        )
    cols = nz.sum(axis=(1, 2)).mean()
    dense_cols = sum(i + h for i, h in sizes)
    console.print(dt)
    console.print(
        f"weight columns fetched per step: {cols:.1f} of {dense_cols} "
        f"({dense_cols / max(cols, 1e-9):.1f}x fewer than a dense GRU)"
    )

    # ---------------------------------------------------------------- equality
    bt = Table(title=f"the same Program on every backend (compared with {base_name})")
    for col in ("backend", "utterances", "time (s)", "outputs and delta counts", "overflow"):
        bt.add_column(col)
    all_equal = True
    for name in wanted:
        if name in results:
            same = all(a.same_as(b) for a, b in zip(results[name], base, strict=False))
            all_equal &= same
            bt.add_row(
                name,
                str(len(results[name])),
                f"{timings[name]:.2f}",
                "[green]equal[/green]" if same else "[red]DIFFERENT[/red]",
                str(any(r.overflow for r in results[name])),
            )
        else:
            bt.add_row(name, "-", "-", f"[yellow]not run: {missing[name]}[/yellow]", "-")
    console.print(bt)

    # ---------------------------------------------------------------- cycles
    clock = program.hw.clock_mhz
    cycles_info: dict[str, Any] | None = None
    if "rtl" in results:
        cyc = np.concatenate([r.cycles for r in results["rtl"]]).astype(np.float64)
        cycles_info = {
            "mean": float(cyc.mean()),
            "min": int(cyc.min()),
            "max": int(cyc.max()),
            "latency_us_mean": float(cyc.mean() / clock),
            "latency_us_max": float(cyc.max() / clock),
        }
        console.print(
            f"RTL co-simulation ({len(results['rtl'])} utterance(s), {len(cyc)} steps): "
            f"{cyc.mean():.0f} cycles per step on average "
            f"(min {cyc.min():.0f}, max {cyc.max():.0f}) = {cyc.mean() / clock:.2f} µs per "
            f"step at {clock:g} MHz (max {cyc.max() / clock:.2f} µs), "
            f"{cfg.hop_ms * 1000 / (cyc.mean() / clock):.0f}x faster than real time "
            f"({cfg.hop_ms:g} ms frames)"
        )
    else:
        console.print(
            f"[yellow]cycles per step: the rtl backend did not run "
            f"({missing.get('rtl', 'not requested')})[/yellow]"
        )

    # ---------------------------------------------------------------- picture
    with console.status("drawing the delta activity..."):
        raster = delta_raster(program, utts[0]["x"])
        png = draw_activity(
            out / "delta_activity.png", utts[0]["x"], raster, sd.decode(refs[0]), cfg.hop_ms
        )
    summary = {
        "model": str(model_path),
        "utterances": [
            {
                "voice": u["plan"]["voice"],
                "spoken": sd.decode(r),
                "decoded": sd.decode(h),
                "steps": int(u["x"].shape[0]),
            }
            for u, r, h in zip(utts, refs, hyps, strict=True)
        ],
        "wer": wer,
        "deltas_per_step": nz.mean(axis=0).tolist(),
        "columns_per_step": float(cols),
        "backends": {
            n: {
                "utterances": len(results[n]),
                "seconds": timings[n],
                "equal": all(a.same_as(b) for a, b in zip(results[n], base, strict=False)),
            }
            for n in results
        },
        "not_run": missing,
        "cycles": cycles_info,
        "clock_mhz": clock,
        "picture": str(png),
        "seconds": time.time() - t_start,
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=1))
    console.print(f"outputs: {png} (delta activity), {out / 'demo.json'} (summary)")
    console.print(f"done in {time.time() - t_start:.0f} s")
    return 0 if all_equal else 1
