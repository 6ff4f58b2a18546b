"""``DenseGRU``: the dense phase's core, one ``torch.nn.GRU`` per layer (fast cuDNN/MKL kernels).

Layers are separate modules so that each layer's output is visible for the optional L1
penalty on hidden-state changes; :meth:`DenseGRU.to_gru` packs them into one multi-layer
``torch.nn.GRU`` (what :meth:`edgedrnn.DeltaGRU.from_gru` and :func:`edgedrnn.compile` take).
"""

from __future__ import annotations

import torch
from torch import nn


class DenseGRU(nn.Module):
    """A stack of single-layer batch-first GRUs with the sizes of the target DeltaGRU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * num_layers
        self.layers = nn.ModuleList(
            nn.GRU(sizes[k], hidden_size, batch_first=True) for k in range(num_layers)
        )
        self.last_delta_l1: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, None]:
        """Returns (last layer's outputs (B, T, H), None); sets ``last_delta_l1``.

        ``last_delta_l1`` is the mean over the batch of Σ_t Σ_layers |h_t - h_{t-1}| (with
        h_{-1} = 0), the dense counterpart of DeltaGRU's penalty at Θ = 0.
        """
        l1 = x.new_zeros(())
        for layer in self.layers:
            x, _ = layer(x)
            prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
            l1 = l1 + (x - prev).abs().sum() / x.shape[0]
        self.last_delta_l1 = l1
        return x, None

    @torch.no_grad()
    def clamp_(self, lo: float, hi: float) -> None:
        """Keep every parameter inside [lo, hi] (the Q1.7 range, so nothing clips later)."""
        for p in self.parameters():
            p.clamp_(lo, hi)

    def to_gru(self) -> nn.GRU:
        """One multi-layer ``torch.nn.GRU`` (batch-first) with these weights."""
        gru = nn.GRU(self.input_size, self.hidden_size, self.num_layers, batch_first=True)
        gru = gru.to(next(self.parameters()).device)
        with torch.no_grad():
            for k, layer in enumerate(self.layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(gru, f"{name}_l{k}").copy_(getattr(layer, f"{name}_l0"))
        return gru

    @classmethod
    def from_gru(cls, gru: nn.GRU) -> DenseGRU:
        """The inverse of :meth:`to_gru`."""
        m = cls(gru.input_size, gru.hidden_size, gru.num_layers)
        with torch.no_grad():
            for k, layer in enumerate(m.layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(layer, f"{name}_l0").copy_(getattr(gru, f"{name}_l{k}"))
        return m
