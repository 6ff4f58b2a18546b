"""Per-feature normalisation: statistics, float32 application, the stored form."""

from __future__ import annotations

import json

import numpy as np

from edgedrnn.data import Normalization
from edgedrnn.data.normalization import STD_FLOOR


def test_fit_and_apply_give_zero_mean_unit_variance():
    rng = np.random.default_rng(0)
    feats = [rng.normal(3.0, 2.0, (n, 5)).astype(np.float32) for n in (7, 11, 4)]
    norm = Normalization.fit(feats)
    assert norm.mean.dtype == np.float32 and norm.std.dtype == np.float32
    out = np.concatenate([norm(f) for f in feats])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-4)


def test_constant_feature_uses_the_floor():
    norm = Normalization.fit([np.ones((6, 2), np.float32)])
    np.testing.assert_array_equal(norm.std, np.float32(STD_FLOOR))
    np.testing.assert_array_equal(norm(np.ones((3, 2))), 0.0)


def test_application_is_float32_arithmetic():
    x = np.random.default_rng(1).normal(0, 4, (9, 3)).astype(np.float32)
    norm = Normalization([0.1, -0.2, 0.3], [1.5, 0.7, 2.0])
    want = (x - norm.mean) / norm.std  # float32 operands: float32 arithmetic
    np.testing.assert_array_equal(norm(x), want)


def test_stored_form_round_trips_through_json():
    norm = Normalization.fit([np.random.default_rng(2).normal(0, 1, (20, 4))])
    again = Normalization.from_dict(json.loads(json.dumps(norm.to_dict())))
    assert again is not None
    np.testing.assert_array_equal(again.mean, norm.mean)
    np.testing.assert_array_equal(again.std, norm.std)
    assert Normalization.from_dict(None) is None and Normalization.from_dict({}) is None


def test_samples_keeps_targets():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    norm = Normalization.fit([x])
    ((got, y),) = norm.samples([(x, [1, 2])])
    assert y == [1, 2]
    np.testing.assert_array_equal(got, norm(x))
