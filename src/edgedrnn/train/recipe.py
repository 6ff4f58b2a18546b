"""The training recipe: dense GRU first, then DeltaGRU with thresholds and QAT.

Phase 1 (``dense``) trains a stack of ``torch.nn.GRU`` layers (fast kernels) with weights
and folded biases kept inside the Q1.7 range (:mod:`~edgedrnn.train.constraints`). Phase 2
(``delta``) converts it with :meth:`edgedrnn.DeltaGRU.from_gru`, sets Θx/Θh and
``quantized=True`` (fake quantization with straight-through estimators, datapath.md integer
for integer) and fine-tunes a few epochs.
An optional L1 penalty on the hidden deltas passed on raises temporal sparsity in the delta
phase (in the dense phase it would hold the network on CTC's all-blank plateau).
The float linear head runs on the host and is trained along. Two regularisers for small
data sets act in both phases: Gaussian noise on the inputs (``input_noise``) and dropout
on the core's outputs before the head (``dropout``). ``theta_warmup`` raises the
thresholds linearly over the first delta epochs (Θ/warmup, 2Θ/warmup, ... Θ).

With ``weight_sparsity`` γ > 0 the GRU weights are pruned column-balanced for
``num_pe`` PEs (:func:`edgedrnn.prune`): gradually during the dense phase (at the start of
dense epoch e, to γ·(1 - (1 - e/E)³) of E dense epochs, the pruned weights held at zero
after every optimizer step), then a hard prune to γ when the phase ends. That mask stays
fixed through the delta/QAT phase and is stored in every checkpoint; the final Program is
compiled with ``HardwareConfig(num_pe=num_pe, sparse_weights=True)``.

Checkpoints (``last.pt``) are written after every epoch and :func:`train` resumes from them;
the order of batches (and the noise and dropout masks) depends only on (seed, phase,
epoch), so a resumed run repeats the uninterrupted one. Each epoch appends a JSON record
to ``log.jsonl``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import HardwareConfig
from ..data.sequences import Sample
from ..sparse.pruning import apply_masks, prune
from ..support.progress import Bars
from .checkpoint import load_checkpoint, model_from_payload, save_checkpoint, save_model
from .constraints import W_MAX, W_MIN, representable_  # noqa: F401 (W_*: also named here)
from .dense import DenseGRU
from .heads import SequenceModel, collate, metric_name, score, valid_mask
from .log import JsonLog

PHASES = ("dense", "delta")
#: The dense float GRU at the end of the dense phase, saved beside ``model.pt``.
DENSE_FILE = "dense.pt"
#: The delta/QAT phase's default batch size (its per-step loop favours large batches) ...
DELTA_BATCH_SIZE = 128
#: ... unless the training set would then give fewer optimizer steps than this per epoch.
MIN_DELTA_STEPS = 16


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train` (all JSON-able; stored in checkpoints and the model)."""

    task: str = "ctc"
    num_outputs: int = 11
    hidden_size: int = 256
    num_layers: int = 2
    dense_epochs: int = 20
    delta_epochs: int = 4
    batch_size: int = 32
    delta_batch_size: int = DELTA_BATCH_SIZE
    lr: float = 3e-3
    delta_lr: float = 5e-4
    theta_x: float = 0.1
    theta_h: float = 0.1
    theta_warmup: int = 0
    quantize: bool = True
    l1_delta: float = 0.0
    input_noise: float = 0.0
    dropout: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    eval_batch_size: int = 128
    weight_sparsity: float = 0.0
    num_pe: int = 8
    #: the dense model file the dense phase started from ("": a fresh initialisation)
    init: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def batches(lengths: Sequence[int], batch_size: int, seed: Sequence[int] | None) -> list[list[int]]:
    """Index batches of similar lengths (little padding); shuffled when ``seed`` is given."""
    lens = np.asarray(lengths)
    rng = np.random.default_rng(list(seed)) if seed is not None else None
    if rng is None:
        order = np.argsort(lens, kind="stable")
    else:  # sort by length bucket, random order inside a bucket
        order = np.lexsort((rng.random(len(lens)), lens // 8))
    chunks = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(chunks)
    return chunks


def _lr(base: float, epoch: int, epochs: int) -> float:
    """Cosine decay from ``base`` to 5 % of it over the phase."""
    frac = epoch / max(epochs, 1)
    return base * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * frac)))


