"""Training data: users' .npz files normalised with training statistics, evaluation data
prepared the same way, synthetic tasks, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn.data import Normalization, SequenceDataset
from edgedrnn.train.datasets import evaluation_data, load_task_data


@pytest.fixture
def npz_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    for name, n in (("train", 20), ("test", 6)):
        feats = [rng.normal(5.0, 3.0, (int(rng.integers(4, 9)), 3)) for _ in range(n)]
        ds = SequenceDataset(feats, [int(rng.integers(0, 3)) for _ in feats], kind="sequence")
        ds.save_npz(tmp_path / f"{name}.npz")
        paths[name] = tmp_path / f"{name}.npz"
    return paths


def test_npz_data_is_normalised_with_training_statistics(npz_files):
    data = load_task_data(str(npz_files["train"]), test=str(npz_files["test"]), seed=0)
    assert data.task == "classify" and data.num_outputs <= 3
    assert len(data.train) + len(data.val) == 20 and len(data.test) == 6
    frames = np.concatenate([x for x, _ in data.train])
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-5)
    norm = Normalization.from_dict(data.metadata["normalization"])
    assert norm is not None and norm.mean.shape == (3,)


def test_evaluation_data_prepares_inputs_as_training_did(npz_files):
    data = load_task_data(str(npz_files["train"]), test=str(npz_files["test"]), seed=0)
    again = evaluation_data(data.metadata, str(npz_files["test"]))
    assert len(again) == len(data.test)
    for (a, ya), (b, yb) in zip(again, data.test, strict=True):
        np.testing.assert_array_equal(a, b)
        assert ya == yb


def test_synthetic_data_and_unknown_sources():
    data = load_task_data("synthetic-ctc", seed=1)
    assert data.task == "ctc" and data.metadata["vocabulary"][0] == "<blank>"
    assert evaluation_data(data.metadata)[0][0].shape == data.test[0][0].shape
    with pytest.raises(ValueError, match="unknown data source"):
        load_task_data("mnist")


@pytest.fixture
def gait_csv(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(400)
    cols = {"a": np.sin(t / 7) * 30 + 5, "b": rng.normal(100, 20, 400), "y1": t * 0.5, "y2": -t}
    path = tmp_path / "g.csv"
    table = np.stack(list(cols.values()), axis=1)
    np.savetxt(path, table, delimiter=",", header=",".join(cols), comments="", fmt="%.5f")
    return path


def test_csv_data_normalises_inputs_and_targets_with_training_rows(gait_csv):
    from edgedrnn.data.csv_table import CsvSpec

    spec = CsvSpec(inputs=("a", "b"), targets=("y1", "y2"), window=50, stride=25)
    data = load_task_data(str(gait_csv), csv=spec)
    assert data.task == "regress" and data.num_outputs == 2
    assert data.metadata["data"]["csv"] == spec.to_dict()
    assert data.metadata["data"]["rows"] == [280, 60, 60]
    tn = data.metadata["target_normalization"]
    np.testing.assert_allclose(tn["mean"], [0.5 * 139.5, -139.5], rtol=1e-5)  # rows 0..279
    # evaluation: the same test windows; targets raw once the head predicts in their units
    test = evaluation_data(data.metadata, str(gait_csv))
    assert [len(x) for x, _ in test] == [len(x) for x, _ in data.test] == [50, 10]
    for (a, ya), (b, yb) in zip(test, data.test, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(ya, yb)  # not folded yet: both normalised
    folded = {**data.metadata, "target_normalization": {**tn, "folded": True}}
    raw = evaluation_data(folded, str(gait_csv))
    np.testing.assert_allclose(raw[0][1][:, 1], -np.arange(340, 390), rtol=1e-5)
    with pytest.raises(ValueError, match="needs its columns and task"):
        load_task_data(str(gait_csv))
    with pytest.raises(ValueError, match="not on a CSV table"):
        evaluation_data({"data": {"source": "synthetic-regress"}}, str(gait_csv))


def test_folding_the_target_statistics_into_the_head():
    import torch
    from torch import nn

    from edgedrnn.train.datasets import fold_target_normalization
    from edgedrnn.train.dense import DenseGRU
    from edgedrnn.train.heads import SequenceModel

    torch.manual_seed(0)
    meta = {"target_normalization": {"mean": [3.0, -1.0], "std": [2.0, 0.5]}}
    model = SequenceModel(DenseGRU(4, 8, 1), nn.Linear(8, 2), "regress", meta)
    x = torch.randn(1, 6, 4)
    before = model(x).detach()
    assert fold_target_normalization(model)
    after = model(x).detach()
    torch.testing.assert_close(after, before * torch.tensor([2.0, 0.5]) + torch.tensor([3.0, -1.0]))
    assert model.metadata["target_normalization"]["folded"]
    assert not fold_target_normalization(model)  # once only
    torch.testing.assert_close(model(x).detach(), after)


def test_uea_data_normalised_with_training_series():
    pytest.importorskip("aeon", reason="needs aeon (pip install 'edgedrnn[uea]')")
    data = load_task_data("basic-motions", seed=0)
    assert data.task == "classify" and data.num_outputs == 4
    assert data.metadata["classes"] == ["badminton", "running", "standing", "walking"]
    assert (len(data.train), len(data.val), len(data.test)) == (36, 4, 40)
    frames = np.concatenate([x for x, _ in data.train])
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-4)
    test = evaluation_data(data.metadata, "basic-motions")
    for (a, ya), (b, yb) in zip(test, data.test, strict=True):
        np.testing.assert_array_equal(a, b)
        assert ya == yb


def test_npz_regression_targets_normalised_with_training_statistics(tmp_path):
    """Targets in their own units (here ~1000 N·m) are scaled like the inputs, with the
    training split's statistics, stored with the model; evaluation data follows the head."""
    rng = np.random.default_rng(0)
    paths = {}
    for name, n in (("train", 30), ("test", 5)):
        feats = [rng.normal(0, 1, (int(rng.integers(5, 9)), 3)) for _ in range(n)]
        targets = [rng.normal([1000.0, -3.0], [50.0, 0.1], (len(f), 2)) for f in feats]
        SequenceDataset(feats, targets, kind="regression").save_npz(tmp_path / f"{name}.npz")
        paths[name] = str(tmp_path / f"{name}.npz")
    data = load_task_data(paths["train"], test=paths["test"], seed=0)
    assert data.task == "regress" and data.num_outputs == 2
    stats = data.metadata["target_normalization"]
    assert not stats.get("folded") and stats["mean"][0] == pytest.approx(1000.0, rel=0.01)
    assert data.metadata["data"]["test"] == paths["test"]
    rows = np.concatenate([y for _, y in data.train])
    np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(rows.std(axis=0), 1.0, atol=1e-3)
    assert len(data.test) == 5 and abs(np.concatenate([y for _, y in data.test])).max() < 10
    # evaluation data: normalised targets for a head that predicts them, raw once folded
    again = evaluation_data(data.metadata, paths["test"])
    np.testing.assert_allclose(again[0][1], data.test[0][1], rtol=1e-5, atol=1e-5)
    folded = {**data.metadata, "target_normalization": {**stats, "folded": True}}
    raw = evaluation_data(folded, paths["test"])
    assert raw[0][1].mean() > 400  # N·m
    # no --test file: no test split (the validation split is not reported as test)
    assert load_task_data(paths["train"], seed=0).test == []
