"""``DeltaGRU``: a delta-network GRU in PyTorch, in float and fake-quantized modes.

The module follows docs/datapath.md: each layer keeps the last passed-on input (x̂) and
hidden state (ĥ); only changes with ``|Δ| >= Θ`` are propagated, and their products with the
weight columns are accumulated into four memories (r, u, cx, ch) that are never cleared between
steps. With ``quantized=True`` every quantity is rounded and saturated exactly as the integer
datapath does (the eval forward equals the reference backend integer for integer); in training
mode rounding, table look-ups and the threshold use straight-through estimators, so the same
forward trains (quantization-aware training).

Example::

    >>> import torch, edgedrnn
    >>> gru = torch.nn.GRU(4, 8, batch_first=True)
    >>> m = edgedrnn.DeltaGRU.from_gru(gru)          # Θ = 0, float: equals gru
    >>> x = torch.randn(2, 5, 4)
    >>> bool(torch.allclose(m(x)[0], gru(x)[0], atol=1e-5))
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from . import fixedpoint as fp

_R, _U, _CX, _CH = 0, 1, 2, 3


@dataclass
class LayerDeltaState:
    """Delta state of one layer (datapath.md §4), batch-first tensors.

    In quantized mode the values are integers (Q8.8 for x̂, ĥ, h; Q.15 for ``acc``) held in
    float tensors; in float mode they are real values.
    """

    x_hat: Tensor  # (B, I)
    h_hat: Tensor  # (B, H)
    h: Tensor  # (B, H)
    acc: Tensor  # (B, 4, H): M_r, M_u, M_cx, M_ch
    bias_sent: bool = False

    def detach(self) -> LayerDeltaState:
        return LayerDeltaState(
            self.x_hat.detach(),
            self.h_hat.detach(),
            self.h.detach(),
            self.acc.detach(),
            self.bias_sent,
        )


@dataclass
class DeltaGRUState:
    """The full delta state of a DeltaGRU: pass it back in to continue a stream."""

    layers: list[LayerDeltaState]
    quantized: bool
    overflow: bool = False
    steps: int = 0

    def detach(self) -> DeltaGRUState:
        """A copy cut from the autograd graph (for truncated back-propagation)."""
        return DeltaGRUState(
            [s.detach() for s in self.layers], self.quantized, self.overflow, self.steps
        )

    @property
    def h(self) -> list[Tensor]:
        """Each layer's current hidden state (real units)."""
        scale = 1.0 / 256 if self.quantized else 1.0
        return [s.h * scale for s in self.layers]


# --------------------------------------------------------------------------- STE helpers
def _ste(value: Tensor, surrogate: Tensor) -> Tensor:
    """Forward ``value``, backward the gradient of ``surrogate``."""
    return surrogate + (value - surrogate).detach()


def _round_ste(v: Tensor) -> Tensor:
    """Round half to even (torch.round), identity gradient."""
    return _ste(torch.round(v), v)


class _Saturation:
    """Accumulates the sticky overflow flag of one forward pass without host syncs."""

    def __init__(self, device: torch.device) -> None:
        self.flag = torch.zeros((), dtype=torch.bool, device=device)

    def clamp(self, v: Tensor, lo: float, hi: float) -> Tensor:
        self.flag = self.flag | ((v < lo) | (v > hi)).any()
        return v.clamp(lo, hi)

    def sat16(self, v: Tensor) -> Tensor:
        return self.clamp(v, fp.INT16_MIN, fp.INT16_MAX)

    def sat24(self, v: Tensor) -> Tensor:
        return self.clamp(v, fp.ACC_MIN, fp.ACC_MAX)


def _rne(v: Tensor, k: int) -> Tensor:
    """RNE_k of integer-valued tensors, straight-through."""
    return _round_ste(v / float(1 << k))


_TABLES: dict[tuple[str, torch.device, torch.dtype], Tensor] = {}


def _table(name: str, device: torch.device, dtype: torch.dtype) -> Tensor:
    key = (name, device, dtype)
    if key not in _TABLES:
        arr = fp.sig_table() if name == "sig" else fp.tanh_table()
        _TABLES[key] = torch.as_tensor(np.asarray(arr, dtype=np.float64)).to(device, dtype)
    return _TABLES[key]