def auto_delta_batch_size(num_train: int) -> int:
    """The delta/QAT phase's batch size when none is given: :data:`DELTA_BATCH_SIZE`, or
    smaller on a small training set so an epoch still takes :data:`MIN_DELTA_STEPS` steps.

    >>> auto_delta_batch_size(10000), auto_delta_batch_size(243), auto_delta_batch_size(5)
    (128, 15, 1)
    """
    if num_train < 1:
        raise ValueError(f"need at least one training sequence, got {num_train}")
    return min(DELTA_BATCH_SIZE, max(1, num_train // MIN_DELTA_STEPS))


def thresholds_at(cfg: TrainConfig, epoch: int) -> tuple[float, float]:
    """(Θx, Θh) of delta epoch ``epoch`` (0-based): raised linearly from Θ/warmup to Θ over
    the first ``cfg.theta_warmup`` epochs, then held."""
    frac = min(1.0, (epoch + 1) / cfg.theta_warmup) if cfg.theta_warmup > 0 else 1.0
    return cfg.theta_x * frac, cfg.theta_h * frac


def build_model(cfg: TrainConfig, input_size: int, metadata: dict[str, Any]) -> SequenceModel:
    """A fresh dense model (phase 1) seeded with ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    rnn = DenseGRU(input_size, cfg.hidden_size, cfg.num_layers)
    representable_(rnn)
    head = nn.Linear(cfg.hidden_size, cfg.num_outputs)
    return SequenceModel(rnn, head, cfg.task, metadata)


def start_from(model: SequenceModel, init: SequenceModel) -> None:
    """Copy a trained dense model's GRU and head into ``model`` (the dense phase's start).

    ``init`` is a dense float model as :func:`train` saves it (``dense.pt``) of the same
    task and shape. A regression head folded into the targets' units
    (:func:`~edgedrnn.train.datasets.fold_target_normalization`) is unfolded with its own
    statistics first, so it predicts normalised targets again, as the training loss expects.

    Raises
    ------
    ValueError
        ``init`` is a DeltaGRU, or its task, input size, layers, hidden size or outputs are
        not ``model``'s.
    """
    if init.is_delta:
        raise ValueError(
            "--init takes a dense float model (OUT/dense.pt of an earlier run), not a DeltaGRU "
            "(model.pt); a DeltaGRU run continues with --resume"
        )
    mine, theirs = _shape(model), _shape(init)
    if mine != theirs:
        diff = ", ".join(
            f"{k} {theirs[k]} (this run: {mine[k]})" for k in mine if mine[k] != theirs[k]
        )
        raise ValueError(f"--init model does not match this run: {diff}")
    head = {k: v.detach().clone() for k, v in init.head.state_dict().items()}
    stored = init.metadata.get("target_normalization")
    if stored and stored.get("folded"):  # W = W' / std, b = (b' - mean) / std
        std = torch.as_tensor(stored["std"], dtype=head["weight"].dtype)
        mean = torch.as_tensor(stored["mean"], dtype=head["weight"].dtype)
        head["weight"] = head["weight"] / std[:, None]
        head["bias"] = (head["bias"] - mean) / std
    with torch.no_grad():
        model.rnn.load_state_dict(init.rnn.state_dict())
        model.head.load_state_dict(head)
    representable_(model.rnn)


def _shape(model: SequenceModel) -> dict[str, Any]:
    rnn = model.rnn
    return {
        "task": model.task,
        "inputs": int(rnn.input_size),
        "layers": int(rnn.num_layers),
        "hidden": int(rnn.hidden_size),
        "outputs": int(model.head.out_features),
    }


def sparsity_schedule(cfg: TrainConfig, epoch: int) -> float:
    """γ of the gradual prune at the start of dense epoch ``epoch`` (0 before the first)."""
    epochs = max(cfg.dense_epochs, 1)
    return cfg.weight_sparsity * (1.0 - (1.0 - min(epoch, epochs) / epochs) ** 3)


def hardware(cfg: TrainConfig) -> HardwareConfig:
    """The accelerator the trained model is compiled for."""
    return HardwareConfig(num_pe=cfg.num_pe, sparse_weights=cfg.weight_sparsity > 0)


def _masks_payload(masks) -> list[list[torch.Tensor]] | None:
    return None if masks is None else [[m_ih.cpu(), m_hh.cpu()] for m_ih, m_hh in masks]


def to_delta(model: SequenceModel, cfg: TrainConfig) -> SequenceModel:
    """Phase change: the dense core becomes a DeltaGRU with Θ and (optionally) QAT."""
    from ..model import DeltaGRU

    gru = model.rnn.to_gru() if isinstance(model.rnn, DenseGRU) else model.rnn
    rnn = DeltaGRU.from_gru(gru, theta_x=cfg.theta_x, theta_h=cfg.theta_h, quantized=cfg.quantize)
    representable_(rnn)  # a dense model trained before the folded biases were kept inside
    return SequenceModel(rnn, model.head, model.task, model.metadata)


@torch.no_grad()
def infer(
    model: SequenceModel,
    data: Sequence[Sample],
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    bars: Bars | None = None,
    description: str = "eval",
) -> dict[str, Any]:
    """Run ``model`` (eval mode) over ``data``.

    Returns ``predictions`` (host-side decoding), ``outputs`` (the core's outputs per
    sequence, float (T, H)), ``overflow`` (whether a quantized DeltaGRU saturated anywhere)
    and, for a DeltaGRU, ``nonzero``: per sequence an int array (T, L, 2) of deltas passed
    on per step and layer.
    """
    model.eval()
    model.to(device)
    n = len(data)
    preds: list[Any] = [None] * n
    outs: list[np.ndarray | None] = [None] * n
    nz: list[np.ndarray | None] = [None] * n
    overflow = False
    order = batches([len(x) for x, _ in data], batch_size, None)
    task = bars.add(description, len(order)) if bars else None
    for idx in order:
        b = collate([data[i] for i in idx], model.task).to(device)
        feats = model.features(b.x)
        scores = model.head(feats)
        p = model.predict(scores, b.lengths)
        for j, i in enumerate(idx):
            t = int(b.lengths[j])
            preds[i] = p[j]
            outs[i] = feats[j, :t].detach().cpu().numpy()
            if model.is_delta:
                nz[i] = model.rnn.last_nonzero[j, :t].numpy()
        overflow = overflow or bool(getattr(model.rnn, "last_overflow", False))
        if bars:
            bars.update(task)
    if bars:
        bars.remove(task)
    return {
        "predictions": preds,
        "outputs": outs,
        "nonzero": nz if model.is_delta else None,
        "overflow": overflow,
    }


def sparsity(model: SequenceModel, nonzero: Sequence[np.ndarray]) -> dict[str, Any]:
    """Temporal sparsity per layer (fraction of Δx, Δh not passed on) over all valid steps."""
    sizes = model.rnn.layer_sizes()
    total = np.concatenate(nonzero, axis=0).astype(np.float64)  # (sum T, L, 2)
    mean = total.mean(axis=0)
    per_layer = [
        {"dx": 1.0 - mean[k, 0] / i, "dh": 1.0 - mean[k, 1] / h} for k, (i, h) in enumerate(sizes)
    ]
    return {"layers": per_layer, "columns_per_step": float(mean.sum())}


def evaluate_split(
    model: SequenceModel, data: Sequence[Sample], cfg: TrainConfig, device, bars=None
) -> dict[str, Any]:
    """Metrics (and sparsity for a DeltaGRU) of ``model`` on ``data``."""
    res = infer(model, data, cfg.eval_batch_size, device, bars, "validate")
    out = score(model.task, res["predictions"], [y for _, y in data])
    if res["nonzero"] is not None:
        out["sparsity"] = sparsity(model, res["nonzero"])
    return out


def _step_loss(
    model: SequenceModel, batch, cfg: TrainConfig, gen: torch.Generator | None = None
) -> tuple[torch.Tensor, float]:
    x = batch.x
    if cfg.input_noise > 0:  # Gaussian noise on the (normalised) inputs: augmentation
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        x = x + cfg.input_noise * noise
    feats = model.features(x)
    if cfg.dropout > 0:  # on the core's outputs, before the host-side head
        keep = torch.rand(feats.shape, generator=gen, dtype=feats.dtype).to(feats.device)
        feats = feats * (keep >= cfg.dropout).to(feats.dtype) / (1.0 - cfg.dropout)
    scores = model.head(feats)
    loss = model.loss(scores, batch)
    task_loss = float(loss.detach())
    if cfg.l1_delta > 0 and model.is_delta:
        # Mean over the batch of Σ_t Σ_layers |Δh|, per step: comparable across phases.
        l1 = model.rnn.last_delta_l1 / batch.x.shape[1]
        loss = loss + cfg.l1_delta * l1
    return loss, task_loss


def train(
    cfg: TrainConfig,
    train_set: Sequence[Sample],
    val_set: Sequence[Sample],
    out_dir: str | Path,
    metadata: dict[str, Any] | None = None,
    resume: bool = False,
    progress: bool = True,
    max_epochs: int | None = None,
    init: SequenceModel | None = None,
) -> SequenceModel | None:
    """Train with the two-phase recipe; returns the final (delta, QAT) model.

    Writes ``out_dir/last.pt`` (checkpoint after every epoch), ``out_dir/log.jsonl`` (one
    JSON record per epoch), ``out_dir/dense.pt`` (the dense float GRU at the end of the dense
    phase, the float baseline of evaluation; none with ``dense_epochs=0``) and, at the end,
    ``out_dir/model.pt`` (+ ``model.edrnn``, the compiled Program, when the final model is
    quantized).

    ``max_epochs`` stops this call after that many epochs (returning None); a later call
    with ``resume=True`` continues where it stopped, exactly as if never interrupted.

    ``init``, a dense float model of the same shape (an earlier run's ``dense.pt``), is the
    dense phase's starting point instead of a fresh initialisation (:func:`start_from`);
    record its file in ``cfg.init``. A resumed run ignores it (the checkpoint has the
    weights).
    """
    from ..compiler import compile as compile_program

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    if device.type == "cpu" and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    log = JsonLog(out_dir / "log.jsonl")
    ckpt_path = out_dir / "last.pt"
    input_size = int(train_set[0][0].shape[1])
    meta = dict(metadata or {})
    meta["train_config"] = asdict(cfg)

    phase, epoch = "dense", 0
    model = build_model(cfg, input_size, meta)
    if init is not None and not (resume and ckpt_path.exists()):
        start_from(model, init)
    opt_state = None
    masks = None  # pruning masks (weight_sparsity > 0), applied after every optimizer step
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        model = model_from_payload(ck["model"])
        phase, epoch, opt_state = ck["phase"], int(ck["epoch"]), ck.get("optimizer")
        masks = ck.get("masks")
        if phase == "delta":  # this run's Θ and QAT setting, as its log and metadata say
            model.rnn.set_thresholds(theta_x=cfg.theta_x, theta_h=cfg.theta_h)
            model.rnn.quantized = cfg.quantize
    elif not resume and log.path.exists():
        log.path.unlink()
    if not resume:  # an earlier run's float baseline is not this run's
        (out_dir / DENSE_FILE).unlink(missing_ok=True)
    if cfg.dense_epochs == 0 and phase == "dense":
        phase, epoch, opt_state = "delta", 0, None
        model = to_delta(model, cfg)
        if cfg.weight_sparsity > 0:
            masks = prune(model.rnn, cfg.weight_sparsity, hardware(cfg))

    lengths = [len(x) for x, _ in train_set]
    done_here = 0
    with Bars(progress) as bars:
        while phase in PHASES:
            epochs = cfg.dense_epochs if phase == "dense" else cfg.delta_epochs
            base_lr = cfg.lr if phase == "dense" else cfg.delta_lr
            model.to(device)
            opt = torch.optim.Adam(model.parameters(), lr=base_lr)
            if opt_state is not None:
                opt.load_state_dict(opt_state)
                opt_state = None
            while epoch < epochs:
                if max_epochs is not None and done_here >= max_epochs:
                    return None
                if phase == "dense" and cfg.weight_sparsity > 0 and epoch > 0:
                    masks = prune(model.rnn, sparsity_schedule(cfg, epoch), hardware(cfg))
                lr = _lr(base_lr, epoch, epochs)
                for g in opt.param_groups:
                    g["lr"] = lr
                if phase == "delta":
                    model.rnn.set_thresholds(*thresholds_at(cfg, epoch))
                model.train()
                t0 = time.time()
                bsz = cfg.batch_size if phase == "dense" else cfg.delta_batch_size
                order = batches(lengths, bsz, (cfg.seed, PHASES.index(phase), epoch))
                # noise and dropout masks: also a function of (seed, phase, epoch) only
                seq = np.random.SeedSequence((cfg.seed, PHASES.index(phase), epoch))
                gen = torch.Generator().manual_seed(int(seq.generate_state(1, np.uint64)[0] >> 1))
                task = bars.add(f"{phase} {epoch + 1}/{epochs}", len(order))
                losses = []
                for idx in order:
                    batch = collate([train_set[i] for i in idx], model.task).to(device)
                    loss, task_loss = _step_loss(model, batch, cfg, gen)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip > 0:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    representable_(model.rnn)  # weights and folded biases in Q1.7
                    if masks is not None:
                        apply_masks(model.rnn, masks)
                    losses.append(task_loss)
                    bars.update(task, info=f"loss {np.mean(losses[-20:]):.3f}")
                bars.remove(task)
                train_s = time.time() - t0
                val = evaluate_split(model, val_set, cfg, device, bars)
                epoch += 1
                rec = {
                    "phase": phase,
                    "epoch": epoch,
                    "epochs": epochs,
                    "lr": lr,
                    "train_loss": float(np.mean(losses)),
                    "val": val,
                    "train_seconds": round(train_s, 2),
                    "seconds": round(time.time() - t0, 2),
                }
                if phase == "delta":
                    rec["theta_x"], rec["theta_h"] = thresholds_at(cfg, epoch - 1)
                log.write(rec)
                name = metric_name(model.task)
                sp = val.get("sparsity")
                extra = (
                    " sparsity Δh " + "/".join(f"{lay['dh']:.2f}" for lay in sp["layers"])
                    if sp
                    else ""
                )
                bars.print(
                    f"{phase} epoch {epoch}/{epochs}: loss {rec['train_loss']:.4f}  "
                    f"val {name} {val[name]:.3f}{extra}  ({rec['seconds']:.0f} s)"
                )
                save_checkpoint(
                    ckpt_path,
                    model.cpu(),
                    phase=phase,
                    epoch=epoch,
                    optimizer=opt.state_dict(),
                    masks=_masks_payload(masks),
                )
                model.to(device)
                done_here += 1
            # next phase
            if phase == "dense":
                if cfg.weight_sparsity > 0:  # the hard prune: this mask stays from here on
                    masks = prune(model.rnn.cpu(), cfg.weight_sparsity, hardware(cfg))
                save_model(model.cpu().eval(), out_dir / DENSE_FILE)  # the float baseline
                model = to_delta(model.cpu(), cfg)
                phase, epoch = "delta", 0
                save_checkpoint(
                    ckpt_path,
                    model,
                    phase=phase,
                    epoch=0,
                    optimizer=None,
                    masks=_masks_payload(masks),
                )
            else:  # the model keeps the configured Θ, whatever the warm-up
                model.rnn.set_thresholds(theta_x=cfg.theta_x, theta_h=cfg.theta_h)
                phase = "done"
    model = model.cpu().eval()
    program = None
    if model.is_delta and model.rnn.quantized:
        program = compile_program(model.rnn, hardware(cfg))
    save_model(model, out_dir / "model.pt", program)
    return model


def valid_steps(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    """Alias of :func:`edgedrnn.train.heads.valid_mask` (kept for users' scripts)."""
    return valid_mask(lengths, t_max)
