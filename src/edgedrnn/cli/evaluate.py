"""``edgedrnn evaluate``: the accuracy-latency trade-off of a trained model over thresholds Θ."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="sweep thresholds Θ: WER/accuracy, temporal sparsity, weight columns fetched",
        description=(
            "For each Θ (Θx = Θh): the test metric, temporal sparsity per layer for Δx and Δh, "
            "weight columns fetched per step relative to Θ = 0, and the reference backend's "
            "outputs on a few test sequences (compared integer for integer with the fast "
            "PyTorch path used for the whole test set). Writes a table, JSON and a plot."
        ),
    )
    p.add_argument(
        "model",
        nargs="?",
        default=None,
        help="model .pt (default: the pretrained model shipped with edgedrnn)",
    )
    p.add_argument(
        "--thetas",
        default="0,0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5",
        help="comma-separated thresholds (real units); start with 0",
    )
    p.add_argument(
        "--data",
        default=None,
        help="test data: spoken-digits (default for a spoken-digits model), "
        "synthetic-*, or a .npz file",
    )
    p.add_argument("--n-test", type=int, default=300, help="spoken-digits test utterances")
    p.add_argument(
        "--reference",
        type=int,
        default=2,
        help="test sequences also run on the reference backend per Θ (slow)",
    )
    p.add_argument("--out", default="build/evaluate", help="folder for JSON and plot")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console

    from ..pretrained import DIGITS_MODEL
    from ..tradeoff import evaluate, plot, render_table
    from ..train.checkpoint import load_model
    from ..train.datasets import evaluation_data

    torch.set_num_threads(max(1, args.threads))
    console = Console(width=max(Console().width, 130))
    path = Path(args.model) if args.model else DIGITS_MODEL
    model = load_model(path)
    thetas = [float(t) for t in args.thetas.split(",") if t.strip()]
    test = evaluation_data(model.metadata, args.data, args.n_test)
    console.print(
        f"evaluating {path} on {len(test)} test sequences; the full test set runs on the "
        f"fast PyTorch path (quantized DeltaGRU, exact integers), the first {args.reference} "
        "also on the reference backend (pure Python, slow) as an exactness check"
    )
    result = evaluate(model, test, thetas, n_reference=args.reference, progress=not args.quiet)
    result["model"] = str(path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = plot(result, out / "tradeoff.png")
    result["plot"] = str(png)
    (out / "tradeoff.json").write_text(json.dumps(result, indent=1))
    console.print(render_table(result))
    tg = result["target"]
    name = result["metric"].upper()
    if tg["met"]:
        console.print(
            f"target met: Θ = {tg['theta']:g} fetches {tg['columns_reduction']:.1f}x fewer "
            f"weight columns than Θ = 0 with {name} {tg[result['metric']]:.2f} "
            f"(Θ = 0: {tg['baseline']:.2f})"
        )
    else:
        console.print(
            f"target (≥ 5x fewer columns, {name} within {tg.get('slack', 1.0):.3g} of Θ = 0) "
            "not met"
        )
    ok = all(r.get("reference", {}).get("equal", True) for r in result["rows"])
    console.print(
        "reference backend: " + ("equal to the PyTorch path on every Θ" if ok else "MISMATCH")
    )
    console.print(f"wrote {out / 'tradeoff.json'} and {png}")
    return 0 if ok else 1
