"""``edgedrnn data``: summarise a named data set; spoken digits are generated and cached first.

Examples::

    edgedrnn data japanese-vowels         # aeon's real data (the uea extra): splits, classes
    edgedrnn data daphnet-gait
    edgedrnn data                         # spoken digits: train 2000, val 300, test 300
    edgedrnn data --split train --n 2000 --seed 0
    edgedrnn data --split test --n 50 --verify
    edgedrnn data --voices                # print the voice split and exit
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``data`` subcommand."""
    from ..train.datasets import UEA_SOURCES
    from ._args import positive_int, seed

    p = subparsers.add_parser(
        "data",
        help="summarise a data set (spoken digits: generate and cache it first)",
        description=(
            "Print a summary of each split of a data set. spoken-digits: synthesize "
            "connected spoken digits with espeak-ng (cached on disk, deterministic from "
            "--seed). japanese-vowels, basic-motions, daphnet-gait: real recordings that ship "
            "with aeon (pip install 'edgedrnn[uea]'), read offline. See docs/data.md."
        ),
    )
    p.add_argument(
        "name",
        nargs="?",
        default="spoken-digits",
        choices=["spoken-digits", *UEA_SOURCES],
        help="the data set",
    )
    p.add_argument(
        "--split",
        choices=["train", "val", "test", "all"],
        default="all",
        help="which split to make (all: the three)",
    )
    p.add_argument(
        "--n",
        type=positive_int,
        default=None,
        help="utterances of --split, which must then be train, val or test (default 2000/300/300)",
    )
    p.add_argument(
        "--n-train",
        type=positive_int,
        default=None,
        help=(
            "training utterances whose statistics normalise the features "
            "(default: --n with --split train, else 2000)"
        ),
    )
    p.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seed of the data set (aeon's sets: of the validation split carved from train)",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="cache root, a writable folder "
        "(default $EDGEDRNN_DATA or ~/.cache/edgedrnn/spoken_digits)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="generation processes (default: up to 2)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verify", action="store_true", help="check every WAV's SHA-256")
    p.add_argument("--voices", action="store_true", help="print the voice split and exit")
    p.set_defaults(func=run)


def _summary(ds: Any) -> dict[str, Any]:
    import numpy as np

    secs = np.array([m["n_samples"] for m in ds.metadata]) / ds.sample_rate
    frames = ds.lengths
    noise = Counter(
        "clean" if m["noise"] is None else f"{m['noise']} {m['snr_db']:g} dB" for m in ds.metadata
    )
    return {
        "utterances": str(len(ds)),
        "audio": f"{secs.sum() / 60:.1f} min",
        "frames (min/mean/max)": f"{frames.min()} / {frames.mean():.0f} / {frames.max()}",
        "digits per utterance (mean)": f"{np.mean([len(x) for x in ds.labels]):.2f}",
        "voices (base+variant)": str(len(set(ds.voices))),
        "variants": str(len({m["variant"] for m in ds.metadata})),
        "noise": ", ".join(f"{k}: {v}" for k, v in sorted(noise.items())),
        "example": f"{ds.transcripts[0]!r} ({ds.voices[0]})",
    }


#: Options that only spoken digits take, with their defaults.
SPOKEN_DIGITS_ONLY = {
    "split": "all",
    "n": None,
    "n_train": None,
    "cache_dir": None,
    "workers": None,
    "no_progress": False,
    "verify": False,
    "voices": False,
}


def _frames(samples: list[Any]) -> str:
    import numpy as np

    lengths = np.array([len(x) for x, _ in samples])
    return f"{lengths.min()} / {lengths.mean():.1f} / {lengths.max()}"


def _classes(samples: list[Any], classes: list[str]) -> str:
    counts = Counter(int(y) for _, y in samples)
    return ", ".join(f"{classes[k]}: {counts[k]}" for k in range(len(classes)))


def run_uea(args: argparse.Namespace) -> int:
    """Summarise one of aeon's data sets (:mod:`edgedrnn.data.uea`)."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ..data import uea
    from ..train.datasets import UEA_VAL_FRACTION
    from ._args import UsageError

    for key, default in SPOKEN_DIGITS_ONLY.items():
        if getattr(args, key) != default:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} is for spoken-digits only, not {args.name}")
    console = Console()
    folder = uea.data_folder()
    if args.name == "daphnet-gait":
        d = uea.gait(normalize_targets=False)
        spec = d.spec
        table = Table(title=f"{args.name} (aeon: {uea.DAPHNET_FILE})")
        table.add_column("")
        for split in ("train", "val", "test"):
            table.add_column(split)
        parts = (d.train, d.val, d.test)
        table.add_row("rows (time order)", *(str(r) for r in d.rows))
        table.add_row("windows", *(str(len(p)) for p in parts))
        table.add_row("frames (min/mean/max)", *(_frames(p) for p in parts))
        for k, name in enumerate(spec.targets):
            table.add_row(
                f"{name} mean ± std",
                *(
                    f"{np.concatenate([y[:, k] for _, y in p]).mean():.0f} ± "
                    f"{np.concatenate([y[:, k] for _, y in p]).std():.0f}"
                    for p in parts
                ),
            )
        console.print(table)
        smooth = spec.target_lowpass or 0.0
        console.print(
            f"per-frame regression at 64 Hz: {len(spec.inputs)} inputs "
            f"({', '.join(spec.inputs)}) -> {len(spec.targets)} targets "
            f"({', '.join(spec.targets)}"
            + (f", causal low-pass at {smooth * uea.DAPHNET_RATE:g} Hz" if smooth else "")
            + f"); windows of {spec.window} frames, training "
            f"windows every {spec.train_stride}; inputs and targets normalised with the "
            "training rows' statistics"
        )
    else:
        d = uea.load(args.name, UEA_VAL_FRACTION, args.seed)
        table = Table(title=f"{args.name} (UEA {uea.CLASSIFICATION[args.name][0]}, via aeon)")
        table.add_column("")
        for split in ("train", "val", "test"):
            table.add_column(split)
        parts = (d.train, d.val, d.test)
        table.add_row("series", *(str(len(p)) for p in parts))
        table.add_row("frames (min/mean/max)", *(_frames(p) for p in parts))
        table.add_row("per class", *(_classes(p, d.classes) for p in parts))
        console.print(table)
        console.print(
            f"{d.input_size} features per frame, {len(d.classes)} classes; the archive's "
            f"train/test split, validation: {UEA_VAL_FRACTION:.0%} of each class's training "
            f"series (seed {args.seed}); features normalised with the training series' "
            "statistics"
        )
    console.print(f"files: {folder}", soft_wrap=True)
    return 0


def run(args: argparse.Namespace) -> int:
    """Generate the requested split(s) and print a summary table."""
    from rich.console import Console
    from rich.table import Table

    from ..data import spoken_digits as sd
    from ._args import UsageError, cache_folder

    if args.name != "spoken-digits":
        return run_uea(args)
    console = Console()
    if args.voices:
        split = sd.voice_split()
        console.print(
            f"espeak-ng {sd.espeak_version()}; base voices: {', '.join(sd.base_voices())}"
        )
        for name, variants in sd.variant_split().items():
            shown = ", ".join(v or "(none)" for v in variants)
            console.print(f"[bold]{name}[/]: {len(split[name])} voices, variants: {shown}")
        return 0
    splits = list(sd.SPLITS) if args.split == "all" else [args.split]
    if args.n is not None and args.split == "all":
        raise UsageError(f"--n {args.n} needs one split: add --split train, val or test")
    cache_folder(args.cache_dir)
    n_train = args.n_train
    if n_train is None and args.split == "train" and args.n is not None:
        n_train = args.n
    t0 = time.perf_counter()
    loaded = {}
    for split in splits:
        loaded[split] = sd.load(
            split,
            args.n,
            seed=args.seed,
            n_train=n_train,
            cache_dir=args.cache_dir,
            workers=args.workers,
            progress=not args.no_progress,
        )
    elapsed = time.perf_counter() - t0
    first = next(iter(loaded.values()))
    table = Table(title=f"spoken digits, seed {args.seed}")
    table.add_column("")
    for split in loaded:
        table.add_column(split)
    rows = {split: _summary(ds) for split, ds in loaded.items()}
    for key in next(iter(rows.values())):
        table.add_row(key, *(rows[s][key] for s in loaded))
    console.print(table)
    console.print(f"cache: {first.folder}", soft_wrap=True)  # a path, never cut or wrapped
    console.print(
        f"features: {first.config.n_mels} log-mel, {first.config.win_ms:g} ms windows, "
        f"{first.config.hop_ms:g} ms hop, normalised with the statistics of "
        f"{first.n_train} training utterances; {elapsed:.1f} s"
    )
    status = 0
    if args.verify:
        for split, ds in loaded.items():
            bad = ds.verify()
            if bad:
                console.print(f"[red]{split}: {len(bad)} WAV files fail their checksum[/]")
                status = 1
            else:
                console.print(f"{split}: all {len(ds)} WAV checksums match")
    return status
