"""Where a quantized DeltaGRU loses precision: one fixed-point format at a time.

The accelerator's datapath (docs/datapath.md) differs from a float GRU in four ways:

* **weights**: Q1.7 (steps of 1/128, range [-1, 127/128]), the folded biases too;
* **state**: Q8.8 inputs, hidden state and hence deltas (steps of 1/256), and the
  candidate's recurrent pre-activation rounded to Q8.8 before the reset gate scales it;
* **tables**: SIG and TANH are tables whose outputs are multiples of 1/16 (their inputs
  the Q8.8-rounded pre-activations);
* **thresholds**: Θx, Θh (a delta smaller than Θ is not passed on).

This script evaluates a model's test data with a float DeltaGRU (float64) in which any
subset of the four is switched on (:class:`PartlyQuantizedGRU`), so each one's share of the
error can be read: every format alone on top of the float network ("+ one"), and all but one
("all − one"), beside the float network and the exact quantized network (the accelerator's
integers, ``quantized=True``). The float network with all four switched on differs from
the exact one only in where intermediate products are rounded.

The model must hold float weights: a training checkpoint (``OUT/last.pt``) or a model
trained with ``--no-quantize``; a model loaded from a Program (``model.pt`` beside its
``.edrnn``) has Q1.7 weights already, and its "float" row is then the Q1.7 network. Regression
heads trained on normalised targets are de-normalised first, so RMSE is in the targets' units.
Run::

    python benchmarks/precision.py build/gait/last.pt --theta 0.1 [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from edgedrnn import fixedpoint as fp
from edgedrnn.model import DeltaGRU
from edgedrnn.train import load_model
from edgedrnn.train.datasets import evaluation_data, fold_target_normalization
from edgedrnn.train.heads import SequenceModel, metric_name, score
from edgedrnn.train.recipe import infer

#: The four formats, in the order of the table's columns.
PARTS = ("weights", "state", "tables", "thresholds")
_Q88_MAX = fp.INT16_MAX / 256.0
_Q88_MIN = fp.INT16_MIN / 256.0


def _q88(v: Tensor) -> Tensor:
    """Round to Q8.8 (half to even) and saturate, in real units."""
    return (torch.round(v * 256.0) / 256.0).clamp(_Q88_MIN, _Q88_MAX)


def _table(fn, v: Tensor) -> Tensor:
    """The SIG/TANH table in real units: the function of the Q8.8 input, in steps of 1/16."""
    return torch.round(16.0 * fn(_q88(v))) / 16.0


class PartlyQuantizedGRU(DeltaGRU):
    """A float DeltaGRU with some of the accelerator's formats (:data:`PARTS`) switched on.

    Parameters
    ----------
    rnn
        The float (or QAT-trained) DeltaGRU whose weights and sizes are taken.
    parts
        Which of ``weights``, ``state``, ``tables`` to emulate; thresholds are set with
        :meth:`set_thresholds` (Θ = 0: none).
    """

    def __init__(self, rnn: DeltaGRU, parts: set[str]) -> None:
        super().__init__(rnn.input_size, list(rnn.hidden_sizes), rnn.num_layers)
        self.load_state_dict(rnn.state_dict())
        self.parts = set(parts)
        self.double()

    def _layer_weights(self, k: int, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        w_ih, w_hh, bias = super()._layer_weights(k, dtype)
        if "weights" not in self.parts:
            return w_ih, w_hh, bias

        def q17(w: Tensor) -> Tensor:
            return (torch.round(w * 128.0) / 128.0).clamp(-1.0, 127.0 / 128.0)

        return q17(w_ih), q17(w_hh), q17(bias)

    def forward(self, x: Tensor, state=None, theta_x=None, theta_h=None):
        if "state" in self.parts:
            x = _q88(x.double())
        return super().forward(x, state, theta_x, theta_h)

    def _activate(self, acc: Tensor, h_prev: Tensor, sat) -> Tensor:
        m_r, m_u, m_cx, m_ch = acc[:, 0], acc[:, 1], acc[:, 2], acc[:, 3]
        tables, state = "tables" in self.parts, "state" in self.parts
        sig = (lambda v: _table(torch.sigmoid, v)) if tables else torch.sigmoid
        tanh = (lambda v: _table(torch.tanh, v)) if tables else torch.tanh
        r, u = sig(m_r), sig(m_u)
        c = tanh(m_cx + r * (_q88(m_ch) if state else m_ch))
        h = (1.0 - u) * c + u * h_prev
        return _q88(h) if state else h


def _metric(model: SequenceModel, rnn: DeltaGRU, test, head) -> dict[str, Any]:
    sub = SequenceModel(rnn, head, model.task, model.metadata)
    res = infer(sub, test)
    out = score(model.task, res["predictions"], [y for _, y in test])
    if res["nonzero"] is not None:
        cols = torch.as_tensor(sum(int(n.sum()) for n in res["nonzero"]), dtype=torch.float64)
        out["columns_per_step"] = float(cols) / sum(len(x) for x, _ in test)
    return out


def breakdown(model: SequenceModel, test, theta: float) -> dict[str, Any]:
    """The metric with every subset of :data:`PARTS` switched on, and the exact quantized one.

    Returns a dict: ``metric`` (its name), ``rows`` (one per subset: ``parts``, the metric,
    columns per step) and ``quantized`` (the exact integer network at Θ, and at Θ = 0).
    """
    name = metric_name(model.task)
    head = model.head
    head64 = torch.nn.Linear(head.in_features, head.out_features).double()
    head64.load_state_dict(head.state_dict())
    rows = []
    for n in range(len(PARTS) + 1):
        for parts in itertools.combinations(PARTS, n):
            rnn = PartlyQuantizedGRU(model.rnn, set(parts) - {"thresholds"})
            t = theta if "thresholds" in parts else 0.0
            rnn.set_thresholds(t, t)
            rows.append({"parts": list(parts), **_metric(model, rnn, test, head64)})
    exact = {}
    saved = (model.rnn.theta_x, model.rnn.theta_h, model.rnn.quantized)
    try:
        model.rnn.quantized = True
        for t in (0.0, theta):
            model.rnn.set_thresholds(t, t)
            exact[f"Θ = {t:g}"] = _metric(model, model.rnn, test, head)
    finally:
        model.rnn.set_thresholds(saved[0], saved[1])
        model.rnn.quantized = saved[2]
    return {"metric": name, "theta": theta, "rows": rows, "quantized": exact}


def render(result: dict[str, Any]) -> str:
    """A Markdown table of :func:`breakdown`'s result."""
    name = result["metric"]
    rows = {tuple(r["parts"]): r for r in result["rows"]}
    base = rows[()][name]
    lines = [
        f"| formats on (float64 otherwise; Θ = {result['theta']:g}) | {name.upper()} | "
        "× float | columns/step |",
        "|---|---|---|---|",
    ]

    def line(label: str, r: dict[str, Any]) -> str:
        cols = f"{r['columns_per_step']:.1f}" if "columns_per_step" in r else ""
        return f"| {label} | {r[name]:.4g} | {r[name] / base:.2f} | {cols} |"

    lines.append(line("none (float GRU)", rows[()]))
    for p in PARTS:
        lines.append(line(f"+ {p} only", rows[(p,)]))
    for p in PARTS:
        rest = tuple(q for q in PARTS if q != p)
        lines.append(line(f"all but {p}", rows[rest]))
    lines.append(line("all four (float emulation)", rows[PARTS]))
    for key, r in result["quantized"].items():
        lines.append(line(f"quantized, exact integers, {key}", r))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a training checkpoint (OUT/last.pt) or model .pt")
    ap.add_argument("--theta", type=float, default=0.1, help="Θx = Θh of the thresholds row")
    ap.add_argument("--data", default=None, help="test data (default: the model's own)")
    ap.add_argument("--json", default=None, help="also write the result as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    if not model.is_delta:  # a dense checkpoint: the same weights as a DeltaGRU
        from edgedrnn.train.recipe import TrainConfig, to_delta

        model = to_delta(model, TrainConfig(theta_x=0.0, theta_h=0.0, quantize=False))
    fold_target_normalization(model)
    test = evaluation_data(model.metadata, args.data)
    result = breakdown(model, test, args.theta)
    result["model"] = str(args.model)
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
