"""Pareto fronts: the non-dominated rows, domination between fronts, and the 2-D hypervolume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgebench.pareto import dominates, front, front_mask, front_summary, fronts, hypervolume


def test_front_keeps_exactly_the_rows_nothing_beats() -> None:
    acc = np.array([90.0, 85.0, 95.0, 80.0, 95.0, np.nan])
    lat = np.array([10.0, 12.0, 20.0, 5.0, 25.0, 1.0])
    # 85 @ 12 is beaten by 90 @ 10; 95 @ 25 by 95 @ 20; NaN rows never count
    assert front_mask(acc, lat).tolist() == [True, False, True, True, False, False]


def test_front_rows_come_fastest_first() -> None:
    rows = pd.DataFrame({"acc": [90.0, 80.0, 95.0], "ms": [10.0, 5.0, 20.0], "name": ["b", "a", "c"]})
    assert front(rows, "acc", "ms")["name"].tolist() == ["a", "b", "c"]


def test_hypervolume_of_a_staircase() -> None:
    points = np.array([[90.0, 10.0], [95.0, 20.0]])
    # above accuracy 80, below 30 ms: 10 ms at +10 points, then 10 ms at +15 points
    assert hypervolume(points, (80.0, 30.0)) == pytest.approx(10 * 10 + 10 * 15)


def test_a_front_that_is_better_everywhere_dominates_and_not_the_reverse() -> None:
    base = pd.DataFrame({"acc": [80.0, 90.0], "ms": [10.0, 20.0]})
    better = pd.DataFrame({"acc": [82.0, 90.0, 91.0], "ms": [9.0, 15.0, 25.0]})
    assert dominates(better, base, "acc", "ms") and not dominates(base, better, "acc", "ms")
    assert not dominates(base, base, "acc", "ms")


def _results() -> pd.DataFrame:
    """Two groups: ORT fp32 with a dominated, an over-budget and a failed row; ORT int8 with one row."""
    rows = [
        ("a", "fp32", 90.0, 5.0, "COMPLETE"),
        ("b", "fp32", 85.0, 6.0, "COMPLETE"),  # dominated by a
        ("c", "fp32", 95.0, 12.0, "COMPLETE"),  # best, but over a 10 ms budget
        ("d", "fp32", 80.0, 3.0, "COMPLETE"),
        ("e", "fp32", None, None, "FAILED"),
        ("a", "int8", 88.0, 2.0, "COMPLETE"),
    ]
    return pd.DataFrame(
        [{"candidate": c, "device": "host", "backend": "onnxruntime", "precision": p, "top1_pct": acc,
          "median_ms": ms, "status": s} for c, p, acc, ms, s in rows]
    )  # fmt: skip


def test_fronts_are_per_group_and_feasible_only() -> None:
    marked = fronts(_results(), budget_ms=10.0)
    assert marked["feasible"].tolist() == [True, True, False, True, False, True]
    assert marked["on_front"].tolist() == [True, False, False, True, False, True]
    assert fronts(_results())["on_front"].tolist() == [True, False, True, True, False, True]


def test_front_summary_counts_and_hypervolume() -> None:
    summary = front_summary(fronts(_results(), budget_ms=10.0), budget_ms=10.0).set_index("precision")
    fp32 = summary.loc["fp32"]
    assert (fp32["rows"], fp32["failed"], fp32["feasible"], fp32["on_front"]) == (5, 1, 3, 2)
    # front d (80 %, 3 ms) and a (90 %, 5 ms) against (0 %, 10 ms): 80 x 2 + 90 x 5
    assert fp32["hypervolume"] == pytest.approx(80 * 2 + 90 * 5)
    assert summary.loc["int8", "hypervolume"] == pytest.approx(88 * 8)
