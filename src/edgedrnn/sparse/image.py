"""Column-balanced sparse weight columns: packing, unpacking and the balance count.

The PE array has ``P`` lanes; lane ``k`` holds rows ``g·P + k`` (``g`` = 0 .. R/P - 1) of
every gate block of ``R = rows_per_gate`` rows. A column is *balanced* with ``n`` slots
when every (gate, lane) pair of it holds at most ``n`` non-zero weights. Its packed form
(docs/program-format.md, *Sparse weight image*) is, for gates r, u, n in order and slots
``s`` = 0 .. n-1 in order, ``P`` entries in lane order; an entry is two bytes: the int8
value, then the uint8 index ``g`` of its row among the lane's R/P rows. A (gate, lane) pair
lists its non-zeros in ascending row order, then empty entries (value 0, index 0).

NumPy only: the compiler packs, :class:`~edgedrnn.program.Program` unpacks and the cpu
backend reads these bytes.
"""

from __future__ import annotations

import math

import numpy as np

#: Bytes of one entry: the int8 value, then the uint8 row index within the lane.
ENTRY_BYTES = 2
#: Largest number of rows one lane may hold per gate (an 8-bit row index).
MAX_ROWS_PER_LANE = 256


def balanced_slots(sparsity: float, hidden: int, num_pe: int) -> int:
    """Weights kept per (column, gate, PE lane) at weight sparsity γ:
    ``max(1, round((1 - γ) · ceil(H / P)))`` (halves round up)."""
    per_lane = -(-hidden // num_pe)
    return max(1, min(per_lane, math.floor((1.0 - sparsity) * per_lane + 0.5)))


def column_bytes(slots: int, num_pe: int) -> int:
    """Bytes of one packed input or hidden column (before padding to the bus width)."""
    return 3 * slots * num_pe * ENTRY_BYTES


def lane_rows(hidden: int, num_pe: int) -> np.ndarray:
    """Real (not padding) rows of each lane in a gate block: int64 (P,)."""
    k = np.arange(num_pe)
    return np.maximum(0, -(-(hidden - k) // num_pe))


def lane_counts(w: np.ndarray, hidden: int, num_pe: int) -> np.ndarray:
    """Non-zero weights per (column, gate, lane) of ``w`` (3H, C): int64 (C, 3, P)."""
    rows = -(-hidden // num_pe) * num_pe
    cols = w.shape[1]
    g = np.zeros((3, rows, cols), dtype=bool)
    g[:, :hidden] = np.asarray(w).reshape(3, hidden, cols) != 0
    # (3, R/P, P, C) -> (C, 3, P)
    return g.reshape(3, rows // num_pe, num_pe, cols).sum(axis=1).transpose(2, 0, 1)


def pack_columns(w: np.ndarray, hidden: int, num_pe: int, slots: int) -> np.ndarray:
    """Pack ``w`` (3H, C) int8 into uint8 (C, 3·slots·P·2), one packed column per row.

    Raises
    ------
    ValueError
        A (gate, lane) pair of some column holds more than ``slots`` non-zeros.
    """
    rows = -(-hidden // num_pe) * num_pe
    per_lane = rows // num_pe
    cols = w.shape[1]
    dense = np.zeros((3, rows, cols), dtype=np.int8)
    dense[:, :hidden] = np.asarray(w, dtype=np.int8).reshape(3, hidden, cols)
    sub = dense.reshape(3, per_lane, num_pe, cols).transpose(3, 0, 2, 1)  # (C, 3, P, R/P)
    nz = sub != 0
    if cols and int(nz.sum(axis=-1).max(initial=0)) > slots:
        raise ValueError(f"a (gate, lane) pair holds more than {slots} non-zero weights")
    order = np.argsort(~nz, axis=-1, kind="stable")[..., :slots]  # non-zeros first, ascending
    vals = np.take_along_axis(sub, order, axis=-1)
    idx = np.where(vals != 0, order, 0).astype(np.uint8)
    out = np.empty((cols, 3, slots, num_pe, ENTRY_BYTES), dtype=np.uint8)
    out[..., 0] = vals.view(np.uint8).transpose(0, 1, 3, 2)
    out[..., 1] = idx.transpose(0, 1, 3, 2)
    return out.reshape(cols, -1)


def unpack_entries(packed: np.ndarray, num_pe: int, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed columns (C, ≥ 3·slots·P·2 bytes) → (values int8, indices int64), each
    (C, 3, slots, P)."""
    cols = packed.shape[0]
    e = np.asarray(packed).view(np.uint8)[:, : column_bytes(slots, num_pe)]
    e = e.reshape(cols, 3, slots, num_pe, ENTRY_BYTES)
    return e[..., 0].view(np.int8), e[..., 1].astype(np.int64)


def unpack_columns(packed: np.ndarray, hidden: int, num_pe: int, slots: int) -> np.ndarray:
    """The inverse of :func:`pack_columns`: int8 (3H, C).

    Raises
    ------
    ValueError
        An entry names a row past the lane's rows, a non-zero lands on a padding row, or
        two non-zeros of a column name the same row.
    """
    rows = -(-hidden // num_pe) * num_pe
    per_lane = rows // num_pe
    vals, idx = unpack_entries(packed, num_pe, slots)
    cols = vals.shape[0]
    if cols and int(idx.max()) >= per_lane:
        raise ValueError(f"an entry's row index {int(idx.max())} is not below {per_lane}")
    c, g, _, k = np.nonzero(vals)
    g_row = idx[c, g, _, k] * num_pe + k
    if np.any(g_row >= hidden):
        raise ValueError("a non-zero entry names a padding row")
    hits = np.zeros((cols, 3, rows), dtype=np.int64)
    np.add.at(hits, (c, g, g_row), 1)
    if np.any(hits > 1):
        raise ValueError("two non-zero entries of a column name the same row")
    dense = np.zeros((cols, 3, rows), dtype=np.int8)
    dense[c, g, g_row] = vals[c, g, _, k]
    return np.ascontiguousarray(dense[:, :, :hidden].reshape(cols, 3 * hidden).T)
