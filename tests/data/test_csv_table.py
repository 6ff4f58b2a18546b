"""CSV tables: columns read and checked, a time-ordered split, windows, normalisation from the
training rows only, and an error naming the line and column for every bad input."""

from __future__ import annotations

import numpy as np
import pytest

from edgedrnn.data import DataError
from edgedrnn.data.csv_table import (
    MIN_PART_ROWS,
    CsvSpec,
    load,
    lowpass,
    read_header,
    read_table,
    split_rows,
    windows,
)

SPEC = CsvSpec(inputs=("a", "b"), targets=("y",), task="regress", window=10)


def write(path, rows, header="t,a,b,y"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture
def table(tmp_path):
    """100 rows whose values are their row number (so every window can be traced)."""
    rows = [(i, i, 2 * i + 1, 10.0 * i) for i in range(100)]
    return write(tmp_path / "t.csv", rows)


def test_split_in_time_order_and_sizes():
    assert split_rows(100, (0.7, 0.15, 0.15)) == (slice(0, 70), slice(70, 85), slice(85, 100))
    assert split_rows(7, (0.5, 0.25, 0.25)) == (slice(0, 4), slice(4, 6), slice(6, 7))


def test_windows_cover_every_row():
    # training: full windows every stride rows, plus one ending at the last row
    assert windows(25, 10, 5) == [slice(0, 10), slice(5, 15), slice(10, 20), slice(15, 25)]
    assert windows(23, 10, 10) == [slice(0, 10), slice(10, 20), slice(13, 23)]
    # validation/test: consecutive windows, the last one shorter
    assert windows(23, 10, None) == [slice(0, 10), slice(10, 20), slice(20, 23)]
    assert windows(6, 10, 3) == [slice(0, 6)]


def test_load_splits_windows_and_normalises_with_training_rows_only(table):
    spec = CsvSpec(inputs=("a", "b"), targets=("y",), window=10, stride=5)
    d = load(table, spec)
    assert d.rows == (70, 15, 15)
    assert len(d.train) == 13 and len(d.val) == 2 and len(d.test) == 2
    assert [len(x) for x, _ in d.val] == [10, 5]
    # statistics of rows 0..69 only
    np.testing.assert_allclose(d.normalization.mean, [34.5, 70.0], rtol=1e-6)
    np.testing.assert_allclose(
        d.normalization.std, [np.std(np.arange(70)), 2 * np.std(np.arange(70))], rtol=1e-5
    )
    np.testing.assert_allclose(d.target_normalization.mean, [345.0], rtol=1e-6)
    x, y = d.test[0]  # rows 85..94
    assert x.dtype == np.float32 and x.shape == (10, 2) and y.shape == (10, 1)
    np.testing.assert_allclose(
        x[:, 0], d.normalization(np.arange(85, 95.0)[:, None].repeat(2, 1))[:, 0], rtol=1e-5
    )
    np.testing.assert_allclose(
        y[:, 0] * d.target_normalization.std + d.target_normalization.mean,
        10.0 * np.arange(85, 95),
        rtol=1e-5,
    )
    # stored statistics are used as given; targets may stay in their units
    again = load(table, spec, d.normalization, normalize_targets=False)
    np.testing.assert_array_equal(again.test[0][0], x)
    np.testing.assert_allclose(again.test[0][1][:, 0], 10.0 * np.arange(85, 95))
    assert again.target_normalization is None


def test_classify_takes_the_most_frequent_label_of_a_window(tmp_path):
    labels = ["walk"] * 40 + ["run"] * 27 + ["walk"] * 3 + ["stand"] * 30
    rows = [(i, i, i, lab) for i, lab in enumerate(labels)]
    path = write(tmp_path / "c.csv", rows)
    spec = CsvSpec(inputs=("a", "b"), targets=("y",), task="classify", window=10)
    d = load(path, spec)
    assert d.table.classes == ["run", "stand", "walk"]
    assert d.target_normalization is None
    assert [y for _, y in d.train] == [2, 2, 2, 2, 0, 0, 0]  # rows 60..69: 7 run, 3 walk
    assert [y for _, y in d.test] == [1, 1]
    # a model's classes number the labels; an unknown label is refused
    assert load(path, spec, classes=["walk", "stand", "run"]).test[0][1] == 1
    with pytest.raises(DataError, match="class 'run' of column 'y' is not one of"):
        read_table(path, spec, classes=["walk", "stand"])


def test_numeric_class_labels_are_sorted_as_numbers(tmp_path):
    rows = [(i, i, i, [10, 2, 1][i % 3]) for i in range(60)]
    path = write(tmp_path / "n.csv", rows)
    spec = CsvSpec(inputs=("a", "b"), targets=("y",), task="classify")
    assert read_table(path, spec).classes == ["1", "2", "10"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"header": "t,a,c,y"}, r"no column 'b'; the file has t, a, c, y"),
        ({"header": "t,x,z,y"}, r"no columns 'a', 'b'; the file has t, x, z, y"),
        ({"header": "t,a,,y"}, r"column 3 of the header has no name"),
        ({"header": "t,a,a,y"}, r"the header names column 'a' twice"),
        ({"row": (5, "nan", 1, 1)}, r"line 7, column 'a' is NaN"),
        ({"row": (5, 1, "NaN", 1)}, r"line 7, column 'b' is NaN"),
        ({"row": (5, 1, 1, "inf")}, r"line 7, column 'y' is infinite"),
        ({"row": (5, 1, "abc", 1)}, r"line 7, column 'b': 'abc' is not a number"),
        ({"row": (5, "", 1, 1)}, r"line 7, column 'a' is empty"),
        ({"row": (5, 1)}, r"line 7 has 2 cells but the header names 4 columns"),
        ({"n": 20}, r"20 data rows are too few; the split 0.7,0.15,0.15 needs at least 54"),
    ],
)
def test_errors_name_the_line_and_column(tmp_path, change, message):
    rows = [(i, i, i, i) for i in range(change.get("n", 60))]
    if "row" in change:
        rows[5] = change["row"]
    path = write(tmp_path / "bad.csv", rows, change.get("header", "t,a,b,y"))
    with pytest.raises(DataError, match=message):
        read_table(path, SPEC)


