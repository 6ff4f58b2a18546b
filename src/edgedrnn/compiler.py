"""``compile``: a DeltaGRU or torch.nn.GRU → a :class:`~edgedrnn.program.Program`.

Quantizes weights and biases to Q1.7 (round half to even, saturate; warns with counts when
values clip), folds the biases as datapath.md §5 says (r: b_ir + b_hr, u: b_iz + b_hz,
cx: b_in, ch: b_hn, each sum taken in float then quantized once), lays out the weight image
(see :mod:`edgedrnn.program`) and checks the hardware limits.

With ``HardwareConfig(sparse_weights=True)`` the input and hidden columns are packed as
column-balanced sparse columns (:mod:`edgedrnn.sparse.image`): each layer's slot count ``n``
is the largest number of non-zero int8 weights any (column, gate, PE lane) holds, and a model
whose other (column, gate, lane) triples leave too many of those slots empty (more than
:data:`MAX_EMPTY_SLOTS`) is refused as not column-balanced (:func:`edgedrnn.prune` makes a
model balanced).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from . import fixedpoint as fp
from .config import VERSION, HardwareConfig, HardwareLimitError
from .datapath.inputs import layer_thresholds
from .program import LayerLayout, Program, check_sparse_rows
from .sparse.image import lane_counts, lane_rows, pack_columns

#: The largest fraction of a sparse layer's slots that may hold no weight. A model pruned
#: by :func:`edgedrnn.prune` leaves a slot empty only where a kept weight rounds to 0 in
#: Q1.7; a model pruned without balance leaves most of them empty.
MAX_EMPTY_SLOTS = 1 / 16


class QuantizationWarning(UserWarning):
    """Weights, biases or thresholds did not fit their fixed-point format and were clipped."""


@dataclass(frozen=True)
class QuantizedLayer:
    """Integer weights of one layer, before layout: w_ih (3H, I), w_hh (3H, H), bias (4, H)."""

    w_ih: np.ndarray
    w_hh: np.ndarray
    bias: np.ndarray
    clipped_weights: int
    clipped_biases: int


def fold_biases(b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
    """Fold GRU biases into the four bias rows (r, u, cx, ch), in float64, shape (4, H)."""
    b_ih = np.asarray(b_ih, dtype=np.float64).reshape(3, -1)
    b_hh = np.asarray(b_hh, dtype=np.float64).reshape(3, -1)
    return np.stack([b_ih[0] + b_hh[0], b_ih[1] + b_hh[1], b_ih[2], b_hh[2]])


def quantize_layer(w_ih, w_hh, b_ih, b_hh) -> QuantizedLayer:
    """Quantize one GRU layer's float parameters (NumPy arrays or tensors) to Q1.7."""

    def arr(t) -> np.ndarray:
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().double().numpy()
        return np.asarray(t, dtype=np.float64)

    qi, ci = fp.quantize(arr(w_ih), fp.WEIGHT_FRAC, fp.INT8_MIN, fp.INT8_MAX)
    qh, ch = fp.quantize(arr(w_hh), fp.WEIGHT_FRAC, fp.INT8_MIN, fp.INT8_MAX)
    hidden = qh.shape[1]
    if b_ih is None:
        b_ih = np.zeros(3 * hidden)
    if b_hh is None:
        b_hh = np.zeros(3 * hidden)
    qb, cb = fp.quantize(
        fold_biases(arr(b_ih), arr(b_hh)), fp.WEIGHT_FRAC, fp.INT8_MIN, fp.INT8_MAX
    )
    return QuantizedLayer(
        w_ih=qi.astype(np.int8),
        w_hh=qh.astype(np.int8),
        bias=qb.astype(np.int8),
        clipped_weights=ci + ch,
        clipped_biases=cb,
    )