def _lut(name: str, v: Tensor) -> Tensor:
    """SIG/TANH table look-up of int16-valued ``v``; gradient of the float function."""
    idx = (v.detach() - fp.INT16_MIN).long()
    exact = _table(name, v.device, v.dtype)[idx]
    fn = torch.sigmoid if name == "sig" else torch.tanh
    return _ste(exact, 256.0 * fn(v / 256.0))


# --------------------------------------------------------------------------- the module
class DeltaGRU(nn.Module):
    """A multi-layer delta-network GRU (EdgeDRNN's network), drop-in for ``torch.nn.GRU``.

    Args:
        input_size: features per time step.
        hidden_size: hidden units, one int for all layers or one per layer.
        num_layers: number of stacked layers.
        theta_x, theta_h: delta thresholds on inputs and hidden states (real units), a float
            or one per layer. Change them any time (:meth:`set_thresholds`).
        batch_first: inputs (B, T, I) when True (the default), else (T, B, I).
        quantized: fake-quantize as the accelerator computes (datapath.md).

    Parameters are named exactly as torch.nn.GRU's (``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, gate order r, z, n). ``forward(x, state=None)``
    returns ``(y, state)``: y is the last layer's hidden state at every step and ``state``
    the full delta state (pass it back to continue a stream). After each forward,
    ``last_nonzero`` (B, T, L, 2) counts the deltas passed on per step and layer (inputs,
    hidden), ``last_overflow`` tells whether anything saturated (quantized mode) and
    ``last_delta_l1`` is the differentiable sum of |Δh| passed on (mean over the batch).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int | Sequence[int],
        num_layers: int = 1,
        theta_x: float | Sequence[float] = 0.0,
        theta_h: float | Sequence[float] = 0.0,
        batch_first: bool = True,
        quantized: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(hidden_size, int):
            sizes = [hidden_size] * num_layers
        else:
            sizes = [int(h) for h in hidden_size]
            if num_layers not in (1, len(sizes)):
                raise ValueError(
                    f"hidden_size lists {len(sizes)} layers but num_layers={num_layers}"
                )
        if input_size < 1 or not sizes or min(sizes) < 1:
            raise ValueError(f"sizes must be positive: input {input_size}, hidden {sizes}")
        self.input_size = int(input_size)
        self.hidden_sizes = sizes
        self.num_layers = len(sizes)
        self.batch_first = batch_first
        self.quantized = quantized
        self._theta_x = [0.0] * self.num_layers
        self._theta_h = [0.0] * self.num_layers
        self.set_thresholds(theta_x, theta_h)
        fan_in = self.input_size
        for k, h in enumerate(sizes):
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * h, fan_in)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * h, h)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(3 * h)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(3 * h)))
            fan_in = h
        self.reset_parameters()
        self.last_nonzero: Tensor | None = None
        self.last_overflow = False
        self.last_delta_l1: Tensor | None = None

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self) -> None:
        """Uniform(-1/√H, 1/√H), as torch.nn.GRU initialises."""
        for k, h in enumerate(self.hidden_sizes):
            bound = 1.0 / math.sqrt(h)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                nn.init.uniform_(getattr(self, f"{name}_l{k}"), -bound, bound)

    @property
    def hidden_size(self) -> int:
        """Hidden size of the last layer (the output size)."""
        return self.hidden_sizes[-1]

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(input size, hidden size) of each layer."""
        ins = [self.input_size, *self.hidden_sizes[:-1]]
        return list(zip(ins, self.hidden_sizes, strict=True))

    # ------------------------------------------------------------------ thresholds
    def _per_layer(self, value: float | Sequence[float], name: str) -> list[float]:
        vals = np.broadcast_to(np.asarray(value, dtype=np.float64), (self.num_layers,))
        if vals.ndim != 1 or not np.all(np.isfinite(vals)) or np.any(vals < 0):
            raise ValueError(f"{name} must be non-negative and finite, one or per layer")
        return [float(v) for v in vals]

    @property
    def theta_x(self) -> list[float]:
        """Per-layer input-delta thresholds (real units)."""
        return list(self._theta_x)

    @theta_x.setter
    def theta_x(self, value: float | Sequence[float]) -> None:
        self._theta_x = self._per_layer(value, "theta_x")

    @property
    def theta_h(self) -> list[float]:
        """Per-layer hidden-delta thresholds (real units)."""
        return list(self._theta_h)

    @theta_h.setter
    def theta_h(self, value: float | Sequence[float]) -> None:
        self._theta_h = self._per_layer(value, "theta_h")

    def set_thresholds(
        self,
        theta_x: float | Sequence[float] | None = None,
        theta_h: float | Sequence[float] | None = None,
        layer: int | None = None,
    ) -> None:
        """Set Θx and/or Θh for all layers, or only for ``layer``."""
        for attr, value in (("_theta_x", theta_x), ("_theta_h", theta_h)):
            if value is None:
                continue
            if layer is None:
                setattr(self, attr, self._per_layer(value, attr[1:]))
            else:
                vals = getattr(self, attr)
                vals[layer] = self._per_layer(float(value), attr[1:])[0]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_gru(
        cls,
        gru: nn.GRU,
        theta_x: float | Sequence[float] = 0.0,
        theta_h: float | Sequence[float] = 0.0,
        quantized: bool = False,
    ) -> DeltaGRU:
        """A DeltaGRU with the weights of a unidirectional ``torch.nn.GRU`` (its batch_first)."""
        if gru.bidirectional:
            raise ValueError("bidirectional GRUs cannot run as a delta network")
        m = cls(
            gru.input_size,
            gru.hidden_size,
            gru.num_layers,
            theta_x,
            theta_h,
            batch_first=gru.batch_first,
            quantized=quantized,
        )
        with torch.no_grad():
            for name, p in m.named_parameters():
                src = getattr(gru, name, None)
                p.copy_(src if src is not None else torch.zeros_like(p))
        return m.to(next(gru.parameters()).device)

    @classmethod
    def from_program(cls, program) -> DeltaGRU:
        """A quantized DeltaGRU whose fake-quantized weights are exactly the Program's."""
        layers = [program.layer_weights(i) for i in range(program.num_layers)]
        m = cls(
            program.input_size,
            program.hidden_sizes,
            program.num_layers,
            program.theta_x,
            program.theta_h,
            quantized=True,
        )
        with torch.no_grad():
            for k, w in enumerate(layers):
                h = w.bias.shape[1]
                getattr(m, f"weight_ih_l{k}").copy_(torch.from_numpy(fp.from_q17(w.w_ih)))
                getattr(m, f"weight_hh_l{k}").copy_(torch.from_numpy(fp.from_q17(w.w_hh)))
                b = fp.from_q17(w.bias)
                zeros = np.zeros(h)
                getattr(m, f"bias_ih_l{k}").copy_(torch.from_numpy(np.concatenate(b[:3])))
                getattr(m, f"bias_hh_l{k}").copy_(
                    torch.from_numpy(np.concatenate([zeros, zeros, b[3]]))
                )
        return m

    # ------------------------------------------------------------------ state
    def initial_state(
        self, batch: int, device: torch.device | None = None, dtype: torch.dtype | None = None
    ) -> DeltaGRUState:
        """The reset state: everything zero, bias not yet sent."""
        p = self.weight_ih_l0
        device = device or p.device
        dtype = dtype or self._compute_dtype()
        layers = []
        for i, h in self.layer_sizes():
            zeros = [
                torch.zeros(*shape, device=device, dtype=dtype)
                for shape in ((batch, i), (batch, h), (batch, h), (batch, 4, h))
            ]
            layers.append(LayerDeltaState(*zeros))
        return DeltaGRUState(layers, quantized=self.quantized)

    def _compute_dtype(self) -> torch.dtype:
        # Quantized evaluation runs on integers held in float64 (exact); training and float
        # mode use the parameters' dtype.
        if self.quantized and not self.training:
            return torch.float64
        return self.weight_ih_l0.dtype

    # ------------------------------------------------------------------ weights
    def _layer_weights(self, k: int, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        """(W_ih, W_hh, bias (4, H)) in compute units: Q1.7 integers when quantized."""
        w_ih = getattr(self, f"weight_ih_l{k}")
        w_hh = getattr(self, f"weight_hh_l{k}")
        b_ih = getattr(self, f"bias_ih_l{k}").reshape(3, -1)
        b_hh = getattr(self, f"bias_hh_l{k}").reshape(3, -1)
        # Fold in float64 (as the compiler does), quantize once.
        b_ih64, b_hh64 = b_ih.double(), b_hh.double()
        bias = torch.stack([b_ih64[0] + b_hh64[0], b_ih64[1] + b_hh64[1], b_ih64[2], b_hh64[2]])
        if not self.quantized:
            return w_ih.to(dtype), w_hh.to(dtype), bias.to(dtype)

        def q17(w: Tensor) -> Tensor:
            return _round_ste(w.double() * 128.0).clamp(fp.INT8_MIN, fp.INT8_MAX).to(dtype)

        return q17(w_ih), q17(w_hh), q17(bias)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: Tensor,
        state: DeltaGRUState | None = None,
        theta_x: Tensor | np.ndarray | None = None,
        theta_h: Tensor | np.ndarray | None = None,
    ) -> tuple[Tensor, DeltaGRUState]:
        """Run the sequence ``x``; see the class docstring.

        ``theta_x``/``theta_h`` optionally give per-step, per-layer thresholds (T, L) in real
        units for this call (the model's own thresholds are used otherwise).
        """
        if x.dim() not in (2, 3):
            raise ValueError(f"expected a 2-D (T, I) or 3-D input, got shape {tuple(x.shape)}")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0)
        elif not self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected {self.input_size} input features, got {x.shape[-1]}")
        batch, steps = x.shape[0], x.shape[1]
        dtype = self._compute_dtype()
        if state is None:
            state = self.initial_state(batch, x.device, dtype)
        elif state.quantized != self.quantized:
            raise ValueError("state was produced in a different quantization mode")
        tx = self._schedule(theta_x, self._theta_x, steps)
        th = self._schedule(theta_h, self._theta_h, steps)
        sat = _Saturation(x.device)
        if state.overflow:
            sat.flag = sat.flag | True
        weights = [self._layer_weights(k, dtype) for k in range(self.num_layers)]
        if self.quantized:
            xs = sat.clamp(_round_ste(x.to(dtype) * 256.0), fp.INT16_MIN, fp.INT16_MAX)
            tx, th = np.rint(tx * 256.0), np.rint(th * 256.0)
        else:
            xs = x.to(dtype)

        layers = list(state.layers)
        outputs = []
        nonzero = torch.zeros(batch, steps, self.num_layers, 2, dtype=torch.long)
        l1 = x.new_zeros((), dtype=dtype)
        for t in range(steps):
            inp = xs[:, t]
            for k in range(self.num_layers):
                layers[k], nzx, nzh, dh = self._layer_step(
                    layers[k], weights[k], inp, float(tx[t, k]), float(th[t, k]), sat
                )
                nonzero[:, t, k, 0] = nzx
                nonzero[:, t, k, 1] = nzh
                l1 = l1 + dh.abs().sum() / batch
                inp = layers[k].h
            outputs.append(inp)
        y = torch.stack(outputs, dim=1)
        if self.quantized:
            y = y / 256.0
            l1 = l1 / 256.0
        y = y.to(self.weight_ih_l0.dtype)
        new_state = DeltaGRUState(
            layers, self.quantized, overflow=bool(sat.flag), steps=state.steps + steps
        )
        self.last_nonzero = nonzero
        self.last_overflow = new_state.overflow
        self.last_delta_l1 = l1
        if unbatched:
            y = y.squeeze(0)
        elif not self.batch_first:
            y = y.transpose(0, 1)
        return y, new_state

    def _schedule(self, override, default: list[float], steps: int) -> np.ndarray:
        if override is None:
            return np.broadcast_to(np.asarray(default, dtype=np.float64), (steps, self.num_layers))
        if isinstance(override, Tensor):
            override = override.detach().cpu().numpy()
        arr = np.asarray(override, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        return np.broadcast_to(arr, (steps, self.num_layers))

    def _layer_step(
        self,
        st: LayerDeltaState,
        weights: tuple[Tensor, Tensor, Tensor],
        inp: Tensor,
        theta_x: float,
        theta_h: float,
        sat: _Saturation,
    ) -> tuple[LayerDeltaState, Tensor, Tensor, Tensor]:
        w_ih, w_hh, bias = weights
        q = self.quantized
        # Delta encoding (previous step's h for the hidden vector).
        dx = inp - st.x_hat
        dh = st.h - st.h_hat
        if q:
            dx, dh = sat.sat16(dx), sat.sat16(dh)
        mx = (dx != 0) & (dx.abs() >= theta_x)
        mh = (dh != 0) & (dh.abs() >= theta_h)
        dx = _ste(dx * mx, dx)  # straight-through threshold
        dh = _ste(dh * mh, dh)
        x_hat = st.x_hat + dx
        h_hat = st.h_hat + dh

        acc = st.acc
        if not st.bias_sent:
            acc = acc + bias.unsqueeze(0) * (float(fp.ONE_Q88) if q else 1.0)
        hsz = st.h.shape[1]
        if q and self._may_saturate(acc, w_ih, w_hh, dx, dh):
            acc = self._accumulate_in_order(acc, w_ih, w_hh, dx, dh, sat)
        else:
            gx = (dx @ w_ih.T).reshape(-1, 3, hsz)
            gh = (dh @ w_hh.T).reshape(-1, 3, hsz)
            acc = acc + torch.stack(
                [gx[:, 0] + gh[:, 0], gx[:, 1] + gh[:, 1], gx[:, 2], gh[:, 2]], 1
            )

        h = self._activate(acc, st.h, sat)
        new = LayerDeltaState(x_hat, h_hat, h, acc, bias_sent=True)
        return new, mx.sum(-1), mh.sum(-1), dh

    @staticmethod
    def _may_saturate(acc: Tensor, w_ih: Tensor, w_hh: Tensor, dx: Tensor, dh: Tensor) -> bool:
        """True if some accumulator could leave ±(2^23-1) while adding this step's columns."""
        with torch.no_grad():
            hsz = acc.shape[-1]
            bx = (dx.abs() @ w_ih.abs().T).reshape(-1, 3, hsz)
            bh = (dh.abs() @ w_hh.abs().T).reshape(-1, 3, hsz)
            bound = acc.abs().clone()
            bound[:, :2] += bx[:, :2] + bh[:, :2]
            bound[:, 2] += bx[:, 2]
            bound[:, 3] += bh[:, 2]
            return bool((bound > fp.ACC_MAX).any())

    @staticmethod
    def _accumulate_in_order(
        acc: Tensor, w_ih: Tensor, w_hh: Tensor, dx: Tensor, dh: Tensor, sat: _Saturation
    ) -> Tensor:
        """Column by column, saturating after each: hidden columns ascending, then input
        columns ascending (datapath.md §5)."""
        hsz = acc.shape[-1]
        banks = [acc[:, b] for b in range(4)]
        for w, d, targets in ((w_hh, dh, (_R, _U, _CH)), (w_ih, dx, (_R, _U, _CX))):
            for k in range(w.shape[1]):
                dk = d[:, k : k + 1]
                if not bool((dk != 0).any()):
                    continue
                col = w[:, k].reshape(3, hsz)
                for block, bank in enumerate(targets):
                    banks[bank] = sat.sat24(banks[bank] + col[block] * dk)
        return torch.stack(banks, dim=1)

    def _activate(self, acc: Tensor, h_prev: Tensor, sat: _Saturation) -> Tensor:
        m_r, m_u, m_cx, m_ch = acc[:, _R], acc[:, _U], acc[:, _CX], acc[:, _CH]
        if not self.quantized:
            r = torch.sigmoid(m_r)
            u = torch.sigmoid(m_u)
            c = torch.tanh(m_cx + r * m_ch)
            return (1.0 - u) * c + u * h_prev
        r = _lut("sig", sat.sat16(_rne(m_r, 7)))
        u = _lut("sig", sat.sat16(_rne(m_u, 7)))
        qv = sat.sat16(_rne(m_ch, 7))
        s = r * qv + 2.0 * m_cx
        c = _lut("tanh", sat.sat16(_rne(s, 8)))
        return sat.sat16(_rne((256.0 - u) * c, 8) + _rne(u * h_prev, 8))

    # ------------------------------------------------------------------ statistics
    def temporal_sparsity(self) -> list[tuple[float, float]]:
        """Per layer (sparsity of Δx, sparsity of Δh) in the last forward: fraction not passed."""
        if self.last_nonzero is None:
            raise RuntimeError("no forward pass yet")
        nz = self.last_nonzero.double().mean(dim=(0, 1))  # (L, 2)
        return [
            (1.0 - float(nz[k, 0]) / i, 1.0 - float(nz[k, 1]) / h)
            for k, (i, h) in enumerate(self.layer_sizes())
        ]

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_sizes}, num_layers={self.num_layers}, "
            f"theta_x={self.theta_x}, theta_h={self.theta_h}, quantized={self.quantized}, "
            f"batch_first={self.batch_first}"
        )
