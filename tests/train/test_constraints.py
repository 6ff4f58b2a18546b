"""Training keeps weights and folded biases representable: no clipped biases at compile."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from edgedrnn import DeltaGRU
from edgedrnn.compiler import QuantizationWarning, fold_biases
from edgedrnn.compiler import compile as compile_program
from edgedrnn.train.constraints import W_MAX, W_MIN, representable_
from edgedrnn.train.dense import DenseGRU
from edgedrnn.train.recipe import TrainConfig, build_model, to_delta


def _push_biases(rnn: torch.nn.Module, seed: int = 0) -> None:
    """Every bias in [-1, 127/128] (as the old per-parameter clamp allowed), many r/u
    pairs summing outside it."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if "bias" in name:
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * 0.99 - 0.99)
                p[: p.shape[0] // 8] = 0.9  # r rows of both vectors: sum 1.8
                p[-p.shape[0] // 8 :] = -0.95  # cx/ch rows: single vectors, in range


def _folded(rnn: DeltaGRU) -> list[np.ndarray]:
    return [
        fold_biases(
            getattr(rnn, f"bias_ih_l{k}").detach().numpy(),
            getattr(rnn, f"bias_hh_l{k}").detach().numpy(),
        )
        for k in range(rnn.num_layers)
    ]


def test_folded_biases_kept_in_q17_and_the_quantized_network_unchanged():
    torch.manual_seed(0)
    rnn = DeltaGRU(6, 16, 2, theta_x=0.05, theta_h=0.05, quantized=True)
    _push_biases(rnn)
    assert max(np.abs(b).max() for b in _folded(rnn)) > 1.5
    with pytest.warns(QuantizationWarning, match="folded bias"):
        before = compile_program(rnn)
    x = torch.randn(20, 6)
    rnn.eval()
    y0, _ = rnn(x)
    representable_(rnn)
    for b in _folded(rnn):
        assert b.min() >= W_MIN and b.max() <= W_MAX
    for p in rnn.parameters():
        assert p.min() >= W_MIN and p.max() <= W_MAX
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)
        after = compile_program(rnn)
    # The projection is the clip the quantized network applied anyway: same integers.
    assert before.weight_image == after.weight_image
    y1, _ = rnn(x)
    assert torch.equal(y0, y1)


def test_in_range_parameters_are_left_alone():
    torch.manual_seed(1)
    rnn = DeltaGRU(4, 8, 1)
    with torch.no_grad():
        for p in rnn.parameters():
            p.mul_(0.4)
    before = [p.clone() for p in rnn.parameters()]
    representable_(rnn)
    assert all(torch.equal(a, b) for a, b in zip(before, rnn.parameters(), strict=True))


def test_dense_phase_and_conversion_keep_folded_biases_in_range():
    cfg = TrainConfig(task="regress", num_outputs=2, hidden_size=16, num_layers=2)
    model = build_model(cfg, 5, {})
    assert isinstance(model.rnn, DenseGRU)
    _push_biases(model.rnn)
    representable_(model.rnn)  # what every training step ends with
    delta = to_delta(model, cfg)
    for b in _folded(delta.rnn):
        assert b.min() >= W_MIN and b.max() <= W_MAX
    # an unconstrained dense core (an older checkpoint) is brought inside at conversion
    _push_biases(model.rnn, seed=1)
    delta = to_delta(model, cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)
        compile_program(delta.rnn)
