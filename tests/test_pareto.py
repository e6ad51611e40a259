"""Pareto fronts: the non-dominated rows, domination between fronts, and the 2-D hypervolume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgebench.pareto import dominates, front, front_mask, hypervolume


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
