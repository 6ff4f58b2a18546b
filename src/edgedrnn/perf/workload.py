"""Workloads for the performance models: network sizes and per-step delta counts.

A workload is the network's layer sizes ``[(I_0, H_0), (I_1, H_1), ...]`` plus, for every
time step, how many input and hidden deltas each layer passed on: an array ``(T, L, 2)`` exactly
like :attr:`edgedrnn.Result.nonzero` (bias column not counted). Counts come either from a run
(any backend) or from an occupancy assumption (fraction of elements passed on).
:func:`seeded_program` builds the benchmark networks themselves.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import HardwareConfig
from ..support.extras import require

if TYPE_CHECKING:
    from ..program import Program

Sizes = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Network:
    """Layer sizes of a stacked GRU: ``layers[l] = (input_size, hidden_size)``."""

    layers: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for i, (n_in, n_h) in enumerate(self.layers):
            if int(n_in) < 1 or int(n_h) < 1:
                raise ValueError(f"layer {i}: sizes must be positive, got ({n_in}, {n_h})")
        for i in range(1, len(self.layers)):
            if self.layers[i][0] != self.layers[i - 1][1]:
                raise ValueError(
                    f"layer {i}: input size {self.layers[i][0]} must equal layer {i - 1}'s "
                    f"hidden size {self.layers[i - 1][1]}"
                )

    @classmethod
    def stacked(cls, input_size: int, hidden_size: int, num_layers: int) -> Network:
        """``num_layers`` layers of ``hidden_size`` units on ``input_size`` inputs."""
        layers = [(input_size, hidden_size)] + [(hidden_size, hidden_size)] * (num_layers - 1)
        return cls(tuple(layers))

    @classmethod
    def from_program(cls, program) -> Network:
        """The sizes of a compiled :class:`~edgedrnn.program.Program`."""
        return cls(tuple((lay.input_size, lay.hidden_size) for lay in program.layers))

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_weights(self) -> int:
        """Weights of W_ih and W_hh (3H(I+H) per layer; biases not counted), as in the paper."""
        return sum(3 * h * (i + h) for i, h in self.layers)

    @property
    def sizes_array(self) -> np.ndarray:
        """int64 (L, 2): per layer (I, H), the largest counts a step can have."""
        return np.asarray(self.layers, dtype=np.int64)

    def label(self) -> str:
        """Short name like ``2L-768H`` (or the full list if layers differ)."""
        hs = {h for _, h in self.layers}
        if len(hs) == 1:
            return f"{self.num_layers}L-{self.layers[0][1]}H"
        return "-".join(f"{h}" for _, h in self.layers)


def dense_counts(net: Network, steps: int = 1) -> np.ndarray:
    """Counts of a dense step (Θ = 0 and every element changing): all I and H elements."""
    return np.broadcast_to(net.sizes_array, (steps, net.num_layers, 2)).copy()


def occupancy_counts(
    net: Network,
    occ_x: float | Sequence[float],
    occ_h: float | Sequence[float] | None = None,
    steps: int = 1,
) -> np.ndarray:
    """Expected delta counts (float, (steps, L, 2)) for a fraction of elements passed on.

    Args:
        net: the network.
        occ_x: fraction of input elements passed on (one value, or one per layer).
        occ_h: the same for hidden elements (default: ``occ_x``).
        steps: rows of the returned array (all equal).
    """
    if occ_h is None:
        occ_h = occ_x
    ox = np.broadcast_to(np.asarray(occ_x, dtype=np.float64), (net.num_layers,))
    oh = np.broadcast_to(np.asarray(occ_h, dtype=np.float64), (net.num_layers,))
    for name, o in (("occ_x", ox), ("occ_h", oh)):
        if np.any(o < 0) or np.any(o > 1) or not np.all(np.isfinite(o)):
            raise ValueError(f"{name} must be fractions in [0, 1], got {o.tolist()}")
    occ = np.stack([ox, oh], axis=1)
    counts = net.sizes_array * occ
    return np.broadcast_to(counts, (steps, net.num_layers, 2)).copy()


def check_counts(net: Network, counts) -> np.ndarray:
    """Validate delta counts against the network; returns them as float64 (T, L, 2)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim == 2:
        c = c[None]
    if c.ndim != 3 or c.shape[1:] != (net.num_layers, 2):
        raise ValueError(
            f"delta counts must have shape (T, {net.num_layers}, 2) like Result.nonzero, "
            f"got {np.shape(counts)}"
        )
    if np.any(c < 0) or np.any(c > net.sizes_array[None]):
        raise ValueError("delta counts must lie between 0 and the layer's (I, H) sizes")
    return c


def seeded_program(
    input_size: int,
    hidden_sizes: Sequence[int],
    hw: HardwareConfig | None = None,
    theta: float = 0.0,
    seed: int = 0,
    sparsity: float | None = None,
) -> Program:
    """The benchmark networks: a :class:`~edgedrnn.model.DeltaGRU` with PyTorch's default
    initialisation after ``torch.manual_seed(seed)``, compiled at Θx = Θh = ``theta``;
    with ``sparsity`` γ, pruned (:func:`edgedrnn.prune`) and compiled to a sparse weight
    image (``hw.sparse_weights`` set).

    Weights that clip in Q1.7 do so silently (no
    :class:`~edgedrnn.compiler.QuantizationWarning`). Needs the ``train`` extra; reseeds
    PyTorch's global generator.

    Parameters
    ----------
    input_size:
        Inputs of layer 0.
    hidden_sizes:
        Hidden units per layer.
    hw:
        The accelerator configuration (default ``HardwareConfig()``).
    theta:
        Both thresholds of every layer, in real units.
    seed:
        The PyTorch seed the weights are drawn with.
    sparsity:
        Weight sparsity γ in [0, 1), or None for a dense image.
    """
    torch = require("torch", "building a benchmark network")
    compiler = require("edgedrnn.compiler", "building a benchmark network")
    model = require("edgedrnn.model", "building a benchmark network")
    torch.manual_seed(seed)
    net = model.DeltaGRU(input_size, list(hidden_sizes), len(hidden_sizes))
    if sparsity is not None:
        pruning = require("edgedrnn.sparse.pruning", "pruning a benchmark network")
        hw = dataclasses.replace(hw or HardwareConfig(), sparse_weights=True)
        pruning.prune(net, sparsity, hw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compiler.QuantizationWarning)
        return compiler.compile(net, hw=hw, theta_x=theta, theta_h=theta)
