"""Accuracy-latency Pareto fronts: which rows no other row beats on both, whether one front dominates another,
and the 2-D hypervolume that scores a front against a reference point."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgebench.types import Status


def front_mask(accuracy: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """True for each point that no other point beats (higher-or-equal accuracy, lower-or-equal latency, one of them
    strictly); NaN points are never on the front."""
    acc, lat = np.asarray(accuracy, dtype=float), np.asarray(latency, dtype=float)
    ok = ~(np.isnan(acc) | np.isnan(lat))
    better_eq = (acc[None, :] >= acc[:, None]) & (lat[None, :] <= lat[:, None]) & ok[None, :]
    strictly = (acc[None, :] > acc[:, None]) | (lat[None, :] < lat[:, None])
    return ok & ~(better_eq & strictly).any(axis=1)


def front(rows: pd.DataFrame, accuracy: str, latency: str) -> pd.DataFrame:
    """The rows on the front, fastest first."""
    mask = front_mask(rows[accuracy].to_numpy(dtype=float), rows[latency].to_numpy(dtype=float))
    return rows[mask].sort_values(latency)


def dominates(a: pd.DataFrame, b: pd.DataFrame, accuracy: str, latency: str) -> bool:
    """Whether every point of front ``b`` is matched or beaten by some point of front ``a``, and ``a`` is not just
    a copy of ``b``."""
    pa = a[[accuracy, latency]].to_numpy(dtype=float)
    pb = b[[accuracy, latency]].to_numpy(dtype=float)
    covered = ((pa[None, :, 0] >= pb[:, None, 0]) & (pa[None, :, 1] <= pb[:, None, 1])).any(axis=1)
    return bool(covered.all()) and hypervolume(pa, _ref(pa, pb)) > hypervolume(pb, _ref(pa, pb))


def _ref(*points: np.ndarray) -> tuple[float, float]:
    both = np.vstack(points)
    return float(both[:, 0].min()), float(both[:, 1].max())


def hypervolume(points: np.ndarray, ref: tuple[float, float]) -> float:
    """Area dominated by ``points`` (accuracy, latency) above ``ref``'s accuracy and below its latency."""
    acc_ref, lat_ref = ref
    pts = sorted((float(lat), float(acc)) for acc, lat in points if acc >= acc_ref and lat <= lat_ref)
    area, best = 0.0, acc_ref
    for i, (lat, acc) in enumerate(pts):
        best = max(best, acc)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else lat_ref
        area += (best - acc_ref) * (nxt - lat)
    return area


#: The columns a runner results table is split by: one front per device, backend and precision.
GROUP = ("device", "backend", "precision")


def fronts(results: pd.DataFrame, budget_ms: float | None = None, accuracy: str = "top1_pct",
           latency: str = "median_ms") -> pd.DataFrame:  # fmt: skip
    """The results with ``feasible`` (complete, and within ``budget_ms`` if given) and ``on_front`` (on its
    group's front of feasible rows) columns; failed and over-budget rows are never on a front."""
    out = results.copy()
    ok = (out["status"] == Status.COMPLETE.value) & out[accuracy].notna() & out[latency].notna()
    if budget_ms is not None:
        ok &= out[latency].astype(float) <= budget_ms
    out["feasible"] = ok.astype(bool)
    out["on_front"] = False
    for _, group in out[out["feasible"]].groupby(list(GROUP)):
        mask = front_mask(group[accuracy].to_numpy(dtype=float), group[latency].to_numpy(dtype=float))
        out.loc[group.index[mask], "on_front"] = True
    return out


def front_summary(marked: pd.DataFrame, budget_ms: float | None = None, accuracy: str = "top1_pct",
                  latency: str = "median_ms") -> pd.DataFrame:  # fmt: skip
    """Per group of :func:`fronts` output: its size, feasible and front counts, and the front's hypervolume
    (accuracy points x ms) against the reference (0 % accuracy, the budget, else the group's slowest row)."""
    rows = []
    for key, group in marked.groupby(list(GROUP)):
        points = group[group["on_front"]][[accuracy, latency]].to_numpy(dtype=float)
        slowest = group[latency].astype(float).max()
        ref = (0.0, float(budget_ms if budget_ms is not None else slowest))
        failed = int((group["status"] != Status.COMPLETE.value).sum())
        rows.append({**dict(zip(GROUP, key, strict=True)), "rows": len(group), "failed": failed,
                     "feasible": int(group["feasible"].sum()), "on_front": len(points),
                     "hypervolume": hypervolume(points, ref) if len(points) else 0.0})  # fmt: skip
    return pd.DataFrame(rows, columns=[*GROUP, "rows", "failed", "feasible", "on_front", "hypervolume"])