def test_empty_file_and_blank_lines(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_header(tmp_path / "empty.csv")
    rows = [(i, i, i, i) for i in range(60)]
    path = write(tmp_path / "blank.csv", rows)
    path.write_text(path.read_text() + "\n\n")
    assert len(read_table(path, SPEC)) == 60


def test_minimum_rows_per_part(tmp_path):
    spec = CsvSpec(inputs=("a",), targets=("y",), split=(0.8, 0.1, 0.1))
    need = int(np.ceil(MIN_PART_ROWS / 0.1))
    ok = write(tmp_path / "ok.csv", [(i, i, i, i) for i in range(need)])
    assert load(ok, spec).rows == (64, 8, 8)
    short = write(tmp_path / "short.csv", [(i, i, i, i) for i in range(need - 1)])
    with pytest.raises(DataError, match=f"needs at least {need}"):
        read_table(short, spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "forecast"}, "task must be one of regress, classify"),
        ({"inputs": ()}, "at least one input column"),
        ({"targets": ()}, "at least one target column"),
        ({"targets": ("y", "z"), "task": "classify"}, "classify takes one target column"),
        ({"inputs": ("a", "y")}, "column 'y' is both an input and a target"),
        ({"inputs": ("a", "a")}, "column 'a' is named twice"),
        ({"split": (0.8, 0.2, 0.0)}, "each above 0 and below 1"),
        ({"split": (0.5, 0.2, 0.2)}, "must add up to 1"),
        ({"window": 0}, "window must be at least 1"),
        ({"stride": 0}, "stride must be at least 1"),
        ({"target_lowpass": 0.5}, "cycles per row, above 0 and below 0.5"),
        ({"target_lowpass": 0.0}, "cycles per row, above 0 and below 0.5"),
        ({"target_lowpass": 0.1, "task": "classify"}, "filters regression targets"),
    ],
)
def test_spec_errors(kwargs, message):
    args = {"inputs": ("a",), "targets": ("y",), **kwargs}
    with pytest.raises(DataError, match=message):
        CsvSpec(**args)


def test_spec_round_trips_through_json():
    spec = CsvSpec(inputs=("a", "b"), targets=("y",), task="regress", window=64, stride=16)
    assert CsvSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict()["inputs"] == ["a", "b"] and spec.train_stride == 16
    smooth = CsvSpec(inputs=("a",), targets=("y",), target_lowpass=0.05)
    assert CsvSpec.from_dict(smooth.to_dict()) == smooth
    # a spec stored before the field existed reads as unfiltered
    old = {k: v for k, v in spec.to_dict().items() if k != "target_lowpass"}
    assert CsvSpec.from_dict(old).target_lowpass is None


def test_lowpass_is_a_causal_butterworth_filter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2)) * 10 + 5
    y = lowpass(x, 0.05)
    assert y.shape == x.shape and y.dtype == np.float64
    # a constant passes unchanged (the filter starts in its steady state)
    assert np.allclose(lowpass(np.full((30, 3), 7.0), 0.05), 7.0)
    # causal: changing the future leaves the past alone
    x2 = x.copy()
    x2[200:] += 100
    assert np.array_equal(lowpass(x2, 0.05)[:200], y[:200])
    # -3 dB at the cutoff, strong attenuation well above it (steady-state sine amplitudes)
    t = np.arange(4000)

    def gain(f):
        return np.abs(lowpass(np.sin(2 * np.pi * f * t), 0.05)[2000:]).max()

    assert gain(0.05) == pytest.approx(2**-0.5, abs=1e-3)
    assert gain(0.005) == pytest.approx(1.0, abs=1e-3) and gain(0.25) < 0.05
    # scipy.signal.butter(2, 2 * cutoff) run by lfilter from its steady state, when present
    signal = pytest.importorskip("scipy.signal")
    b, a = signal.butter(2, 0.1)
    ref = signal.lfilter(b, a, x[:, 0], zi=signal.lfilter_zi(b, a) * x[0, 0])[0]
    assert np.allclose(y[:, 0], ref, rtol=0, atol=1e-9)


def test_target_lowpass_filters_the_targets_before_the_split(table):
    spec = CsvSpec(inputs=("a", "b"), targets=("y",), window=10, target_lowpass=0.1)
    t = read_table(table, spec)
    assert np.allclose(t.targets, lowpass(10.0 * np.arange(100.0)[:, None], 0.1))
    assert np.array_equal(t.inputs[:, 0], np.arange(100.0))  # inputs as they are
    d = load(table, spec, normalize_targets=False)
    assert np.allclose(d.test[0][1][:, 0], t.targets[85:95, 0])
