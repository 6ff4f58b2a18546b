"""The Pareto front on hand-made points."""

from __future__ import annotations

import pytest

from edgedrnn.sweep.pareto import dominates, pareto_front


def test_front_of_latency_and_luts():
    rows = [
        {"latency_us": 5.0, "luts": 10_000},  # front: smallest
        {"latency_us": 3.0, "luts": 17_000},  # front
        {"latency_us": 3.5, "luts": 18_000},  # dominated by 1
        {"latency_us": 2.0, "luts": 28_000},  # front: fastest
        {"latency_us": 2.0, "luts": 30_000},  # dominated by 3
        {"latency_us": 3.0, "luts": 17_000},  # equal to 1: both stay
    ]
    assert pareto_front(rows, [("latency_us", "min"), ("luts", "min")]) == [0, 1, 3, 5]


def test_third_objective_and_max_direction():
    rows = [
        {"latency_us": 2.0, "luts": 100, "acc": 90.0},
        {"latency_us": 2.0, "luts": 100, "acc": 95.0},  # dominates 0 by accuracy
        {"latency_us": 1.0, "luts": 200, "acc": 80.0},
    ]
    obj = [("latency_us", "min"), ("luts", "min"), ("acc", "max")]
    assert pareto_front(rows, obj) == [1, 2]


def test_rows_without_a_figure_or_not_ok_take_no_part():
    rows = [
        {"latency_us": 1.0, "luts": 1, "status": "pruned"},
        {"latency_us": 1.0, "luts": None},
        {"latency_us": 4.0, "luts": 50},
        {"latency_us": 3.0, "luts": 60, "error": None},
    ]
    # "error" is nowhere: dropped; row 0 pruned, row 1 lacks luts
    assert pareto_front(rows) == [2, 3]
    assert pareto_front([]) == []


def test_dominates_and_bad_direction():
    assert dominates((1, 2), (1, 3)) and not dominates((1, 3), (1, 3))
    with pytest.raises(ValueError, match="direction"):
        pareto_front([{"a": 1}], [("a", "up")])
