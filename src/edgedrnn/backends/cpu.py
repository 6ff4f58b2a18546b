"""The ``"cpu"`` backend: a Numba runtime that exploits temporal sparsity on one core.

Two modes:

* ``mode="exact"`` (default): integer arithmetic, equal to the reference backend on every
  output, delta count and the overflow flag (datapath.md is the contract).
* ``mode="float"``: the float32 delta GRU with the same thresholds (in real units) and the
  program's dequantized weights; equals ``DeltaGRU(quantized=False)`` to about 1e-5.

A passed-on delta costs one read of its weight column (3H contiguous weights, int8 in exact
mode); a step with no passed deltas only encodes and activates. See docs/cpu-runtime.md.

Use :func:`edgedrnn.run` (``backend="cpu"``) for whole sequences and
:class:`edgedrnn.Session` for streaming, one step at a time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from .. import fixedpoint as fp
from ..program import Program
from ..result import Result
from ..sparse.image import column_bytes, unpack_entries
from . import Backend, Stream
from . import cpu_kernels as K

MODES = ("exact", "float")


@dataclass
class FloatResult(Result):
    """A :class:`Result` of the float mode: ``outputs`` are the float32 outputs themselves.

    ``outputs_q`` holds them quantized to Q8.8 (round half to even, saturated).
    """

    outputs_f: np.ndarray | None = None

    @property
    def outputs(self) -> np.ndarray:  # type: ignore[override]
        """The last layer's hidden state as float32 (T, H_last), not quantized."""
        return self.outputs_f


@cache
def check_activations() -> bool:
    """Check the kernels' SIG and TANH against fixedpoint's tables on all 65,536 inputs."""
    sig = np.empty(65536, dtype=np.int32)
    tanh = np.empty(65536, dtype=np.int32)
    K.activation_functions(sig, tanh)
    if not (np.array_equal(sig, fp.sig_table()) and np.array_equal(tanh, fp.tanh_table())):
        raise AssertionError("cpu kernels: SIG/TANH breakpoints disagree with datapath.md §6")
    return True


#: Column kernels of exact mode: "vnni" (AVX-512 VNNI, weights stored as w + 128) and
#: "portable" (int8 weights, 16/32-bit vector products; any CPU). "auto" picks "vnni" where
#: the compilation target has it.
KERNELS = ("auto", "vnni", "portable")


def default_kernel() -> str:
    """The exact-mode column kernel for this machine (``$EDGEDRNN_CPU_KERNEL`` overrides)."""
    env = os.environ.get("EDGEDRNN_CPU_KERNEL", "auto")
    if env not in KERNELS:
        raise ValueError(f"EDGEDRNN_CPU_KERNEL must be one of {KERNELS}, got {env!r}")
    if env == "auto":
        return "vnni" if K.NATIVE_VNNI else "portable"
    return env


def _vnni_order(stride: int) -> np.ndarray:
    """Column byte order of the VNNI layout: ``new[p] = old[order[p]]`` per 64-row block."""
    order = np.empty(stride, dtype=np.int64)
    for b in range(0, stride, 64):
        for r in range(64):
            order[b + K.vnni_row_position(r)] = b + r
    return order


