"""Keeping a GRU's parameters representable in the accelerator's Q1.7 weight format.

The accelerator stores each weight as Q1.7 and, per layer, four bias rows folded from the
GRU's six bias vectors (docs/datapath.md §5: r ``b_ir + b_hr``, u ``b_iz + b_hz``, cx
``b_in``, ch ``b_hn``), each also Q1.7. Clamping every parameter to [-1, 127/128] keeps the
weights and the cx/ch rows representable, but a folded sum can reach almost ±2, which the
compiler would have to clip (:class:`~edgedrnn.compiler.QuantizationWarning`) and which the
quantization-aware forward clips too, with no gradient to bring it back.
:func:`representable_` therefore also projects each (r, u) bias pair onto sums inside the
range: the excess is taken from both halves equally, which changes nothing in the quantized
network (its folded bias was clipped to that same bound) and is the smallest change in the
float one.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import fixedpoint as fp

#: Largest and smallest Q1.7 values: parameters and folded biases are kept inside.
W_MIN = fp.INT8_MIN / 2**fp.WEIGHT_FRAC
W_MAX = fp.INT8_MAX / 2**fp.WEIGHT_FRAC
#: How far inside the range a projected bias sum lands: a 32nd of the Q1.7 step, so it
#: still rounds to the bound.
MARGIN = 2.0 ** -(fp.WEIGHT_FRAC + 5)


def _bias_pairs(rnn: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(b_ih, b_hh) of every GRU layer in ``rnn`` (a DeltaGRU, ``nn.GRU`` or DenseGRU)."""
    pairs = []
    for module in rnn.modules():
        params = module._parameters
        k = 0
        while f"bias_ih_l{k}" in params and f"bias_hh_l{k}" in params:
            b_ih, b_hh = params[f"bias_ih_l{k}"], params[f"bias_hh_l{k}"]
            if b_ih is not None and b_hh is not None:
                pairs.append((b_ih, b_hh))
            k += 1
    return pairs


@torch.no_grad()
def representable_(rnn: nn.Module, lo: float = W_MIN, hi: float = W_MAX) -> None:
    """Clamp every parameter of ``rnn`` to [lo, hi] and each folded r/u bias sum too.

    Parameters
    ----------
    rnn : nn.Module
        A recurrent core whose GRU layers name their biases ``bias_ih_lK``/``bias_hh_lK``
        (:class:`~edgedrnn.DeltaGRU`, ``torch.nn.GRU``,
        :class:`~edgedrnn.train.dense.DenseGRU`); changed in place.
    lo, hi : float
        The representable range (default: Q1.7's).
    """
    for p in rnn.parameters():
        p.clamp_(lo, hi)
    for b_ih, b_hh in _bias_pairs(rnn):
        hidden = b_ih.shape[0] // 3
        for gate in (0, 1):  # r and u; cx and ch are single vectors, already clamped
            part = slice(gate * hidden, (gate + 1) * hidden)
            total = b_ih[part] + b_hh[part]  # parameters' dtype: MARGIN covers its rounding
            over, under = total > hi, total < lo
            # Brought to MARGIN inside the bound, so that the float32 halves' rounding
            # cannot leave it; the quantized value (the bound) is the same.
            excess = torch.where(over, total - (hi - MARGIN), total.new_zeros(()))
            excess = torch.where(under, total - (lo + MARGIN), excess)
            # Both halves have the sign of the excess and at least its size, so each stays
            # inside [lo, hi] after giving up half of it.
            half = excess / 2
            b_ih[part] -= half
            b_hh[part] -= half
    for p in rnn.parameters():  # float rounding of the halves
        p.clamp_(lo, hi)
