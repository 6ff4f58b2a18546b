"""``edgedrnn demo``: compile a small DeltaGRU and run it on every available backend."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import edgedrnn
from edgedrnn.backends import BACKENDS, get_backend


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the bundled demo (compile, run on all backends, compare)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=100)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    console = Console()
    torch.manual_seed(args.seed)
    model = edgedrnn.DeltaGRU(16, [64, 64], 2, theta_x=0.05, theta_h=0.05)
    program = edgedrnn.compile(model, hw=edgedrnn.HardwareConfig(num_pe=8, bus_bits=64))
    console.print(program.summary())
    t = np.arange(args.steps)[:, None]
    x = np.sin(t / 8 + np.arange(16)) + 0.05 * np.random.default_rng(args.seed).normal(
        size=(args.steps, 16)
    )
    table = Table(title=f"{args.steps} steps, Θx = Θh = 0.05")
    for col in ("backend", "time (s)", "Δx passed/step", "Δh passed/step", "overflow", "equal"):
        table.add_column(col)
    reference = None
    for name in BACKENDS:
        try:
            get_backend(name)
        except ValueError:
            table.add_row(name, "-", "-", "-", "-", "not available yet")
            continue
        start = time.perf_counter()
        res = edgedrnn.run(program, x, backend=name)
        elapsed = time.perf_counter() - start
        reference = reference or res
        nz = res.nonzero.sum(axis=1).mean(axis=0)
        table.add_row(
            name,
            f"{elapsed:.2f}",
            f"{nz[0]:.1f} / {program.input_size + sum(program.hidden_sizes[:-1])}",
            f"{nz[1]:.1f} / {sum(program.hidden_sizes)}",
            str(res.overflow),
            "yes" if res.same_as(reference) else "NO",
        )
    console.print(table)
    return 0
