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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from ..program import Program
    from ..result import Result
    from ..support.progress import Bars
    from ..train.heads import SequenceModel

ALL_BACKENDS = ("reference", "torch", "cpu", "rtl")


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import RawDescriptionHelpFormatter, backends, positive_int, seed

    p = sub.add_parser(
        "demo",
        help="decode unseen spoken digits with the pretrained DeltaGRU on every backend",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        help="spoken-digits model .pt (default: the pretrained one shipped with edgedrnn)",
    )
    p.add_argument(
        "-n", "--utterances", type=positive_int, default=5, help="utterances to synthesize"
    )
    p.add_argument(
        "--seed",
        type=seed,
        default=1000,
        help="seed of the synthesized utterances (the data sets use 0)",
    )
    p.add_argument(
        "--backends",
        type=backends,
        default=",".join(ALL_BACKENDS),
        help="comma-separated backends to run",
    )
    p.add_argument(
        "--rtl-utterances",
        type=positive_int,
        default=1,
        help="utterances also run on the (slow) RTL co-simulation",
    )
    p.add_argument("--out", default="build/demo", help="output folder")
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads")
    p.set_defaults(func=main)


@dataclass
class Utterance:
    """One synthesized test utterance: its features and the choices behind it."""

    x: np.ndarray
    plan: dict[str, Any]
    audio_s: float


@dataclass
class Runs:
    """What the backends gave: results and seconds per backend, and why the others did not run."""

    wanted: list[str]
    results: dict[str, list[Result]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def equal(self, name: str, base: str) -> bool:
        """Whether backend ``name`` gave the same integers as ``base`` on every utterance."""
        pairs = zip(self.results[name], self.results[base], strict=False)
        return all(a.same_as(b) for a, b in pairs)


def main(args: argparse.Namespace) -> int:
    from ._args import UsageError, output_dir

    if args.backends == ["rtl"] and args.utterances > args.rtl_utterances:
        raise UsageError(
            f"--backends rtl alone runs {args.rtl_utterances} of the {args.utterances} "
            "utterances; add reference, torch or cpu, or make -n and --rtl-utterances equal"
        )
    out = output_dir(args.out)  # first: a bad --out fails in a moment, not after the run

    import torch
    from rich.console import Console

    from ..data import spoken_digits as sd
    from ..support.progress import Bars

    t_start = time.time()
    torch.set_num_threads(args.threads)
    console = Console()

    model_path, model, program = load_pretrained(console, args.model)
    utts = synthesize(console, model.metadata, args.utterances, args.seed)
    wanted = args.backends
    with Bars() as bars:
        runs = run_backends(bars, program, utts, wanted, args.rtl_utterances)
    full = [n for n in runs.results if len(runs.results[n]) == len(utts)]
    if not full:
        why = "only partial backend runs: add reference, torch or cpu" if runs.results else ""
        console.print(f"[red]{why or 'no backend could run the program'}[/red]")
        return 1
    base = "reference" if "reference" in full else full[0]
    refs, hyps, wer = transcripts(console, model, utts, runs.results[base])
    nz, cols = deltas(console, program, runs.results[base])
    all_equal = equality(console, runs, base)
    cycles = rtl_cycles(console, program, runs)
    with Bars() as bars:
        task = bars.add("drawing the delta activity", total=1)
        png = draw(program, utts[0], sd.decode(refs[0]), out / "delta_activity.png")
        bars.update(task)
    summary = {
        "model": str(model_path),
        "utterances": [
            {
                "voice": u.plan["voice"],
                "spoken": sd.decode(r),
                "decoded": sd.decode(h),
                "steps": int(u.x.shape[0]),
            }
            for u, r, h in zip(utts, refs, hyps, strict=True)
        ],
        "wer": wer,
        "deltas_per_step": nz.mean(axis=0).tolist(),
        "columns_per_step": float(cols),
        "backends": {
            n: {"utterances": len(r), "seconds": runs.seconds[n], "equal": runs.equal(n, base)}
            for n, r in runs.results.items()
        },
        "not_run": runs.missing,
        "cycles": cycles,
        "clock_mhz": program.hw.clock_mhz,
        "picture": str(png),
        "seconds": time.time() - t_start,
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=1))
    console.print(f"outputs: {png} (delta activity), {out / 'demo.json'} (summary)")
    console.print(f"done in {time.time() - t_start:.0f} s")
    return 0 if all_equal else 1


