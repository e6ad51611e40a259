"""Timing loop and latency statistics shared by every backend."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Measurement:
    """Latency samples of one artifact in one setting, with robust summary statistics (ms), and the precision the
    runtime says it computed at while timed ('' where it does not say)."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    std_ms: float
    count: int
    samples_ms: tuple[float, ...]
    compute: str = ""

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> Measurement:
        if not samples_ms:
            raise ValueError("a measurement needs at least one sample")
        a = np.asarray(samples_ms, dtype=np.float64)
        p10, median, p90 = np.percentile(a, [10, 50, 90])
        return cls(
            median_ms=float(median),
            p10_ms=float(p10),
            p90_ms=float(p90),
            mean_ms=float(a.mean()),
            std_ms=float(a.std()),
            count=int(a.size),
            samples_ms=tuple(float(s) for s in a),
        )

    def computed_at(self, compute: str) -> Measurement:
        return replace(self, compute=compute)

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: a robust relative spread, unlike mean ± CV."""
        return (self.p90_ms - self.p10_ms) / self.median_ms if self.median_ms else 0.0


#: How every backend's samples are taken; stamped on measured tables so one timed another way is not reused.
TIMING_RULE = "wall-clock"


def wall_ms(call: Callable[[], object]) -> float:
    """Wall-clock milliseconds of one call."""
    t0 = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - t0) / 1e6


def time_calls(timed_call: Callable[[], float], warmup: int, repeats: int) -> Measurement:
    """Run ``timed_call`` (which returns its own latency in ms) ``warmup`` times, then keep ``repeats`` samples."""
    if repeats < 1 or warmup < 0:
        raise ValueError("need repeats >= 1 and warmup >= 0")
    for _ in range(warmup):
        timed_call()
    return Measurement.from_samples([timed_call() for _ in range(repeats)])
