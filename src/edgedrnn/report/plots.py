"""Plots: the report's (latency and throughput against the hidden size at the paper's
occupancy, 2L-768H against occupancy: GOp/s, DRAM traffic reduction, time per step for each
weight sparsity) and the demo's delta
activity of one utterance (which neurons fired when)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..support.extras import require
from .rows import CONFIGS, PAPER

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

__all__ = ["delta_raster", "plot_delta_activity", "plot_report"]


def plot_report(
    rows: list[dict[str, Any]],
    occ_paper: str,
    out: Path,
    sparsity: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Draw the report's plots into ``out``; returns their file names.

    Parameters
    ----------
    rows : list of dict
        :func:`edgedrnn.report.rows.model_rows`' output.
    occ_paper : str
        The occupancy label of the paper's operating point.
    out : Path
        The output directory.
    sparsity : list of dict, optional
        :func:`edgedrnn.report.rows.sparsity_rows`' output: adds ``weight_sparsity.png``
        (time per step against occupancy for each γ).

    Raises
    ------
    edgedrnn.support.extras.MissingExtraError
        matplotlib (the ``plot`` extra) is not installed.
    """
    matplotlib = require("matplotlib", "drawing the report's plots")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "drawing the report's plots")

    _latency_throughput(plt, rows, occ_paper, out / "latency_throughput.png")
    _occupancy_sweep(plt, rows, out / "occupancy_sweep.png")
    files = ["latency_throughput.png", "occupancy_sweep.png"]
    if sparsity:
        _weight_sparsity(plt, sparsity, out / "weight_sparsity.png")
        files.append("weight_sparsity.png")
    return files


