"""The ``edgedrnn`` command.

Each subcommand lives in its own module in this package and defines
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the
parsed arguments, returning an exit code). Modules are discovered automatically. A
command that needs an optional extra which is not installed ends with a message naming the
extra (:class:`edgedrnn.support.extras.MissingExtraError`) and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand found in this package."""
    from ..config import VERSION as __version__

    parser = argparse.ArgumentParser(
        prog="edgedrnn",
        description="EdgeDRNN toolkit: delta-network GRUs from PyTorch to FPGA and CPU.",
    )
    parser.add_argument("--version", action="version", version=f"edgedrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``edgedrnn`` command with ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    from ..support.extras import MissingExtraError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except MissingExtraError as exc:
        print(f"edgedrnn {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
