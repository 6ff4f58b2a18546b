"""CTC decoding, edit distance and WER."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from edgedrnn.train.ctc import edit_distance, greedy_decode, word_error_rate

seqs = st.lists(st.integers(1, 5), max_size=8)


def test_greedy_decode_merges_repeats_and_drops_blanks():
    best = [0, 3, 3, 0, 3, 1, 1, 0, 0, 2]
    logits = np.full((len(best), 4), -5.0)
    logits[np.arange(len(best)), best] = 1.0
    assert greedy_decode(logits) == [3, 3, 1, 2]
    assert greedy_decode(torch.tensor(logits)) == [3, 3, 1, 2]
    assert greedy_decode(logits, length=4) == [3]


def test_edit_distance_known_values():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 2, 3], [1, 3]) == 1
    assert edit_distance([1, 2, 3], [4, 5, 6, 7]) == 4
    assert edit_distance([], [1, 2]) == 2


@given(seqs, seqs)
def test_edit_distance_properties(a, b):
    d = edit_distance(a, b)
    assert d == edit_distance(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)


@given(seqs, seqs, seqs)
def test_edit_distance_triangle(a, b, c):
    assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)


def test_word_error_rate():
    assert word_error_rate([[1, 2], [3, 4, 5]], [[1, 2], [3, 5]]) == pytest.approx(20.0)
    assert word_error_rate([[1]], [[2, 3]]) == pytest.approx(200.0)
    with pytest.raises(ValueError):
        word_error_rate([[1]], [])