def _occupancy_axes(axes: Any) -> None:
    """Log-log axes against occupancy, with a grid and a legend."""
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("occupancy (fraction of deltas passed on)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)


def _weight_sparsity(plt: Any, rows: list[dict[str, Any]], path: Path) -> None:
    """2L-768H against occupancy for each weight sparsity γ: time per step back to back and
    paced latency (µs), and the weight bytes read per step."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    fixed = [r for r in rows if r["occupancy"][0].isdigit()]
    for gamma in sorted({r["gamma"] for r in fixed}):
        rr = sorted((r for r in fixed if r["gamma"] == gamma), key=lambda r: r["occ"])
        label = "dense" if gamma == 0 else f"γ = {gamma:.4g}"
        occ = [r["occ"] for r in rr]
        (line,) = axes[0].plot(occ, [r["time_us"] for r in rr], "-o", label=label)
        paced = [r["latency_us"] for r in rr]
        axes[0].plot(occ, paced, "--", color=line.get_color(), label=f"{label}, paced")
        axes[1].plot(occ, [r["dram_bytes"] / 1e3 for r in rr], "-o", label=label)
    axes[0].axhline(PAPER["latency_us"], color="red", ls=":", label="paper ~0.5 ms")
    axes[0].set_ylabel("µs per step at 125 MHz (2L-768H, 8 PE)")
    axes[1].set_ylabel("weight kB read per step")
    _occupancy_axes(axes)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _latency_throughput(plt: Any, rows: list[dict[str, Any]], occ_paper: str, path: Path) -> None:
    """Latency and GOp/s against the hidden size at the paper's occupancy, per instance and
    depth, with the original design (8 PEs) and the paper's point."""

    def sel(**kw: Any) -> list[dict[str, Any]]:
        return [r for r in rows if all(r[k] == v for k, v in kw.items())]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, ylabel in (
        (axes[0], "latency_us", "latency per step (µs)"),
        (axes[1], "effective_gops", "effective throughput (GOp/s)"),
    ):
        for nl, style in ((1, "--"), (2, "-")):
            for pe, bus in CONFIGS:
                rr = sel(occupancy=occ_paper, num_pe=pe, bus_bits=bus)
                rr = [r for r in rr if len(r["layers"]) == nl]
                ax.plot(
                    [r["layers"][0][1] for r in rr],
                    [r[metric] for r in rr],
                    style,
                    marker="o",
                    label=f"{nl}L, {pe} PE / {bus}-bit",
                )
            rr = [r for r in sel(occupancy=occ_paper, num_pe=8) if len(r["layers"]) == nl]
            key = "original_latency_us" if metric == "latency_us" else "original_gops"
            ax.plot(
                [r["layers"][0][1] for r in rr],
                [r[key] for r in rr],
                style,
                color="gray",
                marker="x",
                label=f"{nl}L, original (8 PE)",
            )
        if metric == "latency_us":
            ax.scatter([768], [PAPER["latency_us"]], color="red", zorder=5, label="paper 2L-768H")
            ax.set_yscale("log")
        else:
            ax.scatter(
                [768], [PAPER["effective_gops"]], color="red", zorder=5, label="paper 2L-768H"
            )
        ax.set_xlabel("hidden units")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"125 MHz, 40 inputs, occupancy {occ_paper}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _occupancy_sweep(plt: Any, rows: list[dict[str, Any]], path: Path) -> None:
    """2L-768H against occupancy: GOp/s per instance (and the original's), and the DRAM
    traffic reduction against a dense step."""
    fixed = [r for r in rows if isinstance(r["occupancy"], str) and r["occupancy"][0].isdigit()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for pe, bus in CONFIGS:
        rr = [
            r
            for r in fixed
            if r["network"] == "2L-768H" and r["num_pe"] == pe and r["bus_bits"] == bus
        ]
        rr.sort(key=lambda r: r["occ_x"])
        axes[0].plot(
            [r["occ_x"] for r in rr], [r["effective_gops"] for r in rr], "-o", label=f"{pe} PE"
        )
        if pe == 8:
            axes[0].plot(
                [r["occ_x"] for r in rr],
                [r["original_gops"] for r in rr],
                "-x",
                color="gray",
                label="original (8 PE)",
            )
            axes[1].plot(
                [r["occ_x"] for r in rr],
                [r["dram_reduction"] for r in rr],
                "-o",
                label="weight bytes: dense ÷ delta",
            )
    axes[0].axhline(PAPER["effective_gops"], color="red", ls=":", label="paper 20.2 GOp/s")
    axes[1].axhline(PAPER["dram_reduction"], color="red", ls=":", label="paper: up to 10x")
    _occupancy_axes(axes)
    axes[0].set_ylabel("effective GOp/s (2L-768H)")
    axes[1].set_ylabel("DRAM traffic reduction vs dense")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def delta_raster(program: Program, x: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Which elements each layer passed on at each step, from the golden model.

    An element was passed on exactly when its reference value (x̂ or ĥ) moved during the
    step (docs/datapath.md §5).

    Parameters
    ----------
    program : Program
        The network, at its own thresholds.
    x : array_like
        (T, I) input sequence (real values or raw Q8.8 int16).

    Returns
    -------
    list of (ndarray, ndarray)
        Per layer ``(fired_x (T, I), fired_h (T, H))`` booleans.
    """
    from ..datapath import ReferenceModel
    from ..datapath.inputs import quantize_input

    xq = quantize_input(x, program.input_size)
    ref = ReferenceModel(program)
    out = [
        (np.zeros((len(xq), lay.input_size), bool), np.zeros((len(xq), lay.hidden_size), bool))
        for lay in program.layers
    ]
    for t in range(len(xq)):
        before = [(s.x_hat.copy(), s.h_hat.copy()) for s in ref.layers]
        ref.step(xq[t])
        for k, s in enumerate(ref.layers):
            out[k][0][t] = s.x_hat != before[k][0]
            out[k][1][t] = s.h_hat != before[k][1]
    return out


def plot_delta_activity(
    path: Path,
    x: np.ndarray,
    raster: list[tuple[np.ndarray, np.ndarray]],
    transcript: str,
    hop_ms: float,
) -> Path:
    """Features and per-layer delta rasters of one utterance, as one PNG.

    Parameters
    ----------
    path : Path
        The PNG to write (its folder is created).
    x : ndarray
        (T, I) features of the utterance.
    raster : list of (ndarray, ndarray)
        :func:`delta_raster` of the utterance.
    transcript : str
        The words spoken, for the title.
    hop_ms : float
        Milliseconds per step (the time axis).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    edgedrnn.support.extras.MissingExtraError
        matplotlib (the ``plot`` extra) is not installed.
    """
    matplotlib = require("matplotlib", "drawing the delta activity")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "drawing the delta activity")

    layers = len(raster)
    steps = x.shape[0]
    fig, axes = plt.subplots(
        2 + layers,
        1,
        figsize=(10, 2.2 + 2.2 * layers),
        dpi=110,
        sharex=True,
        gridspec_kw={"height_ratios": [1.0] + [1.6] * layers + [0.8]},
    )
    ext = [0, steps * hop_ms / 1000.0]
    axes[0].imshow(x.T, aspect="auto", origin="lower", cmap="magma", extent=[*ext, 0, x.shape[1]])
    axes[0].set_ylabel("log-mel")
    axes[0].set_title(f'"{transcript}": hidden deltas passed on (black = neuron fired)')
    for k, (_fx, fh) in enumerate(raster):
        ax = axes[1 + k]
        ax.imshow(
            fh.T,
            aspect="auto",
            origin="lower",
            cmap="Greys",
            interpolation="nearest",
            extent=[*ext, 0, fh.shape[1]],
        )
        ax.set_ylabel(f"layer {k}\nhidden unit")
    ax = axes[-1]
    tt = np.arange(steps) * hop_ms / 1000.0
    for k, (fx, fh) in enumerate(raster):
        ax.plot(tt, fx.sum(1) + fh.sum(1), lw=0.8, label=f"layer {k}: Δx + Δh")
    ax.set_ylabel("passed/step")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
