"""``edgedrnn evaluate``: the accuracy-latency trade-off of a trained model over thresholds Θ."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

#: Test sequences the rtl backend runs unless ``--max-sequences`` says otherwise: it
#: co-simulates the accelerator cycle by cycle.
RTL_SEQUENCES = 4


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import data_source, non_negative_int, positive_int, thresholds

    p = sub.add_parser(
        "evaluate",
        help="sweep thresholds Θ: WER/accuracy/RMSE, occupancy, weight columns fetched",
        description=(
            "For each Θ (Θx = Θh): the task metric (WER; accuracy; RMSE and MAE per target in "
            "the targets' own units), occupancy per layer of Δx and Δh, weight columns "
            "fetched per step relative to Θ = 0, and, as the baseline, the dense float GRU "
            "(dense.pt beside the model) and the model's own weights as a float GRU. The "
            "numbers come from --backend; the first --reference test sequences also run on "
            "the reference backend and are compared integer for integer. Writes a table, "
            "JSON and a plot."
        ),
    )
    p.add_argument(
        "model",
        nargs="*",
        default=None,
        help="model .pt written by edgedrnn train (default: the pretrained model shipped "
        "with edgedrnn); a dense model (dense.pt) gives its float metric only. Several "
        "DeltaGRU models of one task (e.g. trained with different --weight-sparsity γ): each "
        "is evaluated into OUT/K-NAME/, and OUT/grid.json, grid.png and a table compare "
        "them over (γ, Θ) by DRAM weight bytes per step",
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
        "(default: the model's training data; a .npz model's --test file)",
    )
    p.add_argument("--n-test", type=positive_int, default=300, help="spoken-digits test utterances")
    p.add_argument(
        "--backend",
        choices=["torch", "reference", "cpu", "rtl"],
        default="torch",
        help="what computes the numbers: torch = the quantized DeltaGRU in PyTorch, batched "
        "(exact integers, fast); reference, cpu, rtl = the compiled Program on that backend, "
        f"one sequence at a time (rtl: the first {RTL_SEQUENCES} unless --max-sequences)",
    )
    p.add_argument(
        "--max-sequences",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"evaluate the first N test sequences only (default: all; rtl: {RTL_SEQUENCES})",
    )
    p.add_argument(
        "--reference",
        type=non_negative_int,
        default=2,
        help="test sequences also run on the reference backend per Θ and compared integer "
        "for integer (with --backend reference: with the PyTorch path); 0: none",
    )
    p.add_argument(
        "--dense",
        metavar="FILE",
        default=None,
        help="the dense float GRU to report as the baseline (default: dense.pt beside the "
        "model, when there)",
    )
    p.add_argument("--out", default="build/evaluate", help="folder for JSON and plot")
    p.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="where to write the JSON (default: OUT/tradeoff.json)",
    )
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def evaluation_source(path: Path, model: Any, given: str | None) -> str:
    """The data to evaluate ``model`` on: ``given``, else its training source (a ``.npz``
    model: the ``--test`` file it was trained with).

    Raises
    ------
    UsageError
        No usable source, or one of another task or width.
    """
    from ._args import UsageError, check_data_for_model, data_source

    stored = model.metadata.get("data", {})
    source = given or stored.get("source", "spoken-digits")
    if source == "npz":
        source = stored.get("test")
        if not source or not Path(source).is_file():
            raise UsageError(
                f"{path} was trained on a .npz file: give its test data, --data FILE.npz"
            )
    try:
        data_source(source)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{path}: its training data {exc}; give --data") from None
    check_data_for_model(model, source)
    return source


def dense_model(args: argparse.Namespace, path: Path, model: Any) -> tuple[Path, Any] | None:
    """The dense float GRU named by ``--dense`` or saved beside the model, if any.

    Raises
    ------
    UsageError
        ``--dense`` names a missing file, a DeltaGRU, or a model of another task or size.
    """
    from ..train.recipe import DENSE_FILE
    from ._args import UsageError, model_file

    if args.dense is None:
        beside = path.parent / DENSE_FILE
        if not beside.is_file() or beside.resolve() == path.resolve():
            return None
        args_dense = beside
    else:
        args_dense = Path(args.dense)
    dpath, dense = model_file(args_dense)
    if dense.is_delta:
        raise UsageError(f"--dense {dpath} is a DeltaGRU; give the dense model (dense.pt)")
    if dense.task != model.task or dense.rnn.input_size != model.rnn.input_size:
        raise UsageError(
            f"--dense {dpath} is a {dense.task} model with {dense.rnn.input_size} inputs, "
            f"the model a {model.task} model with {model.rnn.input_size}"
        )
    return dpath, dense


def main(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console

    from ..pretrained import DIGITS_MODEL
    from ._args import model_file

    torch.set_num_threads(args.threads)
    console = Console(width=max(Console().width, 150))
    names = list(args.model or []) or [DIGITS_MODEL]
    if len(names) == 1:
        path, model = model_file(names[0])
        return evaluate_model(args, console, path, model)[0]
    return evaluate_grid(args, console, [model_file(n) for n in names])


def evaluate_grid(args: argparse.Namespace, console: Any, models: list) -> int:
    """Several DeltaGRU models of one task, each into ``OUT/K-NAME/``; then the (γ, Θ) grid:
    ``OUT/grid.json`` (or ``--json``), ``OUT/grid.png`` and a table.

    Raises
    ------
    UsageError
        A dense model, ``--dense`` (each model's own ``dense.pt`` is its baseline), or models
        of different tasks.
    """
    from ..tradeoff import grid_result, plot_grid, render_grid
    from ._args import UsageError, output_dir

    if args.dense is not None:
        raise UsageError("--dense names one baseline; with several models each uses its own")
    for path, model in models:
        if not model.is_delta:
            raise UsageError(f"{path} is a dense float GRU; the grid compares DeltaGRU models")
    tasks = {model.task for _, model in models}
    if len(tasks) > 1:
        raise UsageError(f"the models are of different tasks ({', '.join(sorted(tasks))})")
    out = output_dir(args.out)
    json_path = Path(args.json) if args.json else out / "grid.json"
    output_dir(json_path.parent, "--json")
    results, code = [], 0
    for k, (path, model) in enumerate(models):
        sub = argparse.Namespace(**{**vars(args), "out": str(out / f"{k}-{path.stem}")})
        sub.json = None
        console.rule(f"model {k + 1} of {len(models)}: {path}")
        rc, result = evaluate_model(sub, console, path, model)
        code = max(code, rc)
        results.append(result)
    grid = grid_result(results)
    grid["plot"] = str(plot_grid(grid, out / "grid.png"))
    json_path.write_text(json.dumps(grid, indent=1))
    console.rule("weight sparsity γ and threshold Θ")
    console.print(render_grid(grid))
    console.print(f"wrote {json_path} and {grid['plot']}")
    return code


def evaluate_model(
    args: argparse.Namespace, console: Any, path: Path, model: Any
) -> tuple[int, dict[str, Any]]:
    """One model's sweep: table, JSON, plot and verdicts; (exit code, result)."""
    from ..tradeoff import baseline, evaluate, plot, render_table
    from ..train.datasets import evaluation_data
    from ..train.heads import metric_name
    from ._args import UsageError, cache_folder, output_dir

    source = evaluation_source(path, model, args.data)
    dense = dense_model(args, path, model) if model.is_delta else None
    out = output_dir(args.out)
    json_path = Path(args.json) if args.json else out / "tradeoff.json"
    output_dir(json_path.parent, "--json")
    if source == "spoken-digits":
        cache_folder(None, "data cache folder ($EDGEDRNN_DATA)")
    limit = args.max_sequences
    if args.backend == "rtl" and limit is None:
        limit = RTL_SEQUENCES
    test = evaluation_data(model.metadata, source, args.n_test)
    if not test:
        raise UsageError(f"{source} has no test sequences")
    if not model.is_delta:  # a dense float GRU: no thresholds to sweep
        row = baseline(model, test[:limit], "dense")
        result = {
            "model": str(path),
            "task": model.task,
            "metric": metric_name(model.task),
            "baseline": row,
            "rows": [],
        }
        json_path.write_text(json.dumps(result, indent=1))
        name = {"ctc": "wer", "classify": "accuracy", "regress": "rmse"}[model.task]
        console.print(
            f"{path} is a dense float GRU (no thresholds, not quantized): {name.upper()} "
            f"{row[name]:.4g} on {len(test[:limit])} test sequences; wrote {json_path}"
        )
        return 0, result
    n = len(test) if limit is None else min(limit, len(test))
    if args.backend == "torch":
        how = "the fast PyTorch path (quantized DeltaGRU, exact integers)"
    else:
        how = f"the {args.backend} backend (the compiled Program, one sequence at a time)"
    other = "the PyTorch path" if args.backend == "reference" else "the reference backend"
    console.print(
        f"evaluating {path} on {n} of {len(test)} test sequences with {how}; the first "
        f"{min(args.reference, n)} also on {other}, compared integer for integer"
    )
    if args.backend == "rtl" and args.max_sequences is None and len(test) > n:
        console.print(
            f"rtl: the first {n} of {len(test)} test sequences only (the RTL is co-simulated "
            "cycle by cycle); --max-sequences N for more, --backend cpu or torch for all"
        )
    result = evaluate(
        model,
        test,
        args.thetas,
        n_reference=args.reference,
        progress=not args.quiet,
        backend=args.backend,
        dense=dense[1] if dense else None,
        max_sequences=limit,
    )
    result["model"] = str(path)
    result["dense_model"] = str(dense[0]) if dense else None
    png = plot(result, out / "tradeoff.png")
    result["plot"] = str(png)
    json_path.write_text(json.dumps(result, indent=1))
    console.print(render_table(result))
    report(console, result)
    checked = [r["reference"] for r in result["rows"] if "reference" in r]
    ok = all(c["equal"] for c in checked)
    if not checked:
        console.print("exactness: not checked (--reference 0)")
    else:
        against = "PyTorch path" if checked[0]["against"] == "torch" else "reference backend"
        what = f"{args.backend} backend" if args.backend != "torch" else "PyTorch path"
        console.print(
            f"exactness: the {what} "
            + (
                f"equal to the {against} on all {len(checked)} Θ checked "
                f"({checked[0]['sequences']} sequence(s) each)"
                if ok
                else f"MISMATCH with the {against}"
            )
        )
    if not dense:
        console.print(
            "baseline: no dense.pt beside the model (trained before edgedrnn saved it, or "
            "with --dense-epochs 0): the float baseline is the model's own weights"
        )
    console.print(f"wrote {json_path} and {png}")
    return (0 if ok else 1), result


def report(console: Any, result: dict[str, Any]) -> None:
    """The target's verdict and the float baseline, in words for the task's metric."""
    name = result["metric"]
    base = result["baseline"]
    shown = "accuracy" if name == "error" else name
    unit = " %" if name in ("wer", "error") else ""
    words = f"{base['name']}: {shown.upper()} {base[shown]:.4g}{unit}"
    if name == "rmse":
        words += f", MAE {base['mae']:.4g} (in the {result['units']})"
    console.print(f"baseline, {words}")
    tg = result["target"]
    if tg["met"]:
        row = next(r for r in result["rows"] if r["theta"] == tg["theta"])
        console.print(
            f"target met ({tg['rule']}): Θ = {tg['theta']:g} fetches "
            f"{tg['columns_reduction']:.1f}x fewer weight columns than Θ = 0 with "
            f"{shown.upper()} {row[shown]:.4g}{unit} (Θ = 0: "
            f"{result['rows'][0][shown]:.4g}{unit})"
        )
    elif "rule" in tg:
        console.print(f"target ({tg['rule']}) not met")
    else:
        console.print(f"target not checked: {tg['why']}")
    ft = result.get("float_target")
    if ft and ft["met"]:
        console.print(
            f"target met ({ft['rule']}): Θ = {ft['theta']:g} fetches "
            f"{ft['columns_reduction']:.1f}x fewer weight columns with RMSE {ft['rmse']:.4g} "
            f"(float: {ft['baseline']:.4g})"
        )
    elif ft:
        console.print(f"target ({ft['rule']}) not met")