def _gru_layers(model: torch.nn.Module) -> list[tuple]:
    """(w_ih, w_hh, b_ih, b_hh) per layer of a DeltaGRU or a unidirectional torch.nn.GRU."""
    if isinstance(model, torch.nn.GRU):
        if model.bidirectional:
            raise ValueError("EdgeDRNN runs unidirectional GRUs only (bidirectional=True given)")
        if getattr(model, "proj_size", 0):
            raise ValueError("GRUs with projections are not supported")
    num_layers = int(model.num_layers)
    layers = []
    n_in = int(model.input_size)
    for k in range(num_layers):
        w_ih = getattr(model, f"weight_ih_l{k}")
        w_hh = getattr(model, f"weight_hh_l{k}")
        b_ih = getattr(model, f"bias_ih_l{k}", None)
        b_hh = getattr(model, f"bias_hh_l{k}", None)
        hidden = int(w_hh.shape[-1])
        shapes = {
            f"weight_ih_l{k}": (w_ih, (3 * hidden, n_in)),
            f"weight_hh_l{k}": (w_hh, (3 * hidden, hidden)),
            f"bias_ih_l{k}": (b_ih, (3 * hidden,)),
            f"bias_hh_l{k}": (b_hh, (3 * hidden,)),
        }
        for name, (param, shape) in shapes.items():
            if param is None:
                continue
            if tuple(param.shape) != shape:
                raise ValueError(
                    f"{name} has shape {tuple(param.shape)}, expected {shape} "
                    f"(layer {k}: {n_in} inputs, {hidden} hidden units)"
                )
            if not bool(torch.isfinite(param.detach()).all()):
                raise ValueError(f"{name} contains NaN or inf; the model cannot be compiled")
        layers.append((w_ih, w_hh, b_ih, b_hh))
        n_in = hidden
    return layers


def column_balance(w: np.ndarray, hidden: int, hw: HardwareConfig) -> tuple[int, float]:
    """Slots and empty-slot fraction of a layer's columns ``w`` (3H, C) on ``hw``'s PEs.

    Returns ``(n, empty)``: ``n`` the most non-zeros any (column, gate, lane) holds (at
    least 1), ``empty`` the fraction of the slots (``min(n, real rows of the lane)`` per
    (column, gate, lane)) that hold no non-zero weight.
    """
    counts = lane_counts(w, hidden, hw.num_pe)  # (C, 3, P)
    n = max(1, int(counts.max(initial=0)))
    capacity = np.minimum(n, lane_rows(hidden, hw.num_pe))  # (P,)
    total = int(capacity.sum()) * 3 * counts.shape[0]
    empty = (total - int(counts.sum())) / total if total else 0.0
    return n, empty


def _sparse_slots(i: int, q: QuantizedLayer, hw: HardwareConfig) -> int:
    """The slot count of layer ``i``; refuses a layer that is not column-balanced."""
    hidden = q.w_hh.shape[1]
    check_sparse_rows(i, hidden, hw)
    n, empty = column_balance(np.concatenate([q.w_ih, q.w_hh], axis=1), hidden, hw)
    if empty > MAX_EMPTY_SLOTS:
        raise ValueError(
            f"layer {i} is not column-balanced for num_pe={hw.num_pe}: some (column, gate, "
            f"PE lane) holds {n} non-zero weights, but {empty:.1%} of the {n} slots per lane "
            f"would stay empty (at most {MAX_EMPTY_SLOTS:.2%} may); prune it with "
            f"edgedrnn.prune(model, γ, hw) or train with --weight-sparsity γ, or compile "
            f"with sparse_weights=False"
        )
    return n


