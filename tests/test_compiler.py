"""compile(): quantization warnings, bias folding, hardware limits, accepted models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn import HardwareConfig, HardwareLimitError, QuantizationWarning


def test_warns_with_counts_when_weights_and_biases_clip():
    gru = torch.nn.GRU(3, 4)
    with torch.no_grad():
        gru.weight_ih_l0.zero_()
        gru.weight_ih_l0[:5, 0] = 2.0  # 5 weights clip
        gru.bias_ih_l0.zero_()
        gru.bias_hh_l0.zero_()
        gru.bias_ih_l0[0] = 0.7
        gru.bias_hh_l0[0] = 0.7  # r bias folds to 1.4: clips
    with pytest.warns(QuantizationWarning, match=r"5 weight\(s\) and 1 folded bias"):
        program = edgedrnn.compile(gru)
    assert program.metadata["clipped_weights"] == 5
    assert program.layer_weights(0).w_ih[0, 0] == 127


def test_no_warning_when_everything_fits(recwarn):
    torch.manual_seed(0)
    edgedrnn.compile(torch.nn.GRU(3, 4))
    assert not [w for w in recwarn if issubclass(w.category, QuantizationWarning)]


def test_biases_are_summed_in_float_then_quantized_once():
    gru = torch.nn.GRU(1, 1)
    with torch.no_grad():
        gru.bias_ih_l0.copy_(torch.tensor([0.3, 0.3, 0.3]) / 128)
        gru.bias_hh_l0.copy_(torch.tensor([0.3, 0.3, 0.3]) / 128)
    bias = edgedrnn.compile(gru).layer_weights(0).bias[:, 0]
    # r, u: 0.6/128 -> 1 (quantizing separately would give 0 + 0); cx, ch: 0.3/128 -> 0
    assert bias.tolist() == [1, 1, 0, 0]


@pytest.mark.parametrize(
    ("model", "hw", "message"),
    [
        (lambda: torch.nn.GRU(4, 8, 3), HardwareConfig(max_layers=2), "3 layers.*max_layers=2"),
        (lambda: torch.nn.GRU(40, 8), HardwareConfig(max_input_size=32), "input size 40"),
        (lambda: torch.nn.GRU(4, 80), HardwareConfig(max_hidden_size=64), "80 hidden units"),
        (lambda: torch.nn.GRU(4, 64), HardwareConfig(weight_memory_bytes=4096), "bytes, more than"),
    ],
)
def test_refuses_what_the_hardware_cannot_hold(model, hw, message):
    with pytest.raises(HardwareLimitError, match=message):
        edgedrnn.compile(model(), hw=hw)


def test_rejects_unsupported_models_and_configs():
    with pytest.raises(ValueError, match="unidirectional"):
        edgedrnn.compile(torch.nn.GRU(3, 4, bidirectional=True))
    with pytest.raises(TypeError, match="DeltaGRU or a torch.nn.GRU"):
        edgedrnn.compile(torch.nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="num_pe"):
        HardwareConfig(num_pe=6)
    with pytest.raises(ValueError, match="bus_bits"):
        HardwareConfig(bus_bits=32)
    with pytest.raises(ValueError, match="non-negative"):
        edgedrnn.compile(torch.nn.GRU(3, 4), theta_x=-1.0)


def test_thresholds_come_from_model_or_arguments():
    m = edgedrnn.DeltaGRU(3, [4, 5], 2, theta_x=[0.1, 0.2], theta_h=0.5)
    p = edgedrnn.compile(m)
    assert p.theta_x_q == (26, 51) and p.theta_h_q == (128, 128)
    p = edgedrnn.compile(m, theta_h=[0.0, 1.0])
    assert p.theta_h_q == (0, 256)
    assert p.hidden_sizes == [4, 5] and p.num_weights == 3 * 4 * 7 + 3 * 5 * 9


def test_compiled_gru_and_deltagru_agree():
    torch.manual_seed(1)
    gru = torch.nn.GRU(5, 6, 2, batch_first=True)
    a = edgedrnn.compile(gru)
    b = edgedrnn.compile(edgedrnn.DeltaGRU.from_gru(gru))
    assert a.weight_image == b.weight_image
    x = np.random.default_rng(0).normal(size=(10, 5))
    assert edgedrnn.run(a, x).same_as(edgedrnn.run(b, x))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"theta_x": [0.1, 0.2, 0.3]}, ValueError, r"theta_x: give a float or 2 per-layer"),
        ({"theta_h": "high"}, ValueError, r"theta_h: thresholds must be numbers, got 'high'"),
        ({"theta_x": float("nan")}, ValueError, "finite and non-negative"),
        ({"hw": {"num_pe": 8}}, TypeError, r"takes an edgedrnn\.HardwareConfig, got dict"),
    ],
)
def test_bad_compile_arguments_say_what_is_wrong(kwargs, error, match):
    with pytest.raises(error, match=match):
        edgedrnn.compile(torch.nn.GRU(3, 4, 2), **kwargs)


def test_bad_parameters_are_named():
    gru = torch.nn.GRU(3, 4, 1)
    with torch.no_grad():
        gru.weight_hh_l0[1, 2] = float("nan")
    with pytest.raises(ValueError, match="weight_hh_l0 contains NaN"):
        edgedrnn.compile(gru)
    gru = torch.nn.GRU(3, 4, 1)
    gru.weight_ih_l0 = torch.nn.Parameter(torch.zeros(12, 5))
    with pytest.raises(ValueError, match=r"weight_ih_l0 has shape \(12, 5\), expected \(12, 3\)"):
        edgedrnn.compile(gru)
