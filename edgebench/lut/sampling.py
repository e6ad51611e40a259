"""Timing many artifacts in interleaved passes, and the statistic a LUT row keeps.

This VM's speed changes in bursts of seconds (a thread moved to a busier core runs up to 40 % slower). Timing
one artifact in one go catches whichever state the machine is in; timing every artifact in short windows over
several passes spreads each one's samples across the whole build, so all artifacts see the same mix of states
and their statistics are comparable, which is what a LUT needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from edgebench.backends.base import Opened
from edgebench.exceptions import UnreachableDeviceError, error_text

#: Statistics a LUT can keep as its rows' latency (see `Stats`).
STATISTICS = ("p10", "p25", "median")


@dataclass(frozen=True)
class Stats:
    """Summary of the samples of one artifact over all passes (ms)."""

    median_ms: float
    p10_ms: float
    p25_ms: float
    p90_ms: float
    cv: float  # std / mean, for comparison with tools that report it
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        a = np.asarray(samples, dtype=np.float64)
        p10, p25, p50, p90 = np.percentile(a, [10, 25, 50, 90])
        return cls(float(p50), float(p10), float(p25), float(p90), float(a.std() / a.mean()), len(a))

    def value_ms(self, statistic: str) -> float:
        return {"median": self.median_ms, "p25": self.p25_ms, "p10": self.p10_ms}[statistic]

    @property
    def spread(self) -> float:
        """(p90 - p10) / median."""
        return (self.p90_ms - self.p10_ms) / self.median_ms if self.median_ms else 0.0


WindowDone = Callable[[str, int, list[float]], None]
WindowFailed = Callable[[str, str], None]


def measure_passes(
    sessions: Mapping[str, Opened],
    inputs: Mapping[str, np.ndarray],
    passes: int,
    window: int,
    warmup: int,
    done: Mapping[str, set[int]],
    on_window: WindowDone,
    on_failure: WindowFailed,
) -> None:
    """For each pass, time every session for ``window`` runs (after ``warmup``) unless already done.

    ``on_window(id, pass, samples)`` commits each window; a session that raises is reported once through
    ``on_failure(id, reason)`` and left out of later passes, unless the device itself is gone (its agent stopped
    answering): that ends the timing, for a rerun to resume.
    """
    failed: set[str] = set()
    for p in range(passes):
        for sid, session in sessions.items():
            if sid in failed or p in done.get(sid, set()):
                continue
            try:
                m = session.measure(inputs[sid], warmup=warmup, repeats=window)
            except UnreachableDeviceError:
                raise
            except Exception as e:  # one broken artifact must not stop the build
                failed.add(sid)
                on_failure(sid, error_text(e))
                continue
            on_window(sid, p, list(m.samples_ms))