class CpuNet:
    """A Program's weights laid out for the cpu kernels (shared, read-only, by all sessions).

    Per layer, the ``I + H`` weight columns (W_ih's then W_hh's) are stored contiguously, one
    after the other, each ``3H`` values padded to a multiple of 64 bytes. The banks are kept
    in the order M_cx, M_r, M_u, M_ch, and the rows of a column are ordered so that it feeds
    one contiguous range of them: input columns hold rows (n, r, u) → banks 0..3H, hidden
    columns rows (r, u, n) → banks H..4H. ``kernel`` (exact mode): see :data:`KERNELS`.

    A program with a sparse weight image (``HardwareConfig(sparse_weights=True)``) keeps, in
    exact mode, only its columns' non-zero entries, 3·n·P per column (rounded up to 16) as
    int32 words ``bank position << 8 | value``: a passed-on column reads those 4-byte words
    only (docs/cpu-runtime.md, *Sparse weight images*). Float mode runs the dense
    equivalent.
    """

    def __init__(self, program: Program, mode: str = "exact", kernel: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        if kernel == "auto":
            kernel = default_kernel()
        self.program = program
        self.mode = mode
        self.kernel = kernel if mode == "exact" else "float"
        L = program.num_layers
        wdtype = np.int8 if mode == "exact" else np.float32
        align = 64 // np.dtype(wdtype).itemsize
        meta = np.zeros((L + 1, 16), dtype=np.int64)
        w_parts, aux_parts = [], []
        w_off = aux_off = 0
        max_cols = max(lay.num_columns for lay in program.layers)
        # state: [overflow, path counters] [bias flags L] [nz 2L] [tx L] [th L] per-layer...
        s_off = K.S_HEADER
        g = meta[L]
        g[K.G_L] = L
        g[K.G_KIND] = K.KIND_VNNI if self.kernel == "vnni" else K.KIND_PORTABLE
        g[K.G_BIAS] = s_off
        s_off += L
        g[K.G_NZ] = s_off
        s_off += 2 * L
        g[K.G_TX] = s_off
        s_off += L
        g[K.G_TH] = s_off
        s_off += L
        sparse = mode == "exact" and program.hw.sparse_weights
        for l in range(L):
            lw = program.layer_weights(l)
            I, H = lw.w_ih.shape[1], lw.w_hh.shape[1]
            m = meta[l]
            if sparse:
                cols, aux, stride, pad = self._sparse_layer(l, lw.bias)
                m[K.M_SLOTS] = program.layers[l].slots
                self._place(m, l, I, H, stride, w_off, aux_off, s_off, pad)
                s_off += I + 8 * H + pad
                w_parts.append(cols.reshape(-1))
                aux_parts.append(aux)
                w_off += cols.size
                aux_off += aux.size
                continue
            stride = -(-3 * H // align) * align
            cols = np.zeros((I + H, stride), dtype=wdtype)
            # input columns: rows n, r, u (→ banks cx, r, u); hidden: r, u, n (→ r, u, ch)
            w_in = np.concatenate([lw.w_ih[2 * H :], lw.w_ih[: 2 * H]], axis=0)
            w = np.concatenate([w_in, lw.w_hh], axis=1).T  # (I+H, 3H) int8
            bias = lw.bias[[2, 0, 1, 3]].reshape(-1)  # banks cx, r, u, ch
            if mode == "exact":
                cols[:, : 3 * H] = w
                if self.kernel == "vnni":  # uint8 w + 128 (vpdpbusd's operand), rows permuted
                    cols = (cols.view(np.uint8) ^ np.uint8(0x80)).view(np.int8)
                    cols = cols[:, _vnni_order(stride)]
                colmax = np.abs(w.astype(np.int32)).max(axis=1)
                aux = np.concatenate([bias.astype(np.int32), colmax.astype(np.int32)])
            else:
                cols[:, : 3 * H] = w.astype(np.float32) / np.float32(128.0)
                aux = (bias.astype(np.float64) / 128.0).astype(np.float32)
            self._place(m, l, I, H, stride, w_off, aux_off, s_off, 0)
            s_off += I + 8 * H
            w_parts.append(cols.reshape(-1))
            aux_parts.append(aux)
            w_off += cols.size
            aux_off += aux.size
        if w_off >= 2**31:
            raise ValueError("cpu backend: weights larger than 2 GiB are not supported")
        g[K.G_IDX] = s_off
        s_off += max_cols
        g[K.G_DL] = s_off
        s_off += max_cols
        g[K.G_DM] = s_off  # int16 scratch of the encoder (64-element chunks), in int32 words
        s_off += max_cols // 2 + 40
        g[K.G_GRP] = s_off  # a column group of the VNNI kernel
        s_off += K.GRP_WORDS
        g[K.G_BUF] = s_off  # the banks' last partial 64-row block
        s_off += 64
        self.state_size = int(s_off)
        self.W = np.ascontiguousarray(np.concatenate(w_parts))
        self.aux = np.ascontiguousarray(np.concatenate(aux_parts))
        self.meta = meta
        for arr in (self.W, self.aux, self.meta):
            arr.setflags(write=False)
        if mode == "exact":
            check_activations()

    @staticmethod
    def _place(m, layer, I, H, stride, w_off, aux_off, s_off, pad) -> None:
        """Sizes and offsets of one layer in its ``meta`` row; ``pad`` words after the banks."""
        m[K.M_I], m[K.M_H], m[K.M_STRIDE], m[K.M_WOFF] = I, H, stride, w_off
        m[K.M_BOFF] = aux_off
        m[K.M_CMOFF] = aux_off + 4 * H
        m[K.M_XHAT] = s_off
        m[K.M_HHAT] = s_off + I
        m[K.M_HOFF] = s_off + I + H
        m[K.M_ACC] = s_off + I + 2 * H
        m[K.M_CACHE] = s_off + I + 6 * H + pad  # exact mode: gate terms of the last step

    def _sparse_layer(self, layer: int, bias: np.ndarray):
        """A sparse layer's entry words (int8 view of int32 (I + H, E)), aux (bias in bank
        order, max|w| per column), E (entries per column, a multiple of 16) and the banks'
        padding.

        Entry word: ``bank position << 8 | value byte``; input columns' gates r, u, n feed
        the banks r, u, cx, hidden columns' r, u, ch (banks in the order cx, r, u, ch);
        empty entries name the first padding word after the banks (4H).
        """
        program = self.program
        lay, P = program.layers[layer], program.hw.num_pe
        H, I, n = lay.hidden_size, lay.input_size, lay.slots
        img = program.image_array()[lay.column_offset : lay.end]
        cols = img.reshape(lay.num_columns, lay.column_stride)[:, : column_bytes(n, P)]
        values, index = unpack_entries(cols, P, n)  # (C, 3, n, P)
        gate_base = np.zeros((lay.num_columns, 3, 1, 1), dtype=np.int64)
        gate_base[:I, :, 0, 0] = [H, 2 * H, 0]
        gate_base[I:, :, 0, 0] = [H, 2 * H, 3 * H]
        pos = gate_base + index * P + np.arange(P)
        pos = np.where(values != 0, pos, 4 * H).reshape(lay.num_columns, -1)
        words = (pos << 8) | (values.reshape(lay.num_columns, -1).astype(np.int64) & 0xFF)
        E = -(-words.shape[1] // 16) * 16
        out = np.full((lay.num_columns, E), (4 * H) << 8, dtype=np.int64)
        out[:, : words.shape[1]] = words
        colmax = np.abs(values.reshape(lay.num_columns, -1).astype(np.int32)).max(axis=1)
        aux = np.concatenate([bias[[2, 0, 1, 3]].reshape(-1).astype(np.int32), colmax])
        return out.astype(np.int32).view(np.int8), aux.astype(np.int32), E, K.SPARSE_PAD

    @property
    def weight_bytes(self) -> int:
        """Bytes of weight columns (padding included)."""
        return int(self.W.nbytes)

    def column_bytes(self, layer: int) -> int:
        """Bytes read for one passed-on column of ``layer``."""
        if self.meta[layer, K.M_SLOTS] > 0:  # int32 entry words
            return int(self.meta[layer, K.M_STRIDE]) * 4
        return int(self.meta[layer, K.M_STRIDE]) * self.W.itemsize

    def new_state(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Fresh (reset) state buffers: int32 ``st`` and, in float mode, float32 ``sf``."""
        st = np.zeros(self.state_size, dtype=np.int32)
        sf = np.zeros(self.state_size, dtype=np.float32) if self.mode == "float" else None
        return st, sf

    def set_thresholds_q(self, st, sf, theta_x_q, theta_h_q) -> None:
        """Write per-layer raw Q8.8 thresholds into a state (real units in float mode)."""
        g = self.meta[self.program.num_layers]
        L = self.program.num_layers
        if self.mode == "exact":
            st[g[K.G_TX] : g[K.G_TX] + L] = theta_x_q
            st[g[K.G_TH] : g[K.G_TH] + L] = theta_h_q
        else:
            sf[g[K.G_TX] : g[K.G_TX] + L] = np.asarray(theta_x_q, dtype=np.float32) / 256
            sf[g[K.G_TH] : g[K.G_TH] + L] = np.asarray(theta_h_q, dtype=np.float32) / 256

    def path_counts(self, st) -> dict[str, int]:
        """How often each column path ran in a state's lifetime (exact mode; diagnostics).

        ``groups1`` / ``groups2``: groups added with one / two delta digits (VNNI kernel) or
        with 16-bit / 32-bit products (portable kernel); ``single``: columns added on their
        own without saturation; ``saturating``: columns added with saturation; ``refresh``:
        max|M| re-measured; ``tails``: partial 64-row blocks (VNNI kernel). The counters
        are int32 in the state and wrap around on very long streams.
        """
        names = {
            "refresh": K.S_REFRESH,
            "groups1": K.S_GROUP1,
            "groups2": K.S_GROUP2,
            "single": K.S_SINGLE,
            "saturating": K.S_SAT,
            "tails": K.S_TAIL,
        }
        return {k: int(st[i]) for k, i in names.items()}

    def nonzero(self, st) -> np.ndarray:
        """Deltas passed on in the last step, int64 (L, 2)."""
        L = self.program.num_layers
        o = int(self.meta[L, K.G_NZ])
        return st[o : o + 2 * L].reshape(L, 2).astype(np.int64)


_NET_CACHE: dict[tuple[int, str, str], tuple[Program, CpuNet]] = {}


def get_net(program: Program, mode: str = "exact", kernel: str = "auto") -> CpuNet:
    """The :class:`CpuNet` of ``program`` (built once per program object, mode and kernel)."""
    if kernel == "auto":
        kernel = default_kernel()
    key = (id(program), mode, kernel if mode == "exact" else "float")
    hit = _NET_CACHE.get(key)
    if hit is not None and hit[0] is program:
        return hit[1]
    net = CpuNet(program, mode, kernel)
    if len(_NET_CACHE) > 16:
        _NET_CACHE.clear()
    _NET_CACHE[key] = (program, net)
    return net


class CpuStream(Stream):
    """A stream on the cpu kernels: its own state arrays over a shared :class:`CpuNet`.

    Exact mode (:attr:`exact` True) steps raw Q8.8 int16 inputs; float mode also takes
    float inputs in real units (int16 inputs are taken as ``x / 256``).

    Attributes
    ----------
    net : CpuNet
        The weight layout, shared by every stream of the same program and mode.
    """

    def __init__(self, net: CpuNet) -> None:
        self.net = net
        self.program = net.program
        self.exact = net.mode == "exact"
        self._tx = list(self.program.theta_x_q)
        self._th = list(self.program.theta_h_q)
        self._outq = np.zeros(self.program.output_size, dtype=np.int16)
        self._outf = np.zeros(self.program.output_size, dtype=np.float32)
        self.reset()

    def set_thresholds(self, theta_x_q: Sequence[int], theta_h_q: Sequence[int]) -> None:
        self._tx, self._th = list(theta_x_q), list(theta_h_q)
        self.net.set_thresholds_q(self._st, self._sf, self._tx, self._th)

    def reset(self) -> None:
        self._st, self._sf = self.net.new_state()
        self.net.set_thresholds_q(self._st, self._sf, self._tx, self._th)
        self._outq[:] = 0
        self._outf[:] = 0

    def step(self, x: np.ndarray) -> None:
        net = self.net
        if self.exact:
            K.step_exact_q(net.W, net.aux, net.meta, self._st, x, self._outq, self._outf)
            return
        if x.dtype == np.int16:
            x = x.astype(np.float32) / np.float32(256.0)
        elif x.dtype != np.float32:  # one compiled specialization
            x = x.astype(np.float32)
        status = K.step_float(net.W, net.aux, net.meta, self._st, self._sf, x, self._outf)
        if status == K.STEP_NOT_FINITE:
            raise ValueError("input contains NaN or inf (in float32)")

    def run(self, x: np.ndarray, theta_x_q: np.ndarray, theta_h_q: np.ndarray) -> Result:
        """Run a sequence (T, I) continuing the current state, thresholds (T, L) per step.

        Exact mode returns a :class:`Result`; float mode a :class:`FloatResult` (float32
        ``outputs``; its ``overflow`` says whether an output clipped when quantized). The
        thresholds in effect afterwards are the last step's.
        """
        net, program = self.net, self.program
        steps, L = x.shape[0], program.num_layers
        tx = np.ascontiguousarray(np.broadcast_to(theta_x_q, (steps, L)), dtype=np.int64)
        th = np.ascontiguousarray(np.broadcast_to(theta_h_q, (steps, L)), dtype=np.int64)
        nz = np.zeros((steps, L, 2), dtype=np.int64)
        self._tx, self._th = [int(v) for v in tx[-1]], [int(v) for v in th[-1]]
        if self.exact:
            out = np.zeros((steps, program.output_size), dtype=np.int16)
            K.run_exact(net.W, net.aux, net.meta, self._st, x, tx, th, out, nz)
            self._outq[:] = out[-1]
            self._outf[:] = out[-1] * np.float32(1.0 / 256.0)
            return Result(outputs_q=out, nonzero=nz, overflow=self.overflow, backend="cpu")
        if x.dtype == np.int16:
            x = x.astype(np.float32) / np.float32(256.0)
        outf = np.zeros((steps, program.output_size), dtype=np.float32)
        K.run_float(
            net.W,
            net.aux,
            net.meta,
            self._st,
            self._sf,
            np.ascontiguousarray(x, dtype=np.float32),
            (tx / 256.0).astype(np.float32),
            (th / 256.0).astype(np.float32),
            outf,
            nz,
        )
        self._outf[:] = outf[-1]
        q, clipped = fp.quantize(outf, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
        return FloatResult(
            outputs_q=q.astype(np.int16),
            nonzero=nz,
            overflow=bool(clipped),
            backend="cpu",
            outputs_f=outf,
        )

    @property
    def outputs_q(self) -> np.ndarray:
        if self.exact:
            return self._outq
        q, _ = fp.quantize(self._outf, fp.ACT_FRAC, fp.INT16_MIN, fp.INT16_MAX)
        return q.astype(np.int16)

    @property
    def outputs(self) -> np.ndarray:
        return self._outf

    @property
    def overflow(self) -> bool:
        return bool(self._st[K.S_OVERFLOW])

    @property
    def nonzero(self) -> np.ndarray:
        return self.net.nonzero(self._st)

    def path_counts(self) -> dict[str, int]:
        """How often each column path ran since the last reset (see :meth:`CpuNet.path_counts`)."""
        return self.net.path_counts(self._st)


class CpuBackend(Backend):
    """The ``"cpu"`` backend. Options of ``run`` and ``open_stream``: ``mode`` (see
    :data:`MODES`; default ``"exact"``)."""

    name = "cpu"

    def run(
        self,
        program: Program,
        x_q: np.ndarray,
        theta_x_q: np.ndarray,
        theta_h_q: np.ndarray,
        mode: str = "exact",
    ) -> Result:
        """Run a whole sequence from reset; see :meth:`edgedrnn.backends.Backend.run`.

        ``mode="float"`` returns a :class:`FloatResult` (float32 ``outputs``); its input is
        ``x_q / 256`` and its thresholds ``theta / 256`` (real units).
        """
        x_q = np.ascontiguousarray(x_q, dtype=np.int16)
        return self.open_stream(program, mode=mode).run(x_q, theta_x_q, theta_h_q)

    def open_stream(self, program: Program, mode: str = "exact") -> CpuStream:
        """A :class:`CpuStream` of ``program`` in ``mode``, from reset."""
        return CpuStream(get_net(program, mode))


BACKEND = CpuBackend()
