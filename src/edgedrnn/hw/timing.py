"""Cycle model of the RTL (docs/rtl.md, "Where the cycles go").

:func:`step_cycles` bounds STEP_CYCLES (first ``x_in`` beat accepted → last ``h_out`` beat
accepted) of one step from the sizes, the passed-on columns and the memory latency, assuming
no bus stalls, ``x_in`` always valid and ``h_out`` always ready. Without columns it is exact.
With columns it is the cost when a layer's weight stream starts after its scan; the RTL
streams the columns *while* the layer scans, so the real count is lower by up to that layer's
scan length (:func:`step_cycles_min`). ``tests/test_hw_timing.py`` checks both bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import HardwareConfig

#: Cycles of the activation pipeline and layer switch when a layer's h is short.
LAYER_SWITCH_MIN = 20
#: Pipeline overhead of a layer switch on top of its activation row groups.
LAYER_SWITCH_EXTRA = 13
#: Fixed cycles of a step (scan pipeline, drain, activation latency of the last layer).
STEP_FIXED = 20
#: Cycles of memory latency hidden by the pipeline per layer that reads columns.
HIDDEN_LATENCY = 0
#: Cycles to drain the fetch and PE pipelines after a layer's last column (an upper bound).
PE_DRAIN = 9


def _g(n: int, p: int) -> int:
    return -(-n // p)


def column_cycles(hw: HardwareConfig, rows_per_gate: int, bias: bool = False) -> int:
    """Cycles one passed-on column occupies the PE array: max(beats, chunks)."""
    n = (4 if bias else 3) * rows_per_gate
    return max(_g(n, hw.bus_bytes), n // hw.num_pe)


def step_cycles(
    hw: HardwareConfig,
    input_size: int,
    hidden_sizes: Sequence[int],
    columns: Sequence[int],
    first_step: bool = False,
    mem_latency: int = 2,
) -> int:
    """Predicted STEP_CYCLES of one step.

    Args:
        hw: the hardware configuration.
        input_size: I of layer 0.
        hidden_sizes: H of every layer.
        columns: passed-on input plus hidden columns per layer (bias not counted).
        first_step: the first step after a reset (the bias columns are read too).
        mem_latency: cycles from an AR handshake to its first R beat.
    """
    p = hw.num_pe
    L = len(hidden_sizes)
    sizes_in = [input_size, *hidden_sizes[:-1]]
    cyc = input_size + _g(hidden_sizes[0], p)
    cyc += sum(_g(sizes_in[i], p) + _g(hidden_sizes[i], p) for i in range(1, L))
    cyc += sum(
        max(LAYER_SWITCH_MIN, _g(hidden_sizes[i], p) + LAYER_SWITCH_EXTRA) for i in range(L - 1)
    )
    cyc += hidden_sizes[-1] + STEP_FIXED
    for i, h in enumerate(hidden_sizes):
        rows = _g(h, p) * p
        n = columns[i]
        cyc += n * column_cycles(hw, rows)
        if first_step:
            cyc += column_cycles(hw, rows, bias=True)
        if n or first_step:
            cyc += max(0, mem_latency - HIDDEN_LATENCY) + PE_DRAIN
    return cyc


def scan_cycles(hw: HardwareConfig, input_size: int, hidden_sizes: Sequence[int]) -> list[int]:
    """Cycles each layer's scan takes (layer 0's inputs arrive one per cycle)."""
    p = hw.num_pe
    sizes_in = [input_size, *hidden_sizes[:-1]]
    return [
        (input_size if i == 0 else _g(sizes_in[i], p)) + _g(h, p)
        for i, h in enumerate(hidden_sizes)
    ]


def step_cycles_min(
    hw: HardwareConfig,
    input_size: int,
    hidden_sizes: Sequence[int],
    columns: Sequence[int],
    first_step: bool = False,
    mem_latency: int = 2,
) -> int:
    """Lower bound: :func:`step_cycles` minus the scan of every layer that reads columns."""
    top = step_cycles(hw, input_size, hidden_sizes, columns, first_step, mem_latency)
    scans = scan_cycles(hw, input_size, hidden_sizes)
    overlap = sum(scans[i] + PE_DRAIN for i in range(len(hidden_sizes)) if columns[i] or first_step)
    return top - overlap
