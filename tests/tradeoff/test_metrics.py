"""Task metrics: RMSE and MAE per target in the targets' own units; WER and accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn.tradeoff import task_metrics


def test_regression_overall_and_per_target():
    preds = [np.array([[1.0, 10.0], [2.0, 20.0]]), np.array([[0.0, 0.0]])]
    targets = [np.array([[1.0, 14.0], [4.0, 20.0]]), np.array([[1.0, -2.0]])]
    meta = {"data": {"csv": {"targets": ["hip", "knee"]}}}
    m = task_metrics("regress", preds, targets, meta)
    err = np.array([[0.0, -4.0], [-2.0, 0.0], [-1.0, 2.0]])
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(err)))
    hip, knee = m["per_target"]
    assert hip["name"] == "hip" and knee["name"] == "knee"
    assert hip["rmse"] == pytest.approx(np.sqrt(5 / 3)) and hip["mae"] == pytest.approx(1.0)
    assert knee["rmse"] == pytest.approx(np.sqrt(20 / 3)) and knee["mae"] == pytest.approx(2.0)
    # 1-D targets per step and no names
    one = task_metrics("regress", [np.array([[1.0], [3.0]])], [np.array([0.0, 0.0])])
    assert one["per_target"][0]["name"] == "y0" and one["mae"] == pytest.approx(2.0)


def test_unfolded_target_statistics_are_undone():
    """A head still predicting normalised targets is scored in the targets' units."""
    rng = np.random.default_rng(0)
    mean, std = np.array([100.0, -5.0]), np.array([20.0, 0.5])
    raw_t = [rng.normal(mean, std, (7, 2)) for _ in range(3)]
    raw_p = [t + rng.normal(0, 1, t.shape) for t in raw_t]
    norm_t = [(t - mean) / std for t in raw_t]
    norm_p = [(p - mean) / std for p in raw_p]
    stats = {"mean": mean.tolist(), "std": std.tolist()}
    in_units = task_metrics(
        "regress", raw_p, raw_t, {"target_normalization": {**stats, "folded": True}}
    )
    undone = task_metrics("regress", norm_p, norm_t, {"target_normalization": stats})
    assert undone["rmse"] == pytest.approx(in_units["rmse"], rel=1e-5)
    for a, b in zip(undone["per_target"], in_units["per_target"], strict=True):
        assert a["rmse"] == pytest.approx(b["rmse"], rel=1e-5)
        assert a["mae"] == pytest.approx(b["mae"], rel=1e-5)


def test_classification_and_ctc():
    m = task_metrics("classify", [0, 1, 2, 2], [0, 1, 1, 2])
    assert m == {"accuracy": 75.0, "error": 25.0}
    assert task_metrics("ctc", [[1, 2], [3]], [[1, 2], [4]])["wer"] == pytest.approx(100 / 3)


def test_split_metrics_scores_folded_and_unfolded_heads_alike():
    """train's test report: the final model's head may still predict normalised targets
    while a dense.pt from an earlier, finished run has the statistics folded in."""
    import copy

    import torch
    from torch import nn

    from edgedrnn.tradeoff import split_metrics
    from edgedrnn.train.datasets import fold_target_normalization
    from edgedrnn.train.dense import DenseGRU
    from edgedrnn.train.heads import SequenceModel

    torch.manual_seed(0)
    meta = {"target_normalization": {"mean": [50.0, -1.0], "std": [10.0, 0.5]}}
    dense = SequenceModel(DenseGRU(3, 8, 1), nn.Linear(8, 2), "regress", meta)
    rng = np.random.default_rng(0)
    samples = [(rng.normal(0, 1, (6, 3)).astype(np.float32), rng.normal(0, 1, (6, 2)))]
    unfolded = split_metrics(dense, samples, copy.deepcopy(dense))
    folded = copy.deepcopy(dense)
    assert fold_target_normalization(folded)
    mixed = split_metrics(dense, samples, folded)
    assert mixed["dense"]["rmse"] == pytest.approx(unfolded["dense"]["rmse"], rel=1e-5)
    assert mixed["dense"]["rmse"] == pytest.approx(mixed["model"]["rmse"], rel=1e-5)
    assert mixed["model"]["rmse"] > 1.0  # in units: the std of 10 shows
