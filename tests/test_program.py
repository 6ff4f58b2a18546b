"""Program files: exact round trip, layout, and a clear refusal for every kind of bad file."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import edgedrnn
from edgedrnn import HardwareConfig, Program, ProgramFormatError
from edgedrnn.compiler import quantize_layer
from strategies import networks


@pytest.fixture
def program() -> Program:
    torch.manual_seed(0)
    model = edgedrnn.DeltaGRU(6, [10, 3], 2, theta_x=0.1, theta_h=[0.05, 0.2])
    return edgedrnn.compile(model, hw=HardwareConfig(num_pe=4, bus_bits=128))


def test_round_trip_is_exact(program, tmp_path):
    path = program.save(tmp_path / "net.edrnn")
    loaded = Program.load(path)
    assert loaded.to_bytes() == program.to_bytes()
    assert loaded.hw == program.hw and loaded.layers == program.layers
    assert loaded.theta_x_q == program.theta_x_q and loaded.theta_h_q == [13, 51]
    assert loaded.weight_image == program.weight_image
    x = np.random.default_rng(0).normal(size=(9, 6))
    assert edgedrnn.run(loaded, x).same_as(edgedrnn.run(program, x))


@settings(max_examples=25)
@given(program=networks(), bus=st.sampled_from([64, 128, 256, 512]))
def test_layout_round_trips_the_quantized_weights(program, bus):
    hw = HardwareConfig(num_pe=program.hw.num_pe, bus_bits=bus)
    model = edgedrnn.DeltaGRU.from_program(program)
    again = edgedrnn.compile(model, hw=hw)
    for k, lay in enumerate(again.layers):
        a, b = program.layer_weights(k), again.layer_weights(k)
        assert np.array_equal(a.w_ih, b.w_ih) and np.array_equal(a.w_hh, b.w_hh)
        assert np.array_equal(a.bias, b.bias)
        assert lay.rows_per_gate % hw.num_pe == 0 and lay.rows_per_gate >= lay.hidden_size
        assert lay.column_stride % hw.bus_bytes == 0 and lay.bias_offset % hw.bus_bytes == 0
        assert lay.column_stride >= 3 * lay.rows_per_gate
        # padding rows and bytes are zero
        img = again.image_array()
        cols = img[lay.column_offset : lay.end].reshape(lay.num_columns, lay.column_stride)
        gates = cols[:, : 3 * lay.rows_per_gate].reshape(lay.num_columns, 3, -1)
        assert (
            not gates[:, :, lay.hidden_size :].any() and not cols[:, 3 * lay.rows_per_gate :].any()
        )


def test_image_holds_columns_contiguously(program):
    lay, w = program.layers[0], program.layer_weights(0)
    img = program.image_array()
    h, rows = lay.hidden_size, lay.rows_per_gate
    col = img[lay.column_address(2) : lay.column_address(2) + lay.column_stride]
    for gate in range(3):
        assert np.array_equal(
            col[gate * rows : gate * rows + h], w.w_ih[gate * h : (gate + 1) * h, 2]
        )
    col = img[lay.column_address(6 + 1) :][: 3 * rows]  # hidden column 1
    assert np.array_equal(col[:h], w.w_hh[:h, 1])


def test_refuses_foreign_file(tmp_path):
    path = tmp_path / "x.edrnn"
    path.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(ProgramFormatError, match="not an edgedrnn program file"):
        Program.load(path)


@pytest.mark.parametrize("keep", [4, 20, 60, -1])
def test_refuses_truncated_file(program, tmp_path, keep):
    data = program.to_bytes()
    path = tmp_path / "t.edrnn"
    path.write_bytes(data[:keep])
    with pytest.raises(ProgramFormatError, match="truncated|not an edgedrnn"):
        Program.load(path)
    if keep > 8:
        with pytest.raises(ProgramFormatError, match="truncated"):
            Program.load(path)


@pytest.mark.parametrize("where", ["metadata", "image"])
def test_refuses_corrupted_file(program, tmp_path, where):
    data = bytearray(program.to_bytes())
    pos = 60 if where == "metadata" else len(data) - 3
    data[pos] ^= 0x10
    path = tmp_path / "c.edrnn"
    path.write_bytes(bytes(data))
    with pytest.raises(ProgramFormatError, match="corrupted.*checksum"):
        Program.load(path)


def test_refuses_trailing_garbage(program):
    with pytest.raises(ProgramFormatError, match="unexpected bytes"):
        Program.from_bytes(program.to_bytes() + b"\0\0")


def test_refuses_newer_version(program):
    data = bytearray(program.to_bytes())
    struct.pack_into("<H", data, 8, 2)
    with pytest.raises(ProgramFormatError, match="version 2 is newer.*upgrade edgedrnn"):
        Program.from_bytes(bytes(data))


def test_layer_weights_equal_quantizer_output(program):
    torch.manual_seed(0)
    model = edgedrnn.DeltaGRU(6, [10, 3], 2)
    q = quantize_layer(model.weight_ih_l1, model.weight_hh_l1, model.bias_ih_l1, model.bias_hh_l1)
    w = edgedrnn.compile(model).layer_weights(1)
    assert np.array_equal(w.w_ih, q.w_ih) and np.array_equal(w.bias, q.bias)
