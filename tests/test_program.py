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
from edgedrnn.program import FORMAT_VERSION
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
    assert loaded.theta_x_q == program.theta_x_q and loaded.theta_h_q == (13, 51)
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
    struct.pack_into("<H", data, 8, FORMAT_VERSION + 1)
    newer = f"version {FORMAT_VERSION + 1} is newer.*upgrade edgedrnn"
    with pytest.raises(ProgramFormatError, match=newer):
        Program.from_bytes(bytes(data))


def test_layer_weights_equal_quantizer_output(program):
    torch.manual_seed(0)
    model = edgedrnn.DeltaGRU(6, [10, 3], 2)
    q = quantize_layer(model.weight_ih_l1, model.weight_hh_l1, model.bias_ih_l1, model.bias_hh_l1)
    w = edgedrnn.compile(model).layer_weights(1)
    assert np.array_equal(w.w_ih, q.w_ih) and np.array_equal(w.bias, q.bias)


# ---------------------------------------------------------------- immutable, validated
def test_program_is_immutable(program):
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        program.weight_image = bytes(len(program.weight_image))
    with pytest.raises(TypeError):
        program.theta_x_q[0] = 3  # a tuple
    with pytest.raises(TypeError):
        program.layers[0] = program.layers[1]


def test_replaced_hardware_is_refused_with_the_load_message(program, tmp_path):
    import dataclasses

    with pytest.raises(ProgramFormatError, match="layout does not match the hardware config"):
        dataclasses.replace(program, hw=HardwareConfig(num_pe=16))
    # the same message from load, for a file with that hardware section
    import json

    data = program.to_bytes()
    meta = json.loads(data[56 : 56 + struct.unpack_from("<I", data, 12)[0]])
    meta["hardware"]["num_pe"] = 16
    path = tmp_path / "other.edrnn"
    path.write_bytes(_with_metadata(data, meta))
    with pytest.raises(ProgramFormatError, match="layout does not match the hardware config"):
        Program.load(path)


def test_replaced_thresholds_are_checked(program):
    import dataclasses

    with pytest.raises(ProgramFormatError, match="outside 0..32767"):
        dataclasses.replace(program, theta_x_q=(-1, 0))
    with pytest.raises(ProgramFormatError, match="must hold ints"):
        dataclasses.replace(program, theta_x_q=(0.5, 0))
    with pytest.raises(ProgramFormatError, match="per layer"):
        dataclasses.replace(program, theta_h_q=(0,))


def _with_metadata(data: bytes, meta, raw: bytes | None = None) -> bytes:
    """``data`` (a program file) with its metadata replaced and a valid checksum."""
    import hashlib
    import json

    (meta_len,) = struct.unpack_from("<I", data, 12)
    image = data[56 + meta_len :]
    body = raw if raw is not None else json.dumps(meta).encode()
    head = struct.pack("<8sHHIQ", data[:8], 1, 0, len(body), len(image))
    return head + hashlib.sha256(head + body + image).digest() + body + image


def _metadata(data: bytes) -> dict:
    import json

    return json.loads(data[56 : 56 + struct.unpack_from("<I", data, 12)[0]])


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m["hardware"].update(max_layers=1e400), r"hardware\.max_layers must be"),
        (lambda m: m["hardware"].update(num_pe=8.0), r"hardware\.num_pe must be a JSON int"),
        (lambda m: m["layers"][0].update(hidden_size=10.0), r"layers\[0\]\.hidden_size"),
        (lambda m: m["layers"][0].update(hidden_size=0), r"sizes must be at least 1"),
        (lambda m: m["layers"][0].update(input_size=-6), r"layers\[0\]\.input_size"),
        (lambda m: m.update(layers=[m["layers"][0]] * 20000), r"layers must list 1\.\.60"),
        (lambda m: m.update(layers=[]), r"layers must list 1\.\.60"),
        (lambda m: m.pop("hardware"), r"hardware is missing"),
        (lambda m: m.update(theta_x_q="12"), r"theta_x_q must be a JSON list"),
        (lambda m: m.update(theta_x_q=[1]), r"theta_x_q must give one threshold per layer"),
        (lambda m: m["hardware"].update(extra=1), r"unknown keys \['extra'\]"),
        (lambda m: m.update(metadata=[1]), r"metadata must be a JSON object"),
        (lambda m: m.update(format_version=True), r"format_version must be a JSON int"),
    ],
)
def test_hostile_metadata_with_valid_checksum(program, edit, match):
    data = program.to_bytes()
    meta = _metadata(data)
    edit(meta)
    with pytest.raises(ProgramFormatError, match=match):
        Program.from_bytes(_with_metadata(data, meta))


def test_deeply_nested_metadata_is_refused(program):
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProgramFormatError, match="nested too deeply"):
        Program.from_bytes(_with_metadata(program.to_bytes(), None, raw=deep))


def test_reserved_header_field_must_be_zero(program):
    import hashlib

    data = bytearray(program.to_bytes())
    struct.pack_into("<H", data, 10, 7)
    data[24:56] = hashlib.sha256(bytes(data[:24]) + bytes(data[56:])).digest()
    with pytest.raises(ProgramFormatError, match="reserved header field is 7"):
        Program.from_bytes(bytes(data))


def test_load_reads_the_header_first(program, tmp_path):
    big = tmp_path / "foreign.bin"
    with big.open("wb") as f:  # a sparse 300 MB file: refused without being read whole
        f.write(b"NOTAPROG" + bytes(100))
        f.truncate(300 << 20)
    with pytest.raises(ProgramFormatError, match="not an edgedrnn program file"):
        Program.load(big)
    damaged = tmp_path / "damaged.edrnn"
    damaged.write_bytes(program.to_bytes() + bytes(1 << 20))
    with pytest.raises(ProgramFormatError, match="header announces"):
        Program.load(damaged)
    with pytest.raises(ProgramFormatError, match="is a directory"):
        Program.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="program file not found.*missing.edrnn"):
        Program.load(tmp_path / "missing.edrnn")