def build_program(
    layers: list[QuantizedLayer],
    hw: HardwareConfig,
    theta_x_q: list[int],
    theta_h_q: list[int],
    metadata: dict | None = None,
) -> Program:
    """Lay out quantized layers into a weight image and make a validated Program."""
    if len(layers) > hw.max_layers:
        raise HardwareLimitError(
            f"the network has {len(layers)} layers, but HardwareConfig(max_layers="
            f"{hw.max_layers}) sequences at most {hw.max_layers}"
        )
    layouts: list[LayerLayout] = []
    offset = 0
    for i, q in enumerate(layers):
        hidden, inputs = q.w_hh.shape[1], q.w_ih.shape[1]
        if i == 0 and inputs > hw.max_input_size:
            raise HardwareLimitError(
                f"input size {inputs} exceeds HardwareConfig(max_input_size={hw.max_input_size})"
            )
        if hidden > hw.max_hidden_size:
            raise HardwareLimitError(
                f"layer {i} has {hidden} hidden units, more than HardwareConfig("
                f"max_hidden_size={hw.max_hidden_size})"
            )
        slots = _sparse_slots(i, q, hw) if hw.sparse_weights else 0
        lay = LayerLayout.plan(inputs, hidden, offset, hw, slots)
        layouts.append(lay)
        offset = lay.end
    if offset > hw.weight_memory_bytes:
        raise HardwareLimitError(
            f"the weight image needs {offset:,} bytes, more than HardwareConfig("
            f"weight_memory_bytes={hw.weight_memory_bytes:,})"
        )
    image = np.zeros(offset, dtype=np.int8)
    for q, lay in zip(layers, layouts, strict=True):
        h, rows = lay.hidden_size, lay.rows_per_gate
        bias = np.zeros((4, rows), dtype=np.int8)
        bias[:, :h] = q.bias
        image[lay.bias_offset : lay.bias_offset + 4 * rows] = bias.reshape(-1)
        w = np.concatenate([q.w_ih, q.w_hh], axis=1)  # (3H, I+H)
        cols = np.zeros((lay.num_columns, lay.column_stride), dtype=np.int8)
        if hw.sparse_weights:
            packed = pack_columns(w, h, hw.num_pe, lay.slots)
            cols[:, : packed.shape[1]] = packed.view(np.int8)
            image[lay.column_offset : lay.end] = cols.reshape(-1)
            continue
        gates = cols[:, : 3 * rows].reshape(lay.num_columns, 3, rows)
        gates[:, :, :h] = w.T.reshape(lay.num_columns, 3, h)
        cols[:, : 3 * rows] = gates.reshape(lay.num_columns, 3 * rows)
        image[lay.column_offset : lay.end] = cols.reshape(-1)
    prog = Program(
        hw=hw,
        layers=layouts,
        theta_x_q=list(theta_x_q),
        theta_h_q=list(theta_h_q),
        weight_image=image.tobytes(),
        metadata=dict(metadata or {}),
    )
    prog.validate()
    return prog


def compile(
    model: torch.nn.Module,
    hw: HardwareConfig | None = None,
    theta_x: float | list[float] | None = None,
    theta_h: float | list[float] | None = None,
) -> Program:
    """Compile a :class:`~edgedrnn.DeltaGRU` or a ``torch.nn.GRU`` into a Program.

    Args:
        model: the network. A DeltaGRU brings its own per-layer thresholds.
        hw: the accelerator configuration (default ``HardwareConfig()``: 8 PEs, 64-bit bus).
        theta_x, theta_h: thresholds in real units (override the model's); a float or one
            per layer. A torch.nn.GRU defaults to 0 (dense).

    Raises:
        HardwareLimitError: the network does not fit ``hw``.
        ValueError: unsupported model (bidirectional GRU, ...), bad thresholds, or (with
            ``hw.sparse_weights``) a model that is not column-balanced for ``hw``.
    """
    hw = HardwareConfig() if hw is None else hw
    if not isinstance(hw, HardwareConfig):
        raise TypeError(
            f"compile(hw=...) takes an edgedrnn.HardwareConfig, got {type(hw).__name__}; "
            "e.g. hw=edgedrnn.HardwareConfig(num_pe=16)"
        )
    from .model import DeltaGRU

    if not isinstance(model, torch.nn.GRU | DeltaGRU):
        raise TypeError(
            f"compile() takes an edgedrnn.DeltaGRU or a torch.nn.GRU, got {type(model).__name__}"
        )
    params = _gru_layers(model)
    quantized = [quantize_layer(*p) for p in params]
    n_w = sum(q.clipped_weights for q in quantized)
    n_b = sum(q.clipped_biases for q in quantized)
    if n_w or n_b:
        warnings.warn(
            f"compile: {n_w} weight(s) and {n_b} folded bias(es) outside the Q1.7 range "
            f"[-1, 127/128] were clipped; consider quantization-aware training",
            QuantizationWarning,
            stacklevel=2,
        )
    num_layers = len(params)
    tx = theta_x if theta_x is not None else getattr(model, "theta_x", 0.0)
    th = theta_h if theta_h is not None else getattr(model, "theta_h", 0.0)
    meta = {
        "edgedrnn_version": VERSION,
        "source": type(model).__name__,
        "clipped_weights": n_w,
        "clipped_biases": n_b,
    }
    return build_program(
        quantized,
        hw,
        layer_thresholds(tx, num_layers, "theta_x"),
        layer_thresholds(th, num_layers, "theta_h"),
        meta,
    )
