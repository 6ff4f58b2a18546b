"""HardwareConfig: every field checked for type and bounds with a message that names it."""

from __future__ import annotations

import pytest

from edgedrnn import HardwareConfig


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_pe": 8.0}, TypeError, "num_pe must be an int, got float"),
        ({"num_pe": True}, TypeError, "num_pe must be an int"),
        ({"num_pe": 12}, ValueError, "power of two"),
        ({"bus_bits": 96}, ValueError, "power of two"),
        ({"max_hidden_size": 1.5}, TypeError, "max_hidden_size must be an int"),
        ({"max_hidden_size": 0}, ValueError, r"max_hidden_size must be in 1\.\.32768"),
        ({"max_input_size": 1 << 20}, ValueError, "max_input_size must be in"),
        ({"max_layers": 10**400}, ValueError, "max_layers must be in 1..60"),
        ({"weight_memory_bytes": -1}, ValueError, "weight_memory_bytes"),
        ({"clock_mhz": "fast"}, TypeError, "clock_mhz must be a number"),
        ({"clock_mhz": float("nan")}, ValueError, "clock_mhz"),
        ({"clock_mhz": 0}, ValueError, "clock_mhz"),
    ],
)
def test_bad_fields_are_refused_by_name(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        HardwareConfig(**kwargs)


def test_defaults_and_bounds_are_accepted() -> None:
    assert HardwareConfig().num_pe == 8
    HardwareConfig(num_pe=64, bus_bits=512, max_layers=60, max_hidden_size=1 << 15)
