"""Register map (edgedrnn.hw.regmap): the contract's addresses and the generated documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedrnn.hw import regmap

CONTRACT = {
    "ID": 0x000,
    "VERSION": 0x004,
    "CONFIG": 0x008,
    "CTRL": 0x010,
    "STATUS": 0x014,
    "STATUS_CLEAR": 0x018,
    "NUM_LAYERS": 0x01C,
    "WEIGHT_BASE": 0x020,
    "STEP_CYCLES": 0x024,
    "STEP_COUNT": 0x028,
}
LAYER = {
    "INPUT_SIZE": 0x00,
    "HIDDEN_SIZE": 0x04,
    "ROWS_PER_GATE": 0x08,
    "BIAS_ADDR": 0x0C,
    "COLUMN_ADDR": 0x10,
    "COLUMN_STRIDE": 0x14,
    "THETA_X": 0x18,
    "THETA_H": 0x1C,
    "NZ_X": 0x20,
    "NZ_H": 0x24,
}


def test_addresses_follow_the_contract():
    for name, addr in CONTRACT.items():
        assert regmap.addr_of(name) == addr
        assert regmap.addr_of(name.lower()) == addr
    for layer in (0, 1, 3):
        for name, off in LAYER.items():
            a = 0x100 + 0x40 * layer + off
            assert regmap.addr_of(name, layer=layer) == a
            assert regmap.addr_of(f"layer{layer}_{name.lower()}") == a
    access = {r.name: r.access for r in regmap.REGISTERS}
    assert access["CTRL"] == "WO" and access["STATUS"] == "RO" and access["THETA_X"] == "RW"
    assert access["NZ_X"] == "RO" and access["STEP_CYCLES"] == "RO"


def test_register_values_keys_all_map():
    keys = ["num_layers"] + [
        f"layer{i}_{n}"
        for i in range(2)
        for n in (
            "input_size",
            "hidden_size",
            "rows_per_gate",
            "bias_addr",
            "column_addr",
            "column_stride",
            "theta_x",
            "theta_h",
        )
    ]
    addrs = [regmap.addr_of(k) for k in keys]
    assert len(set(addrs)) == len(addrs)


def test_errors():
    with pytest.raises(KeyError):
        regmap.addr_of("NOPE")
    with pytest.raises(ValueError):
        regmap.addr_of("THETA_X")  # needs a layer
    with pytest.raises(ValueError):
        regmap.addr_of("CTRL", layer=0)


def test_config_value():
    v = regmap.config_value(8, 64, 4, 1024, 1000)
    assert v & 0xFF == 8 and (v >> 8) & 0xF == 6 and (v >> 12) & 0xF == 4
    assert (v >> 16) & 0xF == 10 and (v >> 20) & 0xF == 10


def test_generated_documents():
    h = regmap.to_c_header()
    assert "#define EDGEDRNN_CTRL 0x010u" in h
    assert "#define EDGEDRNN_LAYER_THETA_X(l)" in h
    assert "#define EDGEDRNN_CONFIG_NUM_PE_MASK 0x000000FFu" in h
    md = regmap.to_markdown()
    assert "| 0x014 | STATUS | RO |" in md
    doc = Path(__file__).resolve().parents[2] / "docs" / "register-map.md"
    assert doc.read_text() == md, "docs/register-map.md is stale: regenerate with to_markdown()"