def load_pretrained(console: Console, model_arg: str | None) -> tuple[Path, SequenceModel, Program]:
    """The model (default: the shipped one) and its Program (compiled if none is stored)."""
    from ..compiler import compile as compile_program
    from ..pretrained import DIGITS_MODEL
    from ..program import Program
    from ._args import UsageError, model_file

    model_path, model = model_file(model_arg or DIGITS_MODEL)
    source = model.metadata.get("data", {}).get("source")
    if not model.is_delta or source != "spoken-digits":
        kind = "DeltaGRU" if model.is_delta else "dense GRU"
        raise UsageError(
            f"{model_path} is a {kind} trained on {source or 'unknown data'}; the demo needs "
            "a DeltaGRU trained on spoken-digits (edgedrnn train --data spoken-digits)"
        )
    program_file = model_path.with_suffix(".edrnn")
    stored = program_file.exists()
    program = Program.load(program_file) if stored else compile_program(model.rnn)
    console.rule("[bold]EdgeDRNN demo: connected spoken digits")
    compiled = (
        f"{program_file.name} ({program_file.stat().st_size / 1e3:.0f} kB)"
        if stored
        else "the Program compiled from it"
    )
    console.print(f"model: {model_path} ({model_path.stat().st_size / 1e3:.0f} kB) + {compiled}")
    console.print(program.summary())
    if "command" in model.metadata:
        console.print(f"trained with: [dim]{model.metadata['command']}[/dim]")
    return model_path, model, program


def synthesize(console: Console, metadata: dict[str, Any], n: int, seed: int) -> list[Utterance]:
    """``n`` unseen test-split utterances, featurized as the model's training data."""
    from ..data import spoken_digits as sd
    from ..train.datasets import featurize

    cfg = sd.SpokenDigitsConfig()
    utts = []
    for i in range(n):
        audio, plan = sd.make_utterance("test", i, seed=seed)
        utts.append(Utterance(featurize(audio, metadata), plan, len(audio) / cfg.sample_rate))
    console.print(
        f"synthesized {len(utts)} unseen utterances (test-split voices, seed {seed}; "
        f"{sum(u.x.shape[0] for u in utts)} steps of {cfg.hop_ms:g} ms)"
    )
    return utts


