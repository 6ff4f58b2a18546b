"""The ``edgedrnn`` command.

Each subcommand lives in its own module in this package and defines
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the
parsed arguments, returning an exit code). Modules are discovered automatically; shared
argument types and checks are in :mod:`edgedrnn.cli._args`.

No command ends with a traceback. Bad arguments, files and data end with one line
``edgedrnn CMD: error: ...`` that says the fix, and exit code 2, found before any long work
starts (argument types and checks in :mod:`edgedrnn.cli._args`); a missing optional extra
or external program says how to install it
(:class:`~edgedrnn.support.extras.MissingExtraError`,
:class:`~edgedrnn.support.tools.ToolMissingError`), exit code 1; anything
else is reported as an internal error, exit code 1. ``--debug`` (or ``EDGEDRNN_DEBUG=1``)
shows the traceback instead, for bug reports.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand found in this package."""
    from ..config import VERSION as __version__
    from ._args import Parser

    parser = Parser(
        prog="edgedrnn",
        description="EdgeDRNN toolkit: delta-network GRUs from PyTorch to FPGA and CPU.",
    )
    parser.add_argument("--version", action="version", version=f"edgedrnn {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also: environment variable EDGEDRNN_DEBUG=1)",
    )
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
    from ..support.tools import ToolMissingError
    from ._args import UsageError

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # named by the subcommand's parser, which then points to its --help
            sub = _subparsers(parser).get(getattr(args, "command", None) or "", parser)
            sub.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a one-line argument error
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("EDGEDRNN_DEBUG", "") not in ("", "0")
    name = f"edgedrnn {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (MissingExtraError, ToolMissingError) as exc:
        if debug:
            raise
        print(f"{name}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (UsageError, ValueError, OSError) as exc:
        if debug:
            raise
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if debug:
            raise
        print(
            f"{name}: internal error: {type(exc).__name__}: {_one_line(exc)}\n"
            "  this is a bug: rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return 1


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line (OSError: its strerror and file name)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
