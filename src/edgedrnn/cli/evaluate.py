"""``edgedrnn evaluate``: the accuracy-latency trade-off of a trained model over thresholds Θ."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import data_source, non_negative_int, positive_int, thresholds

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
        help="model .pt written by edgedrnn train (default: the pretrained model shipped "
        "with edgedrnn)",
    )
    p.add_argument(
        "--thetas",
        type=thresholds,
        default="0,0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5",
        help="comma-separated thresholds in [0, 128) (real units); start with 0, the "
        "baseline of the column reduction",
    )
    p.add_argument(
        "--data",
        type=data_source,
        default=None,
        help="test data of the model's task: spoken-digits, japanese-vowels, basic-motions, "
        "daphnet-gait, synthetic-ctc, synthetic-classify, synthetic-regress, a .csv table "
        "(cut with the model's columns, split and windows: its test part) or a .npz file "
        "(default: the model's training data)",
    )
    p.add_argument("--n-test", type=positive_int, default=300, help="spoken-digits test utterances")
    p.add_argument(
        "--reference",
        type=non_negative_int,
        default=2,
        help="test sequences also run on the reference backend per Θ (slow)",
    )
    p.add_argument("--out", default="build/evaluate", help="folder for JSON and plot")
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console

    from ..pretrained import DIGITS_MODEL
    from ..tradeoff import evaluate, plot, render_table
    from ..train.datasets import evaluation_data
    from ._args import (
        UsageError,
        cache_folder,
        check_data_for_model,
        data_source,
        model_file,
        output_dir,
    )

    torch.set_num_threads(args.threads)
    console = Console(width=max(Console().width, 130))
    path, model = model_file(args.model or DIGITS_MODEL)
    if not model.is_delta:
        raise UsageError(
            f"{path} is a dense GRU; evaluate needs a DeltaGRU (train with delta epochs)"
        )
    source = args.data or model.metadata.get("data", {}).get("source", "spoken-digits")
    if source == "npz":
        raise UsageError(f"{path} was trained on a .npz file: give its test data, --data FILE.npz")
    try:
        data_source(source)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{path}: its training data {exc}; give --data") from None
    check_data_for_model(model, source)
    out = output_dir(args.out)
    if source == "spoken-digits":
        cache_folder(None, "data cache folder ($EDGEDRNN_DATA)")
    thetas = args.thetas
    test = evaluation_data(model.metadata, source, args.n_test)
    if not test:
        raise UsageError(f"{source} has no test sequences")
    console.print(
        f"evaluating {path} on {len(test)} test sequences; the full test set runs on the "
        f"fast PyTorch path (quantized DeltaGRU, exact integers), the first {args.reference} "
        "also on the reference backend (pure Python, slow) as an exactness check"
    )
    result = evaluate(model, test, thetas, n_reference=args.reference, progress=not args.quiet)
    result["model"] = str(path)
    png = plot(result, out / "tradeoff.png")
    result["plot"] = str(png)
    (out / "tradeoff.json").write_text(json.dumps(result, indent=1))
    console.print(render_table(result))
    tg = result["target"]
    name = result["metric"].upper()
    if tg["met"]:
        console.print(
            f"target met ({tg['rule']}): Θ = {tg['theta']:g} fetches "
            f"{tg['columns_reduction']:.1f}x fewer weight columns than Θ = 0 with {name} "
            f"{tg[result['metric']]:.4g} (Θ = 0: {tg['baseline']:.4g})"
        )
    elif "rule" in tg:
        console.print(f"target ({tg['rule']}) not met")
    else:
        console.print(f"target not checked: {tg['why']}")
    checked = [r["reference"] for r in result["rows"] if "reference" in r]
    ok = all(c.get("equal", True) for c in checked)
    if not checked:
        console.print("reference backend: not checked (--reference 0)")
    else:
        console.print(
            "reference backend: "
            + (f"equal to the PyTorch path on all {len(checked)} Θ checked" if ok else "MISMATCH")
        )
    console.print(f"wrote {out / 'tradeoff.json'} and {png}")
    return 0 if ok else 1
