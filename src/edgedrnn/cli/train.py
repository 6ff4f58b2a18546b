"""``edgedrnn train``: dense GRU, then DeltaGRU with thresholds and quantization-aware training."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path


def dropout_rate(text: str) -> float:
    """``--dropout``: a probability in [0, 1)."""
    from ._args import non_negative_float

    value = non_negative_float(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    from ._args import (
        column_names,
        data_source,
        fractions,
        non_negative_float,
        non_negative_int,
        npz_file,
        positive_float,
        positive_int,
        seed,
        threshold,
        weight_sparsity,
    )

    p = sub.add_parser(
        "train",
        help="train a DeltaGRU (dense GRU first, then delta thresholds + QAT)",
        description=(
            "Train with the recipe of the EdgeDRNN authors: a dense GRU (torch.nn.GRU), then "
            "a few epochs as a DeltaGRU with Θx/Θh and fake quantization (QAT). Writes "
            "OUT/last.pt (checkpoint every epoch; --resume continues), OUT/log.jsonl (one "
            "JSON record per epoch), OUT/dense.pt (the dense float GRU, the baseline "
            "edgedrnn evaluate reports), OUT/model.pt and OUT/model.edrnn (the compiled "
            "Program), and OUT/test.json (the test split's metrics, also printed)."
        ),
    )
    p.add_argument(
        "--data",
        type=data_source,
        default="spoken-digits",
        help="spoken-digits | japanese-vowels | basic-motions | daphnet-gait (aeon's real "
        "data, the uea extra) | synthetic-ctc | synthetic-classify | synthetic-regress "
        "| a .csv table (with --inputs, --targets, --task) | a .npz file "
        "(edgedrnn.data.from_npz layout, kind stored)",
    )
    table = p.add_argument_group(
        "CSV tables (--data FILE.csv: one row per time step, a header naming the columns)"
    )
    table.add_argument(
        "--inputs", type=column_names, metavar="COL,...", help="input columns, in this order"
    )
    table.add_argument(
        "--targets",
        type=column_names,
        metavar="COL,...",
        help="target columns: numbers per row (regress) or one column of class labels "
        "(classify: a window's class is its rows' most frequent)",
    )
    table.add_argument("--task", choices=["regress", "classify"], help="what the targets are")
    table.add_argument(
        "--split",
        type=fractions,
        default=(0.7, 0.15, 0.15),
        metavar="TRAIN,VAL,TEST",
        help="fractions of the rows in time order (default: 0.7,0.15,0.15)",
    )
    table.add_argument(
        "--window", type=positive_int, default=256, help="rows per sequence (window)"
    )
    table.add_argument(
        "--stride",
        type=positive_int,
        default=None,
        help="rows between the starts of training windows (default: --window, no overlap)",
    )
    p.add_argument(
        "--val",
        type=npz_file,
        help="validation .npz (with --data FILE.npz; default: a 10%% split of it)",
    )
    p.add_argument(
        "--test",
        type=npz_file,
        help="test .npz (with --data FILE.npz), scored after training (the other sources "
        "have their own test split)",
    )
    p.add_argument(
        "--n-train", type=positive_int, default=2000, help="spoken-digits training utterances"
    )
    p.add_argument(
        "--n-val", type=positive_int, default=300, help="spoken-digits validation utterances"
    )
    p.add_argument("--n-test", type=positive_int, default=300, help="spoken-digits test utterances")
    p.add_argument("--out", default="build/train", help="output folder")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden units per layer")
    p.add_argument("--layers", type=positive_int, default=2, help="GRU layers")
    p.add_argument(
        "--dense-epochs", type=non_negative_int, default=20, help="epochs as a dense GRU"
    )
    p.add_argument(
        "--delta-epochs",
        type=non_negative_int,
        default=4,
        help="epochs as a DeltaGRU (thresholds, QAT)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=32, help="batch size of the dense phase"
    )
    p.add_argument(
        "--delta-batch-size",
        type=positive_int,
        default=None,
        help="batch size of the delta/QAT phase (its per-step loop favours large; default: "
        "128, or smaller so an epoch takes at least 16 steps on a small training set)",
    )
    p.add_argument("--lr", type=positive_float, default=3e-3, help="dense-phase learning rate")
    p.add_argument("--delta-lr", type=positive_float, default=5e-4, help="delta/QAT learning rate")
    p.add_argument(
        "--theta-x", type=threshold, default=0.1, help="Θx of the delta phase, in [0, 128)"
    )
    p.add_argument(
        "--theta-h", type=threshold, default=0.1, help="Θh of the delta phase, in [0, 128)"
    )
    p.add_argument(
        "--theta-warmup",
        type=non_negative_int,
        default=0,
        metavar="EPOCHS",
        help="raise Θx/Θh linearly over the first EPOCHS delta epochs (0: from the start)",
    )
    p.add_argument("--no-quantize", action="store_true", help="delta phase in float (no QAT)")
    p.add_argument(
        "--l1-delta",
        type=non_negative_float,
        default=0.0,
        help="weight of the L1 penalty on hidden-state changes (sparsity)",
    )
    p.add_argument(
        "--weight-sparsity",
        type=weight_sparsity,
        default=0.0,
        metavar="γ",
        help="prune the GRU weights column-balanced to this fraction (e.g. 0.875): gradually "
        "in the dense phase, then a hard prune fixed through the delta phase; the Program "
        "gets a sparse weight image (default 0: dense)",
    )
    p.add_argument(
        "--num-pe",
        type=int,
        choices=[4, 8, 16, 32, 64],
        default=8,
        help="PEs of the accelerator the pruning balances for (with --weight-sparsity)",
    )
    p.add_argument(
        "--input-noise",
        type=non_negative_float,
        default=0.0,
        help="std of Gaussian noise added to the normalised inputs while training "
        "(augmentation; both phases)",
    )
    p.add_argument(
        "--dropout",
        type=dropout_rate,
        default=0.0,
        help="dropout on the GRU's outputs before the host-side head while training",
    )
    p.add_argument("--seed", type=seed, default=0, help="seed of initialisation and batch order")
    p.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA if available) | cpu | cuda | cuda:N",
    )
    p.add_argument(
        "--threads", type=positive_int, default=2, help="CPU threads (torch.set_num_threads)"
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--init",
        metavar="MODEL",
        help="start the dense phase from this dense float model (an earlier run's "
        "OUT/dense.pt, same task and shape) instead of a fresh initialisation: fine-tuning "
        "on more data or with another schedule",
    )
    p.add_argument(
        "--export",
        metavar="DIR",
        help="also write the compact shipped form (model.pt + model.edrnn) to DIR",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def canonical_command(args: argparse.Namespace) -> str:
    """The full ``edgedrnn train`` command line (every option spelled out) of ``args``."""
    parts = ["edgedrnn", "train"]
    for key, value in sorted(vars(args).items()):
        if key in ("func", "command") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, (list, tuple)):  # --inputs a,b / --split 0.7,0.15,0.15
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        parts.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(parts)


def csv_spec(args: argparse.Namespace):
    """The :class:`~edgedrnn.data.csv_table.CsvSpec` of ``--data FILE.csv`` (None otherwise),
    its whole table read and checked.

    Raises
    ------
    UsageError
        CSV options without a CSV file, a CSV file without ``--inputs``/``--targets``/
        ``--task``, or a table that does not fit them (see
        :func:`edgedrnn.cli._args.csv_table`).
    """
    from ..data.csv_table import CsvSpec
    from ..data.sequences import DataError
    from ._args import UsageError, csv_table

    given = [
        f"--{k}" for k in ("inputs", "targets", "task", "stride") if getattr(args, k) is not None
    ]
    given += [
        f"--{k}"
        for k, d in (("split", (0.7, 0.15, 0.15)), ("window", 256))
        if getattr(args, k) != d
    ]
    if not args.data.endswith(".csv"):
        if given:
            raise UsageError(f"{given[0]} needs --data FILE.csv (a CSV table)")
        return None
    missing = [f"--{k}" for k in ("inputs", "targets", "task") if getattr(args, k) is None]
    if missing:
        raise UsageError(
            f"--data {args.data} needs {', '.join(missing)}: the input and target columns "
            "and the task (regress or classify)"
        )
    try:
        spec = CsvSpec(
            inputs=args.inputs,
            targets=args.targets,
            task=args.task,
            split=args.split,
            window=args.window,
            stride=args.stride,
        )
    except DataError as exc:
        raise UsageError(str(exc)) from None
    csv_table(args.data, spec)
    return spec


def check(args: argparse.Namespace) -> None:
    """Refuse what would fail only after the data is loaded or the training done.

    Raises
    ------
    UsageError
        ``--val``/``--test`` without ``--data FILE.npz``, nothing to train, a quantized
        network larger than the default accelerator (the final compile would fail), an
        unusable ``--device``, or output folders that cannot be written.
    """
    from ..config import HardwareConfig
    from ..train.datasets import UEA_SOURCES
    from ..train.heads import TASK_OF_KIND
    from ._args import (
        UsageError,
        cache_folder,
        data_task_and_width,
        output_dir,
        torch_device,
    )

    npz = args.data.endswith(".npz")
    for flag in ("val", "test"):
        if getattr(args, flag) and not npz:
            raise UsageError(f"--{flag} needs --data FILE.npz (the training data of that layout)")
    hw = HardwareConfig()
    spec = csv_spec(args)
    if spec is not None and len(spec.inputs) > hw.max_input_size and not args.no_quantize:
        raise UsageError(
            f"--inputs names {len(spec.inputs)} columns, more than the accelerator's "
            f"max_input_size {hw.max_input_size}; use fewer or --no-quantize"
        )
    if args.data in UEA_SOURCES:
        from ..data.uea import data_folder

        data_folder()  # aeon installed, or say how to install it
    if args.dense_epochs == 0 and args.delta_epochs == 0:
        raise UsageError("--dense-epochs 0 and --delta-epochs 0 train nothing; give one above 0")
    if not args.no_quantize:
        if args.hidden > hw.max_hidden_size:
            raise UsageError(
                f"--hidden {args.hidden} does not fit the accelerator "
                f"(max_hidden_size {hw.max_hidden_size}); use --hidden {hw.max_hidden_size} or "
                "less, or --no-quantize (then no Program is compiled)"
            )
        if args.layers > hw.max_layers:
            raise UsageError(
                f"--layers {args.layers} does not fit the accelerator "
                f"(max_layers {hw.max_layers}); use --layers {hw.max_layers} or less, "
                "or --no-quantize (then no Program is compiled)"
            )
    if npz:
        task, width = data_task_and_width(args.data)
        if task is None:
            raise UsageError(
                f"{args.data} stores no trainable 'kind' (one of {', '.join(TASK_OF_KIND)}); "
                "save it with edgedrnn.data.SequenceDataset.save_npz"
            )
        if width is not None and width > hw.max_input_size and not args.no_quantize:
            raise UsageError(
                f"{args.data} has {width} features per step, more than the accelerator's "
                f"max_input_size {hw.max_input_size}; reduce them or use --no-quantize"
            )
    torch_device(args.device)
    output_dir(args.out)
    if args.export:
        output_dir(args.export, "--export")
    if args.data == "spoken-digits":
        cache_folder(None, "data cache folder ($EDGEDRNN_DATA)")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..tradeoff import split_metrics
    from ..train.checkpoint import load_model, save_model
    from ..train.datasets import fold_target_normalization, load_task_data
    from ..train.recipe import DENSE_FILE, TrainConfig, auto_delta_batch_size, train

    console = Console()
    check(args)
    if args.resume and not (Path(args.out) / "last.pt").exists():
        console.print(f"--resume: no {Path(args.out) / 'last.pt'} yet; starting from scratch")
    command = canonical_command(args)
    data = load_task_data(
        args.data,
        csv=csv_spec(args),
        n_train=args.n_train,
        n_val=args.n_val,
        n_test=args.n_test,
        seed=args.seed,
        val=args.val,
        test=args.test,
        progress=not args.quiet,
    )
    cfg = TrainConfig(
        task=data.task,
        num_outputs=data.num_outputs,
        hidden_size=args.hidden,
        num_layers=args.layers,
        dense_epochs=args.dense_epochs,
        delta_epochs=args.delta_epochs,
        batch_size=args.batch_size,
        delta_batch_size=args.delta_batch_size or auto_delta_batch_size(len(data.train)),
        lr=args.lr,
        delta_lr=args.delta_lr,
        theta_x=args.theta_x,
        theta_h=args.theta_h,
        theta_warmup=args.theta_warmup,
        quantize=not args.no_quantize,
        l1_delta=args.l1_delta,
        input_noise=args.input_noise,
        dropout=args.dropout,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        weight_sparsity=args.weight_sparsity,
        num_pe=args.num_pe,
        init=args.init or "",
    )
    init = initial_model(console, args, data.metadata)
    meta = dict(data.metadata)
    meta["command"] = command
    console.print(
        f"training on {args.data}: {len(data.train)} train / {len(data.val)} val sequences, "
        f"task {data.task}, {cfg.num_layers}L-{cfg.hidden_size}H, "
        f"Θx={cfg.theta_x} Θh={cfg.theta_h}, QAT={'on' if cfg.quantize else 'off'}, "
        f"batch {cfg.batch_size} / {cfg.delta_batch_size} (dense / delta)"
    )
    if "target_normalization" in meta:
        console.print(
            "targets normalised with the training rows' mean and std (validation RMSE below "
            "in those units); the saved model's head predicts in the targets' own units"
        )
    model = train(
        cfg,
        data.train,
        data.val,
        args.out,
        meta,
        resume=args.resume,
        progress=not args.quiet,
        init=init,
    )
    out = Path(args.out)
    dense_path = out / DENSE_FILE
    dense = load_model(dense_path) if dense_path.is_file() else None
    if data.test:  # scored before folding: the metrics undo the stored target statistics
        test = split_metrics(model, data.test, dense)
        model.metadata["test"] = test
        (out / "test.json").write_text(json.dumps(test, indent=1))
        report_test(console, model, test)
    else:
        console.print(
            f"test: {args.data} has no test split here; give --test FILE.npz for test metrics"
        )
    from ..compiler import compile as compile_program
    from ..train.recipe import hardware

    quantized = model.is_delta and model.rnn.quantized
    program = compile_program(model.rnn, hardware(cfg)) if quantized else None
    fold_target_normalization(model)  # the saved head predicts in the targets' units
    save_model(model, out / "model.pt", program)
    if dense is not None and fold_target_normalization(dense):
        save_model(dense, dense_path)
    saved = f"model: {out / 'model.pt'}"
    if dense is not None:
        saved += f" (dense float GRU: {dense_path})"
    console.print(f"{saved}; log: {out / 'log.jsonl'}")
    if args.export:
        path = save_model(model, Path(args.export) / "model.pt", program)
        console.print(f"exported to {path} (+ {path.with_suffix('.edrnn').name})")
    return 0


def initial_model(console, args: argparse.Namespace, metadata: dict):
    """The ``--init`` model (None without it), with a note when its input statistics differ
    from this run's (the features are normalised with this run's training split)."""
    if not args.init:
        return None
    from ..train.checkpoint import load_model
    from ._args import UsageError

    try:
        init = load_model(args.init)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--init: {exc}") from None
    if init.is_delta:
        raise UsageError(
            f"--init {args.init} is a DeltaGRU; give a dense float model (OUT/dense.pt of an "
            "earlier run), or continue that run with --resume"
        )
    theirs, mine = init.metadata.get("normalization"), metadata.get("normalization")
    if theirs and mine:
        import numpy as np

        shift = np.abs(np.asarray(theirs["mean"]) - np.asarray(mine["mean"]))
        shift = float(np.max(shift / np.asarray(mine["std"])))
        if shift > 0.01:
            console.print(
                f"--init: the model's input statistics differ from this run's by up to "
                f"{shift:.3f} std; the inputs are normalised with this run's"
            )
    return init


def report_test(console, model, test: dict) -> None:
    """One line per model: the test split's metrics (regression: in the targets' units)."""
    from ..train.heads import metric_name

    name = metric_name(model.task)
    shown = "accuracy" if name == "error" else name

    def words(row: dict) -> str:
        text = f"{shown.upper()} {row[shown]:.4g}{' %' if name != 'rmse' else ''}"
        if name == "rmse":
            text += f", MAE {row['mae']:.4g}"
            if len(row["per_target"]) > 1:
                text += (
                    " ("
                    + ", ".join(
                        f"{t['name']} {t['rmse']:.4g}/{t['mae']:.4g}" for t in row["per_target"]
                    )
                    + ")"
                )
        return text

    row = test["model"]
    kind = "DeltaGRU" if model.is_delta else "GRU"
    if model.is_delta:
        kind += f" at Θx={row['theta_x'][0]:g} Θh={row['theta_h'][0]:g}"
        kind += ", quantized" if row["quantized"] else ", float"
    console.print(f"test ({test['sequences']} sequences): {kind}: {words(row)}")
    if model.is_delta:
        console.print(
            f"  weight columns fetched per step: {row['columns_per_step']:.1f} "
            f"({row['occupancy']:.1%} of a dense GRU's)"
        )
    if "dense" in test:
        console.print(f"  dense float GRU (dense phase): {words(test['dense'])}")
    if name == "rmse":
        console.print("  RMSE/MAE in the targets' own units")
