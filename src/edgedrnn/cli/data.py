"""``edgedrnn data``: generate (or reuse) the cached spoken-digits data set and summarise it.

Examples::

    edgedrnn data                         # train 2000, val 300, test 300, seed 0
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
    from ._args import positive_int, seed

    p = subparsers.add_parser(
        "data",
        help="generate/cache the spoken-digits data set and print a summary",
        description=(
            "Synthesize connected spoken digits with espeak-ng (cached on disk, deterministic "
            "from --seed) and print a summary of each split. See docs/data.md."
        ),
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
    p.add_argument("--seed", type=seed, default=0, help="seed of the data set")
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


def run(args: argparse.Namespace) -> int:
    """Generate the requested split(s) and print a summary table."""
    from rich.console import Console
    from rich.table import Table

    from ..data import spoken_digits as sd
    from ._args import UsageError, cache_folder

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
