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
