"""Sizes, shapes and helpers shared by the top level's components (docs/rtl.md).

* :func:`clog2`, :func:`groups_max`, :class:`StateMap`: how many row groups of NUM_PE
  neurons the state memories and the accumulator banks hold per layer, and where each
  layer's words start;
* :func:`layer_constants`: the layer registers the controller latches for the layer being
  computed, read by the scan, the column path and the activation side;
* :func:`delay`: a delay line of registers, as the components build the pipeline depths of
  :mod:`edgedrnn.hw.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Module, Signal, unsigned
from amaranth.lib import data

from ..config import HardwareConfig


def clog2(n: int) -> int:
    """Bits to index ``n`` items (0 for one item)."""
    return max(0, (int(n) - 1).bit_length())


def groups_max(hw: HardwareConfig) -> int:
    """Row groups per gate block for the largest hidden size."""
    return -(-hw.max_hidden_size // hw.num_pe)


@dataclass(frozen=True)
class StateMap:
    """Word layout of the state memories (one word is a row group of NUM_PE elements).

    Parameters
    ----------
    hw : HardwareConfig
        The instance's parameters.

    Attributes
    ----------
    gmax : int
        Row groups of the largest hidden vector (h memory and accumulator words per layer).
    gx : int
        Row groups of the largest input vector: the x̂ words of a layer's reference block,
        which its ĥ words follow.
    refg : int
        Reference-memory words per layer (x̂ then ĥ).
    ref_depth, h_depth : int
        Words of the reference (x̂/ĥ) and h memories.
    clear_depth : int
        Words CLEAR zeroes (one of every memory per cycle).
    """

    gmax: int
    gx: int
    refg: int
    ref_depth: int
    h_depth: int
    clear_depth: int

    @classmethod
    def of(cls, hw: HardwareConfig) -> StateMap:
        """The layout for ``hw``."""
        gmax = groups_max(hw)
        gx = -(-max(hw.max_input_size, hw.max_hidden_size) // hw.num_pe)
        refg = gx + gmax
        L = hw.max_layers
        return cls(gmax, gx, refg, L * refg, L * gmax, max(L * refg, L * gmax))


def layer_constants(hw: HardwareConfig) -> data.StructLayout:
    """The controller's registers of the layer being computed.

    Fields: ``layer0`` (the layer is layer 0), ``last_layer``; sizes ``n_in``, ``n_hid``
    (elements), ``g_hid`` (row groups), ``g_in_m1``, ``g_hid_m1`` (last row group index);
    ``mask_in_last``, ``mask_hid_last`` (lanes of the last row group);
    ``groups`` (row groups per gate block); ``col_beats``, ``bias_beats`` (bus words per
    column); byte addresses ``bias_addr``, ``col_addr``, ``stride``; word bases ``ref_base``
    (the layer's x̂/ĥ block), ``h_base`` (its h), ``hin_base`` (the previous layer's h),
    ``acc_base`` (its accumulators); ``theta_x``, ``theta_h``; on a sparse build
    (``hw.sparse_weights``) also ``slots`` (entries per gate and PE lane of a column).
    """
    sm = StateMap.of(hw)
    P = hw.num_pe
    fields = {
        "layer0": unsigned(1),
        "last_layer": unsigned(1),
        "n_in": unsigned(16),
        "n_hid": unsigned(16),
        "g_hid": unsigned(16),
        "g_in_m1": unsigned(16),
        "g_hid_m1": unsigned(16),
        "mask_in_last": unsigned(P),
        "mask_hid_last": unsigned(P),
        "groups": range(sm.gmax + 1),
        "col_beats": unsigned(16),
        "bias_beats": unsigned(16),
        "bias_addr": unsigned(32),
        "col_addr": unsigned(32),
        "stride": unsigned(32),
        "ref_base": range(sm.ref_depth + 1),
        "h_base": range(sm.h_depth + 1),
        "hin_base": range(sm.h_depth + 1),
        "acc_base": range(sm.h_depth + 1),
        "theta_x": unsigned(16),
        "theta_h": unsigned(16),
    }
    if hw.sparse_weights:
        fields["slots"] = range(sm.gmax + 1)
    return data.StructLayout(fields)


def delay(m: Module, value, cycles: int, name: str) -> list:
    """A delay line: ``cycles`` registers in a row behind ``value``.

    Parameters
    ----------
    m : Module
        The module the registers go into (``sync`` domain).
    value : Value or View
        What enters the line; every register has its shape.
    cycles : int
        Registers (≥ 0).
    name : str
        Register ``k`` (1-based) is named ``f"{name}{k}"``.

    Returns
    -------
    list
        The registers: element ``k`` holds ``value`` of ``k + 1`` cycles ago.
    """
    line = []
    prev = value
    for k in range(1, cycles + 1):
        reg = Signal.like(value, name=f"{name}{k}")
        m.d.sync += reg.eq(prev)
        line.append(reg)
        prev = reg
    return line
