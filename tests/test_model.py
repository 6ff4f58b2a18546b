"""DeltaGRU: state continuation, thresholds, sparsity statistics, training differentiability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn import DeltaGRU


def smooth(batch: int, steps: int, features: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cumsum(torch.randn(batch, steps, features, generator=g) * 0.05, dim=1)


@pytest.mark.parametrize("quantized", [False, True])
def test_stream_continues_from_returned_state(quantized):
    torch.manual_seed(0)
    m = DeltaGRU(5, [7, 4], 2, theta_x=0.03, theta_h=0.02, quantized=quantized).eval()
    x = smooth(2, 30, 5)
    with torch.no_grad():
        whole, _ = m(x)
        nz_whole = m.last_nonzero.clone()
        first, state = m(x[:, :13])
        nz_first = m.last_nonzero.clone()
        second, state = m(x[:, 13:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=0, rtol=0)
    assert state.steps == 30
    torch.testing.assert_close(state.h[-1], whole[:, -1], atol=0, rtol=0, check_dtype=False)
    assert torch.equal(torch.cat([nz_first, m.last_nonzero], 1), nz_whole)


def test_thresholds_per_layer_and_validation():
    m = DeltaGRU(3, 4, 3, theta_x=[0.1, 0.2, 0.3], theta_h=0.05)
    assert m.theta_x == [0.1, 0.2, 0.3] and m.theta_h == [0.05] * 3
    m.set_thresholds(theta_h=0.5, layer=1)
    assert m.theta_h == [0.05, 0.5, 0.05]
    m.theta_x = 0.0
    assert m.theta_x == [0.0] * 3
    with pytest.raises(ValueError, match="non-negative"):
        m.theta_x = -0.1
    with pytest.raises(ValueError):
        m.theta_h = [0.1, 0.2]


def test_threshold_raises_temporal_sparsity():
    torch.manual_seed(1)
    m = DeltaGRU(8, 16, 2).eval()
    x = smooth(1, 60, 8)
    sparsity = []
    for theta in (0.0, 0.05, 0.2):
        m.set_thresholds(theta, theta)
        with torch.no_grad():
            m(x)
        sparsity.append(m.temporal_sparsity()[0][0])
    assert sparsity[0] < sparsity[1] < sparsity[2]
    assert m.last_nonzero.shape == (1, 60, 2, 2)


def test_constant_input_passes_nothing_after_settling():
    m = DeltaGRU(4, 6, quantized=True).eval()
    x = torch.full((1, 40, 4), 0.5)
    with torch.no_grad():
        m(x)
    assert m.last_nonzero[0, 0, 0, 0] == 4  # first step: every input element changes
    assert m.last_nonzero[0, 1:, 0, 0].sum() == 0  # then the input never changes again


@pytest.mark.parametrize("quantized", [False, True])
def test_training_forward_is_differentiable(quantized):
    torch.manual_seed(2)
    m = DeltaGRU(5, [6, 6], 2, theta_x=0.02, theta_h=0.02, quantized=quantized).train()
    x = smooth(3, 15, 5)
    y, _ = m(x)
    loss = y.pow(2).mean() + 1e-3 * m.last_delta_l1
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"


def test_quantized_eval_matches_reference_after_training_step():
    torch.manual_seed(4)
    m = DeltaGRU(4, 8, 2, theta_x=0.05, theta_h=0.05, quantized=True)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = smooth(2, 20, 4)
    for _ in range(3):
        opt.zero_grad()
        y, _ = m(x)
        y.pow(2).mean().backward()
        opt.step()
    m.eval()
    program = edgedrnn.compile(m)
    seq = x[0].numpy()
    with torch.no_grad():
        y, _ = m(torch.from_numpy(seq))
    ref = edgedrnn.run(program, seq)
    np.testing.assert_array_equal(np.rint(y.double().numpy() * 256), ref.outputs_q)
    assert torch.equal(m.last_nonzero[0], torch.from_numpy(ref.nonzero))


def test_from_gru_without_bias_and_shapes():
    gru = torch.nn.GRU(3, 5, 2, bias=False, batch_first=False)
    m = DeltaGRU.from_gru(gru, theta_x=0.1)
    assert m.batch_first is False and m.theta_x == [0.1, 0.1]
    assert torch.count_nonzero(m.bias_ih_l1) == 0
    names = {n for n, _ in torch.nn.GRU(3, 5, 2).named_parameters()}
    assert names == {n for n, _ in m.named_parameters()}
    y, state = m(torch.randn(7, 2, 3))
    assert y.shape == (7, 2, 5) and len(state.layers) == 2
    with pytest.raises(ValueError, match="features"):
        m(torch.randn(7, 2, 4))


def test_state_mode_mismatch_is_refused():
    m = DeltaGRU(2, 3)
    _, state = m(torch.zeros(1, 2, 2))
    m.quantized = True
    with pytest.raises(ValueError, match="quantization mode"):
        m(torch.zeros(1, 2, 2), state)
