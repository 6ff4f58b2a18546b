"""Training with ``weight_sparsity`` (``--weight-sparsity``): the gradual schedule, the hard
prune's exact balanced count, the fixed mask through the delta/QAT phase and checkpoints,
resume, and the sparse Program it compiles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import edgedrnn
from edgedrnn.sparse.image import lane_rows
from edgedrnn.sparse.pruning import balanced_slots, kept_counts
from edgedrnn.train import TrainConfig, train
from edgedrnn.train.recipe import hardware, sparsity_schedule
from edgedrnn.train.synthetic import make_task
from training import tiny_config

GAMMA, PE, HIDDEN = 0.75, 4, 16


def _cfg(**kw) -> TrainConfig:
    base = dict(hidden_size=HIDDEN, delta_lr=1e-3, weight_sparsity=GAMMA, num_pe=PE, seed=2)
    base.update(kw)
    return tiny_config("regress", **base)


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("pruned")
    tr, va = make_task("regress", 32, seed=0), make_task("regress", 8, seed=1)
    model = train(_cfg(), tr, va, out, progress=False)
    return model, tr, va, out


def test_schedule_goes_from_dense_to_gamma():
    cfg = _cfg(dense_epochs=4)
    steps = [sparsity_schedule(cfg, e) for e in range(5)]
    assert steps[0] == 0.0 and steps[-1] == GAMMA
    assert all(a < b for a, b in itertools.pairwise(steps))


def test_trained_model_is_balanced_and_compiles_sparse(pruned_run):
    model, tr, _, out = pruned_run
    hw = hardware(_cfg())
    n = balanced_slots(GAMMA, HIDDEN, PE)
    want = np.minimum(n, lane_rows(HIDDEN, PE))
    for counts in kept_counts(model.rnn, hw):
        assert np.array_equal(counts, np.broadcast_to(want, counts.shape))
    prog = edgedrnn.Program.load(out / "model.edrnn")
    assert prog.hw.sparse_weights and [lay.slots for lay in prog.layers] == [n, n]
    x = np.clip(np.rint(np.asarray(tr[0][0]) * 256), -32768, 32767).astype(np.int16)
    ref = edgedrnn.run(prog, x, backend="reference")
    for backend in ("torch", "cpu"):
        got = edgedrnn.run(prog, x, backend=backend)
        assert np.array_equal(got.outputs_q, ref.outputs_q)


def test_mask_is_fixed_through_the_delta_phase_and_stored(pruned_run):
    model, _, _, out = pruned_run
    ck = torch.load(out / "last.pt", weights_only=True)
    assert ck["phase"] == "delta" and len(ck["masks"]) == 2
    for k, (m_ih, m_hh) in enumerate(ck["masks"]):
        w_ih = getattr(model.rnn, f"weight_ih_l{k}").detach()
        w_hh = getattr(model.rnn, f"weight_hh_l{k}").detach()
        assert torch.equal(w_ih != 0, m_ih) and torch.equal(w_hh != 0, m_hh)


def test_resume_with_masks_is_exact(tmp_path):
    torch.set_num_threads(1)
    tr, va = make_task("regress", 16, seed=0), make_task("regress", 4, seed=1)
    cfg = _cfg(dense_epochs=2, delta_epochs=1)
    full = train(cfg, tr, va, tmp_path / "full", progress=False)
    assert train(cfg, tr, va, tmp_path / "part", progress=False, max_epochs=2) is None
    resumed = train(cfg, tr, va, tmp_path / "part", progress=False, resume=True)
    for (n1, p1), (n2, p2) in zip(
        full.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert n1 == n2 and torch.equal(p1, p2), n1
