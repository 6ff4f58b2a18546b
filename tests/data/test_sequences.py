"""Users' own sequence data: validation, collate, npz round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edgedrnn.data import (
    FRAME_PAD,
    DataError,
    SequenceDataset,
    collate,
    from_arrays,
    from_npz,
)


def _feats(lengths, width=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((t, width)).astype(np.float32) for t in lengths]


# ---------------------------------------------------------------------------- validation


def test_ragged_input_size_is_rejected():
    feats = [np.zeros((4, 3)), np.zeros((5, 2))]
    with pytest.raises(DataError, match=r"sequence 1: has 2 features per frame.*sequence 0 has 3"):
        SequenceDataset(feats, [0, 1], kind="sequence")


def test_nan_and_inf_are_rejected_with_position():
    f = _feats([4, 5])
    f[1][2, 1] = np.nan
    with pytest.raises(DataError, match=r"sequence 1: .*NaN.*frame 2, feature 1"):
        SequenceDataset(f, [0, 1], kind="sequence")
    f[1][2, 1] = np.inf
    with pytest.raises(DataError, match="NaN or inf"):
        SequenceDataset(f, [0, 1], kind="sequence")


def test_shape_errors():
    with pytest.raises(DataError, match=r"expected \(T, I\).*reshape"):
        SequenceDataset([np.zeros(5)], [0], kind="sequence")
    with pytest.raises(DataError, match="no frames"):
        SequenceDataset([np.zeros((0, 3))], [0], kind="sequence")
    with pytest.raises(DataError, match="empty"):
        SequenceDataset([], [], kind="sequence")
    with pytest.raises(DataError, match="2 feature sequences but 1 targets"):
        SequenceDataset(_feats([3, 4]), [0], kind="sequence")
    with pytest.raises(DataError, match="kind must be one of"):
        SequenceDataset(_feats([3]), [0], kind="classes")  # type: ignore[arg-type]


def test_frame_targets_must_match_lengths():
    f = _feats([4, 6])
    with pytest.raises(DataError, match="sequence 1: 5 frame targets for 6 frames"):
        SequenceDataset(f, [np.zeros(4, int), np.zeros(5, int)], kind="frame")
    with pytest.raises(DataError, match="negative"):
        SequenceDataset(f, [np.zeros(4, int), -np.ones(6, int)], kind="frame")
    with pytest.raises(DataError, match="1-D integer"):
        SequenceDataset(f, [np.zeros(4), np.zeros(6)], kind="frame")


def test_ctc_targets_checked():
    f = _feats([4, 3])
    with pytest.raises(DataError, match="0 is the CTC blank"):
        SequenceDataset(f, [[1, 2], [0]], kind="ctc")
    with pytest.raises(DataError, match="sequence 1: 4 CTC labels for only 3 frames"):
        SequenceDataset(f, [[1], [1, 2, 3, 4]], kind="ctc")
    ds = SequenceDataset(f, [[1, 2], []], kind="ctc")  # an empty transcript is allowed
    assert ds.targets[1].shape == (0,)


def test_sequence_and_regression_targets_checked():
    f = _feats([4, 3])
    with pytest.raises(DataError, match="one integer class"):
        SequenceDataset(f, [0.5, 1.0], kind="sequence")
    with pytest.raises(DataError, match=r"regression targets have shape \(2,\) for 3 frames"):
        SequenceDataset(f, [np.zeros(4), np.zeros(2)], kind="regression")
    with pytest.raises(DataError, match="NaN"):
        SequenceDataset(f, [np.zeros(4), np.array([0, np.nan, 0])], kind="regression")
    with pytest.raises(DataError, match="regression outputs"):
        SequenceDataset(f, [np.zeros((4, 2)), np.zeros((3, 1))], kind="regression")


# ---------------------------------------------------------------------------- collate


def test_collate_frame_pads_with_ignore_index():
    f = _feats([2, 5])
    ds = from_arrays(f, [np.array([1, 2]), np.arange(5)], kind="frame")
    b = ds.collate([ds[0], ds[1]])
    assert b.x.shape == (2, 5, 3) and b.x.dtype == torch.float32
    assert b.lengths.tolist() == [2, 5]
    assert torch.all(b.x[0, 2:] == 0)
    torch.testing.assert_close(b.x[1], torch.from_numpy(f[1]))
    assert b.y.tolist() == [[1, 2, FRAME_PAD, FRAME_PAD, FRAME_PAD], [0, 1, 2, 3, 4]]
    assert b.y_lengths is None
    logits = torch.randn(2, 5, 6)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 6), b.y.reshape(-1))
    mask = b.y.reshape(-1) != FRAME_PAD
    ref = torch.nn.functional.cross_entropy(logits.reshape(-1, 6)[mask], b.y.reshape(-1)[mask])
    torch.testing.assert_close(loss, ref)


def test_collate_sequence_and_regression():
    f = _feats([3, 1])
    b = collate([(f[0], 4), (f[1], 2)], kind="sequence")
    assert b.y.tolist() == [4, 2] and b.y.dtype == torch.int64
    ds = SequenceDataset(f, [np.ones(3), np.full((1, 1), 2.0)], kind="regression")
    b = ds.collate(list(ds))
    assert b.y.shape == (2, 3, 1) and b.y.dtype == torch.float32
    assert b.y[:, :, 0].tolist() == [[1, 1, 1], [2, 0, 0]]


def test_dataloader_and_ctc_loss():
    f = _feats([8, 6, 7])
    ds = SequenceDataset(f, [[1, 2, 3], [4], [2, 2]], kind="ctc")
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=ds.collate)
    b = next(iter(loader)).to("cpu")
    assert b.y.tolist() == [[1, 2, 3], [4, 0, 0], [2, 2, 0]]
    assert b.y_lengths.tolist() == [3, 1, 2]
    logp = torch.randn(8, 3, 5).log_softmax(-1)
    loss = torch.nn.functional.ctc_loss(logp, b.y, b.lengths, b.y_lengths)
    assert torch.isfinite(loss)


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    width=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_collate_then_unpad_is_identity(lengths, width, seed):
    f = _feats(lengths, width, seed)
    targets = [np.arange(t) % 3 for t in lengths]
    ds = SequenceDataset(f, targets, kind="frame")
    b = ds.collate(list(ds))
    assert b.x.shape == (len(lengths), max(lengths), width)
    for i, t in enumerate(lengths):
        np.testing.assert_array_equal(b.x[i, :t].numpy(), f[i])
        assert torch.all(b.x[i, t:] == 0)
        np.testing.assert_array_equal(b.y[i, :t].numpy(), targets[i])
        assert torch.all(b.y[i, t:] == FRAME_PAD)


# ---------------------------------------------------------------------------- npz


@pytest.mark.parametrize(
    ("kind", "targets"),
    [
        ("frame", [np.arange(4) % 2, np.arange(2) % 2]),
        ("ctc", [np.array([1, 2]), np.array([3])]),
        ("sequence", [3, 1]),
        ("regression", [np.ones((4, 2)), np.zeros((2, 2))]),
    ],
)
def test_save_npz_roundtrip(tmp_path, kind, targets):
    ds = SequenceDataset(_feats([4, 2]), targets, kind=kind)
    ds.save_npz(tmp_path / "d.npz")
    back = from_npz(tmp_path / "d.npz")
    assert back.kind == kind and len(back) == 2
    for (fa, ta), (fb, tb) in zip(ds, back, strict=True):
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(ta, tb)


def test_from_npz_padded_layout(tmp_path):
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    y = np.array([[0, 1, 2, 0, 0], [2, 2, 1, 1, 0]])
    np.savez(tmp_path / "p.npz", features=x, targets=y, lengths=np.array([3, 5]))
    ds = from_npz(tmp_path / "p.npz", kind="frame")
    assert ds.lengths.tolist() == [3, 5]
    np.testing.assert_array_equal(ds.targets[0], [0, 1, 2])
    labels = np.array([[3, 1, 0, 0], [2, 2, 4, 1]])
    np.savez(tmp_path / "c.npz", features=x, targets=labels, target_lengths=np.array([2, 4]))
    ds = from_npz(tmp_path / "c.npz", kind="ctc")
    assert ds.lengths.tolist() == [5, 5]
    assert [t.tolist() for t in ds.targets] == [[3, 1], [2, 2, 4, 1]]
    with pytest.raises(DataError, match="target_lengths"):
        np.savez(tmp_path / "d.npz", features=x, targets=labels)
        from_npz(tmp_path / "d.npz", kind="ctc")


def test_from_npz_errors(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.zeros((5, 2)))
    with pytest.raises(DataError, match="needs arrays 'features' and 'targets'"):
        from_npz(tmp_path / "a.npz", kind="frame")
    np.savez(tmp_path / "b.npz", features=np.zeros((5, 2)), targets=np.zeros(5, int))
    with pytest.raises(DataError, match="stores no 'kind'"):
        from_npz(tmp_path / "b.npz")
    with pytest.raises(DataError, match="need 'lengths'"):
        from_npz(tmp_path / "b.npz", kind="frame")
    np.savez(
        tmp_path / "c.npz", features=np.zeros((5, 2)), targets=np.zeros(5, int), lengths=[2, 2]
    )
    with pytest.raises(DataError, match="lengths sum to 4"):
        from_npz(tmp_path / "c.npz", kind="frame")
