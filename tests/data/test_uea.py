"""aeon's real data sets, read from the files aeon ships (no network): shapes, the archive's
split, the validation split carved from train, labels; a clear error without aeon."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest

from edgedrnn.data import uea
from edgedrnn.data.csv_table import lowpass
from edgedrnn.support.extras import MissingExtraError

AXES = ("horiz_fwd", "vert", "horiz_lateral")


def test_missing_aeon_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'edgedrnn\[uea\]'"):
        uea.load("japanese-vowels")


aeon = pytest.importorskip("aeon", reason="needs aeon (pip install 'edgedrnn[uea]')")


def test_japanese_vowels_keeps_the_archive_split_and_unequal_lengths():
    x, y = uea.read_split("japanese-vowels", "train")
    assert len(x) == 270 and Counter(y.tolist()) == dict.fromkeys("123456789", 30)
    x_test, y_test = uea.read_split("japanese-vowels", "test")
    assert len(x_test) == 370 and sorted(set(y_test.tolist())) == list("123456789")
    lengths = [len(a) for a in x + x_test]
    assert min(lengths) == 7 and max(lengths) == 29
    assert all(a.dtype == np.float32 and a.shape[1] == 12 for a in x + x_test)

    d = uea.load("japanese-vowels", val_fraction=0.1, seed=0)
    assert d.classes == list("123456789") and d.input_size == 12
    assert (len(d.train), len(d.val), len(d.test)) == (243, 27, 370)
    assert Counter(y for _, y in d.val) == dict.fromkeys(range(9), 3)  # stratified
    # validation series come from the training file only, none twice
    train_ids = {a.tobytes() for a in x}
    assert all(a.tobytes() in train_ids for a, _ in d.train + d.val)
    assert len({a.tobytes() for a, _ in d.train + d.val}) == 270
    # the seed chooses the validation series
    other = uea.load("japanese-vowels", seed=1)
    assert {a.tobytes() for a, _ in other.val} != {a.tobytes() for a, _ in d.val}
    assert [a.tobytes() for a, _ in other.test] == [a.tobytes() for a, _ in d.test]


def test_basic_motions():
    d = uea.load("basic-motions")
    assert d.classes == ["badminton", "running", "standing", "walking"]
    assert (len(d.train), len(d.val), len(d.test)) == (36, 4, 40)
    assert all(x.shape == (100, 6) for x, _ in d.train + d.val + d.test)
    assert Counter(y for _, y in d.test) == dict.fromkeys(range(4), 10)
    assert Counter(y for _, y in d.val) == dict.fromkeys(range(4), 1)


def test_daphnet_gait_is_a_per_frame_regression_in_time_order():
    d = uea.gait()
    assert d.rows == (4928, 1056, 1056)  # 7040 frames at 64 Hz
    spec = uea.DAPHNET_SPEC
    assert spec.inputs == tuple(f"{p}_{a}" for p in ("ankle", "trunk") for a in AXES)
    assert spec.targets == tuple(f"leg_{a}" for a in AXES)  # the thigh, below 2 Hz
    assert spec.target_lowpass == 2 / 64
    assert len(d.train) == (4928 - 256) // 64 + 1  # every 64 frames, the last ends at 4928
    assert [len(x) for x, _ in d.test] == [256, 256, 256, 256, 32]
    x, y = d.train[0]
    assert x.shape == (256, 6) and y.shape == (256, 3)
    frames = np.concatenate([x for x, _ in d.train[::4]])  # non-overlapping windows
    assert np.all(np.abs(frames.mean(axis=0)) < 0.1)
    # the recording has no freeze episode: the detection label is 0 throughout
    raw = np.genfromtxt(uea.data_folder() / uea.DAPHNET_FILE, delimiter=",", names=True)
    assert raw["is_anomaly"].max() == 0
    # targets: the thigh's raw columns filtered over the whole recording, in mg
    units = uea.gait(normalize_targets=False)
    thigh = np.stack([raw[f"leg_{a}"] for a in AXES], axis=1)
    assert np.allclose(units.table.targets, lowpass(thigh, 2 / 64))
    assert np.allclose(np.concatenate([y for _, y in units.test]), units.table.targets[-1056:])
    assert np.array_equal(units.table.inputs[:, 3], raw["trunk_horiz_fwd"])
    # learnable: a causal linear model on the last 0.5 s of inputs (least squares on the
    # training rows) beats predicting the training mean clearly on the test rows
    x = (units.table.inputs - units.table.inputs[:4928].mean(0)) / units.table.inputs[:4928].std(0)
    lags = [np.concatenate([np.zeros((k, 6)), x[: len(x) - k]]) for k in range(0, 33, 2)]
    features = np.concatenate([*lags, np.ones((len(x), 1))], axis=1)
    y = units.table.targets
    w = np.linalg.lstsq(features[:4928], y[:4928], rcond=None)[0]
    rmse = np.sqrt(np.mean((features[-1056:] @ w - y[-1056:]) ** 2))
    mean = np.sqrt(np.mean((y[-1056:] - y[:4928].mean(0)) ** 2))
    assert mean == pytest.approx(188.15, abs=0.01)  # mg, docs/tradeoff.md
    assert rmse < 0.6 * mean


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown UEA data set 'gunpoint'"):
        uea.read_split("gunpoint", "train")
    with pytest.raises(ValueError, match="split must be train or test"):
        uea.read_split("basic-motions", "val")
