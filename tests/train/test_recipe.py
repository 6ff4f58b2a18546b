"""The training recipe (:mod:`edgedrnn.train.recipe`): it learns, QAT equals the reference,
resume is exact."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import edgedrnn
from edgedrnn.train import TrainConfig, infer, load_model, train
from edgedrnn.train.heads import score
from edgedrnn.train.recipe import DELTA_BATCH_SIZE, MIN_DELTA_STEPS, auto_delta_batch_size
from edgedrnn.train.synthetic import make_task
from training import tiny_config


def _cfg(task: str, **kw) -> TrainConfig:
    base = dict(dense_epochs=4, delta_lr=1e-3)
    base.update(kw)
    return tiny_config(task, **base)


@pytest.fixture(scope="module")
def regress_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("regress")
    tr, va = make_task("regress", 96, seed=0), make_task("regress", 24, seed=1)
    cfg = _cfg("regress", l1_delta=1e-3)
    model = train(cfg, tr, va, out, progress=False)
    return model, cfg, tr, va, out


def test_training_measurably_learns(regress_run):
    model, cfg, _, va, out = regress_run
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in log] == ["dense"] * 4 + ["delta"]
    # Validation RMSE of the trained (delta, quantized) model vs the same net untrained.
    from edgedrnn.train.recipe import build_model, to_delta

    untrained = to_delta(build_model(cfg, va[0][0].shape[1], {}), cfg)
    targets = [y for _, y in va]
    before = score("regress", infer(untrained, va)["predictions"], targets)["rmse"]
    after = score("regress", infer(model, va)["predictions"], targets)["rmse"]
    assert after < 0.5 * before
    assert log[-1]["train_loss"] < 0.5 * log[0]["train_loss"]
    assert log[-1]["val"]["rmse"] == pytest.approx(after, rel=1e-6)
    assert 0.0 <= log[-1]["val"]["sparsity"]["layers"][0]["dh"] <= 1.0


def test_qat_model_equals_reference_and_torch_backends(regress_run):
    model, _, _, va, out = regress_run
    rnn = model.rnn
    assert rnn.quantized and rnn.theta_x == [0.05, 0.05]
    program = edgedrnn.compile(rnn)
    for x, _ in va[:3]:
        with torch.no_grad():
            y, _ = rnn.eval()(torch.as_tensor(x)[None])
        own = np.rint(y[0].double().numpy() * 256).astype(np.int16)
        own_nz = rnn.last_nonzero[0].numpy()
        ref = edgedrnn.run(program, x, backend="reference")
        tor = edgedrnn.run(program, x, backend="torch")
        assert np.array_equal(ref.outputs_q, own)
        assert np.array_equal(ref.nonzero, own_nz)
        assert ref.same_as(tor)
        assert own_nz.sum() > 0
    # The saved model (head + Program) reloads to the same network.
    loaded = load_model(out / "model.pt")
    x = torch.as_tensor(va[0][0])[None]
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_classification_and_ctc_heads_train(tmp_path):
    torch.set_num_threads(1)
    tr = make_task("classify", 64, seed=0)
    tr = [
        (x + np.random.default_rng(i).normal(0, 1.0, x.shape).astype(np.float32), y)
        for i, (x, y) in enumerate(tr)
    ]
    va = make_task("classify", 32, seed=1)
    m = train(_cfg("classify", dense_epochs=3), tr, va, tmp_path / "c", progress=False)
    acc = score("classify", infer(m, va)["predictions"], [y for _, y in va])["accuracy"]
    assert acc > 50.0  # 4 classes: chance is 25 %
    tr, va = make_task("ctc", 48, seed=0), make_task("ctc", 8, seed=1)
    cfg = _cfg("ctc", dense_epochs=3, delta_epochs=1)
    train(cfg, tr, va, tmp_path / "ctc", progress=False)
    log = [json.loads(x) for x in (tmp_path / "ctc" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    assert "wer" in log[-1]["val"]


@pytest.mark.parametrize(
    "extra",
    [{}, {"input_noise": 0.3, "dropout": 0.2, "theta_warmup": 2, "delta_epochs": 2}],
    ids=["plain", "noise-dropout-warmup"],
)
def test_resume_is_exact(tmp_path, extra):
    torch.set_num_threads(1)
    tr, va = make_task("regress", 32, seed=0), make_task("regress", 8, seed=1)
    cfg = _cfg("regress", **{"dense_epochs": 2, "delta_epochs": 1, "seed": 3, **extra})
    full = train(cfg, tr, va, tmp_path / "full", progress=False)
    assert train(cfg, tr, va, tmp_path / "part", progress=False, max_epochs=1) is None
    assert train(cfg, tr, va, tmp_path / "part", progress=False, resume=True, max_epochs=1) is None
    resumed = train(cfg, tr, va, tmp_path / "part", progress=False, resume=True)
    for (n1, p1), (n2, p2) in zip(
        full.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert n1 == n2 and torch.equal(p1, p2), n1
    logs = [(tmp_path / d / "log.jsonl").read_text().splitlines() for d in ("full", "part")]
    strip = [
        [{k: v for k, v in json.loads(x).items() if "seconds" not in k and k != "time"} for x in lg]
        for lg in logs
    ]
    assert strip[0] == strip[1]
    # Checkpoints load with weights_only=True.
    torch.load(tmp_path / "part" / "last.pt", weights_only=True)


def test_seed_controls_initialisation(tmp_path):
    tr, va = make_task("regress", 16, seed=0), make_task("regress", 4, seed=1)
    a = train(
        _cfg("regress", dense_epochs=1, delta_epochs=0, seed=1),
        tr,
        va,
        tmp_path / "a",
        progress=False,
    )
    b = train(
        _cfg("regress", dense_epochs=1, delta_epochs=0, seed=2),
        tr,
        va,
        tmp_path / "b",
        progress=False,
    )
    assert not torch.equal(a.rnn.weight_hh_l0, b.rnn.weight_hh_l0)


def test_resume_takes_the_new_thresholds(tmp_path):
    """A delta phase resumed with other Θ trains with them (and logs what it trains with)."""
    torch.set_num_threads(1)
    tr, va = make_task("regress", 16, seed=0), make_task("regress", 4, seed=1)
    first = _cfg("regress", dense_epochs=1, delta_epochs=2, seed=3)
    assert train(first, tr, va, tmp_path, progress=False, max_epochs=2) is None  # 1 delta epoch
    second = dataclasses.replace(first, theta_x=0.3, theta_h=0.25)
    model = train(second, tr, va, tmp_path, progress=False, resume=True)
    assert model.rnn.theta_x == [0.3] * second.num_layers
    assert model.rnn.theta_h == [0.25] * second.num_layers
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert (log[-1]["theta_x"], log[-1]["theta_h"]) == (0.3, 0.25)


def test_threshold_warmup_and_regularisers(tmp_path):
    """``theta_warmup`` raises Θ over the first delta epochs (logged) and ends at Θ; noise
    and dropout change the training (and only it: evaluation is deterministic)."""
    torch.set_num_threads(1)
    tr, va = make_task("regress", 16, seed=0), make_task("regress", 4, seed=1)
    cfg = _cfg("regress", dense_epochs=1, delta_epochs=3, theta_x=0.3, theta_h=0.15)
    warm = train(dataclasses.replace(cfg, theta_warmup=2), tr, va, tmp_path / "w", progress=False)
    log = [json.loads(x) for x in (tmp_path / "w" / "log.jsonl").read_text().splitlines()]
    assert [(r["theta_x"], r["theta_h"]) for r in log if r["phase"] == "delta"] == [
        (0.15, 0.075),
        (0.3, 0.15),
        (0.3, 0.15),
    ]
    assert warm.rnn.theta_x == [0.3, 0.3] and warm.rnn.theta_h == [0.15, 0.15]
    plain = train(cfg, tr, va, tmp_path / "p", progress=False)
    noisy = train(
        dataclasses.replace(cfg, input_noise=0.5, dropout=0.3),
        tr,
        va,
        tmp_path / "n",
        progress=False,
    )
    assert not torch.equal(plain.rnn.weight_hh_l0, noisy.rnn.weight_hh_l0)


def test_init_starts_the_dense_phase_from_a_trained_model(regress_run, tmp_path):
    """--init: the dense phase starts from the given dense model's weights and head (with a
    zero learning rate they come out unchanged); shape mismatches and DeltaGRUs are refused."""
    from edgedrnn.train.datasets import fold_target_normalization
    from edgedrnn.train.recipe import start_from

    _, cfg, tr, va, out = regress_run
    dense = load_model(out / "dense.pt")
    rerun = dataclasses.replace(cfg, dense_epochs=1, delta_epochs=1, lr=0.0, init="dense.pt")
    train(rerun, tr, va, tmp_path / "init", progress=False, init=dense)
    again = load_model(tmp_path / "init" / "dense.pt")
    for (n1, p1), (n2, p2) in zip(
        dense.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert n1 == n2 and torch.equal(p1, p2), n1
    # A head folded into the targets' units is unfolded with its own statistics.
    folded = load_model(out / "dense.pt")
    folded.metadata["target_normalization"] = {"mean": [2.0], "std": [4.0]}
    fold_target_normalization(folded)
    fresh = load_model(out / "dense.pt")
    torch.nn.init.zeros_(fresh.head.weight)
    start_from(fresh, folded)
    assert torch.allclose(fresh.head.weight, dense.head.weight, atol=1e-6)
    assert torch.allclose(fresh.head.bias, dense.head.bias, atol=1e-6)
    wider = load_model(out / "dense.pt")
    with pytest.raises(ValueError, match="hidden 16 .this run: 8."):
        start_from(
            train(
                _cfg("regress", hidden_size=8, dense_epochs=1, delta_epochs=0),
                tr,
                va,
                tmp_path / "h8",
                progress=False,
            ),
            wider,
        )
    with pytest.raises(ValueError, match="not a DeltaGRU"):
        start_from(dense, load_model(out / "model.pt"))


@given(st.integers(1, 100_000))
def test_auto_delta_batch_size_keeps_enough_steps_per_epoch(n):
    bsz = auto_delta_batch_size(n)
    assert 1 <= bsz <= DELTA_BATCH_SIZE
    steps = -(-n // bsz)
    assert steps >= min(MIN_DELTA_STEPS, n)  # one sequence per step on a tiny set
    # the usual batch whenever it already gives enough steps
    assert (bsz == DELTA_BATCH_SIZE) == (n >= DELTA_BATCH_SIZE * MIN_DELTA_STEPS)


def test_auto_delta_batch_size_refuses_an_empty_training_set():
    with pytest.raises(ValueError, match="at least one training sequence"):
        auto_delta_batch_size(0)
