"""Fixed-point primitives against their definitions in datapath.md §1-6."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgedrnn import fixedpoint as fp


def rne_exact(v: int, k: int) -> int:
    """v / 2^k rounded half to even, from exact rationals (Python's round is half-even)."""
    return round(Fraction(v, 1 << k))


@given(st.integers(-(2**40), 2**40), st.integers(1, 20))
def test_rne_matches_exact_rational_rounding(v, k):
    assert int(fp.rne(v, k)) == rne_exact(v, k)


def test_rne_ties_go_to_even():
    assert [int(fp.rne(v, 1)) for v in (-3, -1, 1, 3, 5)] == [-2, 0, 0, 2, 2]
    assert [int(fp.rne(v, 8)) for v in (128, 384, -128, -384)] == [0, 2, 0, -2]


def test_rne_vectorised_equals_scalar():
    v = np.arange(-5000, 5000, 7)
    assert fp.rne(v, 7).tolist() == [rne_exact(int(a), 7) for a in v]


@pytest.mark.parametrize(
    ("fn", "lo", "hi"), [(fp.sat16, -32768, 32767), (fp.sat24, -(2**23 - 1), 2**23 - 1)]
)
def test_saturation_flags_only_when_clipping(fn, lo, hi):
    v, clipped = fn(np.array([lo, 0, hi]))
    assert not clipped and v.tolist() == [lo, 0, hi]
    v, clipped = fn(np.array([lo - 1, hi + 1]))
    assert clipped and v.tolist() == [lo, hi]


def test_quantize_rounds_half_even_and_counts_clips():
    q, n = fp.quantize(np.array([0.5 / 128, 1.5 / 128, -0.5 / 128, 2.0, -3.0]), 7, -128, 127)
    assert q.tolist() == [0, 2, 0, 127, -128] and n == 2
    assert fp.to_q88(1.0) == 256 and fp.to_q17(-1.0) == -128 and fp.to_q17(1.0) == 127
    with pytest.raises(ValueError, match="NaN"):
        fp.quantize(np.array([np.nan]), 8, -32768, 32767)


def test_tables_follow_the_rule_on_all_65536_inputs():
    def rule(fn, v):
        return 16 * round(16 * fn(v / 256))  # float64 math, round half to even

    sig = [rule(lambda a: 1 / (1 + math.exp(-a)), v) for v in range(-32768, 32768)]
    tanh = [rule(math.tanh, v) for v in range(-32768, 32768)]
    assert fp.sig_table().tolist() == sig
    assert fp.tanh_table().tolist() == tanh


def test_tables_saturated_regions_match_the_spec():
    v = np.arange(-32768, 32768)
    sig, tanh = fp.sig_table(), fp.tanh_table()
    # sigmoid changes only for |v| < 880, tanh only for |v| < 531 (datapath.md §6)
    assert np.all(sig[np.abs(v) >= 880] == np.where(v[np.abs(v) >= 880] > 0, 256, 0))
    assert np.all(tanh[np.abs(v) >= 531] == np.where(v[np.abs(v) >= 531] > 0, 256, -256))
    assert sig[v == 879] != 256 and tanh[v == 530] != 256
    assert sig.min() == 0 and sig.max() == 256 and np.all(sig % 16 == 0)
    assert not sig.flags.writeable
