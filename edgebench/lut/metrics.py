"""nn-Meter's accuracy metrics for latency predictions (RMSE, RMSPE, share within +-5 % and +-10 %), plus
Kendall's tau for how well they rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metrics:
    """How well predictions match measurements over a set of networks."""

    n: int
    rmse_ms: float
    rmspe_pct: float
    within_5_pct: float
    within_10_pct: float
    kendall_tau: float

    @classmethod
    def of(cls, measured: np.ndarray, predicted: np.ndarray) -> Metrics:
        err = (predicted - measured) / measured
        return cls(
            n=len(measured),
            rmse_ms=float(np.sqrt(np.mean((predicted - measured) ** 2))),
            rmspe_pct=float(100 * np.sqrt(np.mean(err**2))),
            within_5_pct=float(100 * np.mean(np.abs(err) <= 0.05)),
            within_10_pct=float(100 * np.mean(np.abs(err) <= 0.10)),
            kendall_tau=kendall_tau(measured, predicted),
        )


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b between two rankings (O(n^2); validation sets are small)."""
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(len(a), k=1)
    concord = float((da * db)[upper].sum())
    ties_a, ties_b = float((da[upper] != 0).sum()), float((db[upper] != 0).sum())
    return concord / np.sqrt(ties_a * ties_b) if ties_a and ties_b else 0.0