def run_backends(
    bars: Bars, program: Program, utts: list[Utterance], wanted: list[str], rtl_utterances: int
) -> Runs:
    """Run every wanted backend that is available (the rtl one on the first utterances)."""
    from ..backends import get_backend
    from ..runner import run

    runs = Runs(wanted)
    for name in wanted:
        try:
            get_backend(name)
        except (ValueError, ImportError) as exc:
            runs.missing[name] = str(exc)
            continue
        todo = utts[: max(1, rtl_utterances)] if name == "rtl" else utts
        task = bars.add(f"{name} backend", total=len(todo))
        t0 = time.time()
        results = []
        try:
            for u in todo:
                results.append(run(program, u.x, backend=name))
                bars.update(task)
        except Exception as exc:
            runs.missing[name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        runs.results[name] = results
        runs.seconds[name] = time.time() - t0
    return runs


def transcripts(
    console: Console, model: SequenceModel, utts: list[Utterance], base: list[Result]
) -> tuple[list[list[int]], list[list[int]], float]:
    """Decode ``base``'s outputs on the host (float head + greedy CTC); print them and the WER."""
    import torch
    from rich.table import Table

    from ..data import spoken_digits as sd
    from ..train.ctc import edit_distance, greedy_decode, word_error_rate

    refs, hyps = [], []
    table = Table(title="transcripts (decoded on the host: float head + greedy CTC)")
    for col in ("#", "voice", "spoken", "decoded", "errors"):
        table.add_column(col)
    for i, (u, res) in enumerate(zip(utts, base, strict=True)):
        with torch.no_grad():
            scores = model.head(torch.as_tensor(res.outputs, dtype=torch.float32))
        hyp = greedy_decode(scores)
        ref = [int(k) for k in u.plan["labels"]]
        refs.append(ref)
        hyps.append(hyp)
        err = edit_distance(ref, hyp)
        table.add_row(
            str(i),
            u.plan["voice"],
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
    return refs, hyps, wer


def deltas(console: Console, program: Program, base: list[Result]) -> tuple[np.ndarray, float]:
    """Deltas passed on per step and layer; returns them (sum T, L, 2) and columns per step."""
    from rich.table import Table

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
    cols = float(nz.sum(axis=(1, 2)).mean())
    dense_cols = sum(i + h for i, h in sizes)
    console.print(dt)
    console.print(
        f"weight columns fetched per step: {cols:.1f} of {dense_cols} "
        f"({dense_cols / max(cols, 1e-9):.1f}x fewer than a dense GRU)"
    )
    return nz, cols


def equality(console: Console, runs: Runs, base: str) -> bool:
    """The table of backends compared with ``base``; True when all that ran are equal."""
    from rich.table import Table

    bt = Table(title=f"the same Program on every backend (compared with {base})")
    for col in ("backend", "utterances", "time (s)", "outputs and delta counts", "overflow"):
        bt.add_column(col)
    all_equal = True
    for name in runs.wanted:
        if name not in runs.results:
            bt.add_row(name, "-", "-", f"[yellow]not run: {runs.missing[name]}[/yellow]", "-")
            continue
        same = runs.equal(name, base)
        all_equal &= same
        bt.add_row(
            name,
            str(len(runs.results[name])),
            f"{runs.seconds[name]:.2f}",
            "[green]equal[/green]" if same else "[red]DIFFERENT[/red]",
            str(any(r.overflow for r in runs.results[name])),
        )
    console.print(bt)
    return all_equal


def rtl_cycles(console: Console, program: Program, runs: Runs) -> dict[str, Any] | None:
    """Cycles per step and latency measured on the RTL co-simulation (None: it did not run)."""
    from ..data.spoken_digits import SpokenDigitsConfig

    if "rtl" not in runs.results:
        console.print(
            f"[yellow]cycles per step: the rtl backend did not run "
            f"({runs.missing.get('rtl', 'not requested')})[/yellow]"
        )
        return None
    clock = program.hw.clock_mhz
    hop_ms = SpokenDigitsConfig().hop_ms
    cyc = np.concatenate([r.cycles for r in runs.results["rtl"]]).astype(np.float64)
    console.print(
        f"RTL co-simulation ({len(runs.results['rtl'])} utterance(s), {len(cyc)} steps): "
        f"{cyc.mean():.0f} cycles per step on average "
        f"(min {cyc.min():.0f}, max {cyc.max():.0f}) = {cyc.mean() / clock:.2f} µs per "
        f"step at {clock:g} MHz (max {cyc.max() / clock:.2f} µs), "
        f"{hop_ms * 1000 / (cyc.mean() / clock):.0f}x faster than real time "
        f"({hop_ms:g} ms frames)"
    )
    return {
        "mean": float(cyc.mean()),
        "min": int(cyc.min()),
        "max": int(cyc.max()),
        "latency_us_mean": float(cyc.mean() / clock),
        "latency_us_max": float(cyc.max() / clock),
    }


def draw(program: Program, utt: Utterance, transcript: str, path: Path) -> Path:
    """The delta activity of one utterance (:func:`edgedrnn.report.plots.plot_delta_activity`)."""
    from ..data.spoken_digits import SpokenDigitsConfig
    from ..report.plots import delta_raster, plot_delta_activity

    raster = delta_raster(program, utt.x)
    return plot_delta_activity(path, utt.x, raster, transcript, SpokenDigitsConfig().hop_ms)
