"""Latency statistics: percentiles on known samples, and the timing loop's contract."""

from __future__ import annotations

import pytest

from edgebench.backends._timing import Measurement, time_calls, wall_ms


def test_statistics_of_known_samples() -> None:
    m = Measurement.from_samples([float(v) for v in range(1, 12)])  # 1..11 ms
    assert m.median_ms == 6 and m.count == 11
    assert m.p10_ms == pytest.approx(2.0) and m.p90_ms == pytest.approx(10.0)
    assert m.mean_ms == pytest.approx(6.0) and m.std_ms == pytest.approx(3.1623, abs=1e-4)
    assert m.spread == pytest.approx(8 / 6)


def test_median_ignores_a_heavy_outlier() -> None:
    m = Measurement.from_samples([1.0] * 19 + [100.0])
    assert m.median_ms == 1.0 and m.mean_ms > 5


def test_time_calls_warms_up_then_keeps_each_reported_latency() -> None:
    reported = iter(range(100, 110))
    m = time_calls(lambda: float(next(reported)), warmup=3, repeats=7)
    assert m.samples_ms == (103, 104, 105, 106, 107, 108, 109)


def test_wall_ms_times_the_call() -> None:
    import time

    assert 4.5 <= wall_ms(lambda: time.sleep(0.005)) < 50


@pytest.mark.parametrize(("warmup", "repeats"), [(0, 0), (-1, 5)])
def test_time_calls_rejects_bad_counts(warmup: int, repeats: int) -> None:
    with pytest.raises(ValueError):
        time_calls(lambda: 0.0, warmup=warmup, repeats=repeats)


def test_empty_measurement_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        Measurement.from_samples([])
