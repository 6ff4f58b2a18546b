"""``prune``: column-balanced weight pruning for a PE array (docs/program-format.md).

A GRU layer's weight columns (W_ih's and W_hh's, 3H rows each) run on ``P = num_pe`` PE
lanes, lane ``k`` holding rows ``g·P + k`` of each gate block. :func:`prune` keeps, in
every column, gate and lane, the ``n`` weights of largest magnitude (ties: the lower row
first) and zeroes the rest, so every PE gets the same work from every column and each gate's
share decodes on its own. Biases are not pruned. The count is
``n = max(1, round((1 - γ) · ceil(H / P)))`` (:func:`balanced_slots`); a lane with fewer
real rows than ``n`` (H not a multiple of P) keeps all of them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import HardwareConfig
from .image import balanced_slots


def _weight_pairs(model: nn.Module) -> list[tuple[nn.Parameter, nn.Parameter]]:
    """(W_ih, W_hh) per layer of a DeltaGRU, a ``torch.nn.GRU`` or a stack of GRU layers
    (``model.layers``, the training recipe's dense core)."""
    layers = getattr(model, "layers", None)
    if isinstance(layers, nn.ModuleList) and all(isinstance(g, nn.GRU) for g in layers):
        return [pair for g in layers for pair in _weight_pairs(g)]
    if not hasattr(model, "weight_hh_l0"):
        raise TypeError(
            f"prune() takes an edgedrnn.DeltaGRU or a torch.nn.GRU, got {type(model).__name__}"
        )
    if isinstance(model, nn.GRU) and model.bidirectional:
        raise ValueError("EdgeDRNN runs unidirectional GRUs only (bidirectional=True given)")
    return [
        (getattr(model, f"weight_ih_l{k}"), getattr(model, f"weight_hh_l{k}"))
        for k in range(int(model.num_layers))
    ]


def balanced_mask(w: np.ndarray | torch.Tensor, hidden: int, num_pe: int, slots: int):
    """The keep mask (bool, shape of ``w`` (3H, C)) of the ``slots`` largest-magnitude
    weights of every (column, gate, lane); ties keep the lower row."""
    mag = torch.as_tensor(w).detach().abs().double().cpu().numpy()
    cols = mag.shape[1]
    per_lane = -(-hidden // num_pe)
    rows = per_lane * num_pe
    key = np.full((3, rows, cols), -1.0)  # padding rows rank last
    key[:, :hidden] = mag.reshape(3, hidden, cols)
    key = key.reshape(3, per_lane, num_pe, cols)
    order = np.argsort(-key, axis=1, kind="stable")  # descending, lower row first on ties
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(per_lane)[None, :, None, None], axis=1)
    keep = (rank < slots).reshape(3, rows, cols)[:, :hidden]
    return torch.from_numpy(np.ascontiguousarray(keep.reshape(3 * hidden, cols)))


@torch.no_grad()
def prune(
    model: nn.Module, sparsity: float, hw: HardwareConfig | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Prune ``model`` in place, column-balanced for ``hw``'s PEs (biases untouched).

    Parameters
    ----------
    model : DeltaGRU or torch.nn.GRU
        The network (a stack of single-layer GRUs in ``model.layers`` is accepted too).
    sparsity : float
        γ in [0, 1): the fraction of each lane's rows to zero in every column and gate.
    hw : HardwareConfig, optional
        The PE count (default ``HardwareConfig()``: 8 PEs).

    Returns
    -------
    list of (mask_ih, mask_hh)
        Per layer, bool masks of the kept weights (shapes of W_ih and W_hh); training keeps
        pruned weights at zero by multiplying with them.
    """
    hw = HardwareConfig() if hw is None else hw
    if not isinstance(hw, HardwareConfig):
        raise TypeError(f"prune(hw=...) takes an edgedrnn.HardwareConfig, got {hw!r}")
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float):
        raise TypeError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    masks = []
    for w_ih, w_hh in _weight_pairs(model):
        hidden = int(w_hh.shape[1])
        n = balanced_slots(sparsity, hidden, hw.num_pe)
        keep = balanced_mask(torch.cat([w_ih, w_hh], dim=1), hidden, hw.num_pe, n)
        keep = keep.to(w_ih.device)
        m_ih, m_hh = keep[:, : w_ih.shape[1]].clone(), keep[:, w_ih.shape[1] :].clone()
        w_ih.mul_(m_ih.to(w_ih.dtype))
        w_hh.mul_(m_hh.to(w_hh.dtype))
        masks.append((m_ih, m_hh))
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Zero the pruned weights again (after an optimizer step), masks from :func:`prune`."""
    pairs = _weight_pairs(model)
    if len(pairs) != len(masks):
        raise ValueError(f"{len(masks)} layer masks for a model of {len(pairs)} layers")
    for (w_ih, w_hh), (m_ih, m_hh) in zip(pairs, masks, strict=True):
        w_ih.mul_(m_ih.to(w_ih.device, w_ih.dtype))
        w_hh.mul_(m_hh.to(w_hh.device, w_hh.dtype))


def kept_counts(model: nn.Module, hw: HardwareConfig | None = None) -> list[np.ndarray]:
    """Non-zero weights per (column, gate, lane) of each layer: int64 (I + H, 3, P)."""
    from .image import lane_counts

    hw = HardwareConfig() if hw is None else hw
    out = []
    for w_ih, w_hh in _weight_pairs(model):
        w = torch.cat([w_ih, w_hh], dim=1).detach().cpu().numpy()
        out.append(lane_counts(w, int(w_hh.shape[1]), hw.num_pe))
    return out


__all__ = ["apply_masks", "balanced_mask", "balanced_slots", "kept_counts", "prune"]
