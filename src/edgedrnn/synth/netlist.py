"""Reading cells of a Yosys JSON netlist (``write_json``): their parameters, as the netlist
pass (:mod:`.outreg`) and the simulation-model check (:mod:`.postsynth`) both need them."""

from __future__ import annotations

from typing import Any

__all__ = ["int_param", "param"]


def param(cell: dict[str, Any], name: str, default: str) -> str:
    """A string parameter of ``cell`` (Yosys pads all-0/1 strings with a space), stripped.

    Parameters
    ----------
    cell : dict
        A cell of a netlist module (``"type"``, ``"parameters"``, ``"connections"``).
    name : str
        The parameter.
    default : str
        Its value when the cell does not set it (the primitive's default).
    """
    value = cell["parameters"].get(name, default)
    return str(value).strip()


def int_param(cell: dict[str, Any], name: str, default: int) -> int:
    """A numeric parameter of ``cell`` (a binary string in the JSON, or an integer).

    Parameters
    ----------
    cell : dict
        A cell of a netlist module.
    name : str
        The parameter.
    default : int
        Its value when the cell does not set it, or sets it to something not a number.
    """
    value = cell["parameters"].get(name)
    if value is None:
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip(), 2)
    except ValueError:
        return default
