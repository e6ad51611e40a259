"""What the report shows, computed from a results table before anything is drawn: fronts, the best feasible
student per device, backend and precision against the baseline, precision drops, predicted vs measured latency,
the environment, and how each latency was obtained."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import get_type_hints

import pandas as pd

from edgebench import pareto
from edgebench.results import ResultRow
from edgebench.types import Status, precision_label
from edgebench.version import __version__

#: Latency sources timed on a real backend (as opposed to the cost model's ``estimated``).
TIMED = ("measured", "agent")
#: How each latency source was obtained, as the page explains it.
HOW = {
    "measured": "timed on this machine by the backend (median of the timed runs)",
    "agent": "timed on the device by the edgebench agent",
    "predicted": "summed from a table of blocks or layers timed on the device (the LUT or prune's layer table), "
    "not timed whole",
    "estimated": "the device profile's cost model: no device was attached",
}
SUMMED = "summed from a table of {source} blocks or layers (the LUT or prune's layer table), not timed whole"


@dataclass(frozen=True)
class Best:
    """The most accurate feasible student of a group (ties: the faster), and the best feasible baseline beside it."""

    device: str
    backend: str
    precision: str
    candidate: str
    network: str
    top1_pct: float
    median_ms: float
    source: str
    baseline: str | None = None
    baseline_top1_pct: float | None = None
    baseline_ms: float | None = None
    baseline_source: str | None = None
    accuracy_source: str = ""  # what top1_pct is the top-1 of (an AccuracySource)
    baseline_accuracy_source: str = ""

    @property
    def gain_points(self) -> float | None:
        return None if self.baseline_top1_pct is None else self.top1_pct - self.baseline_top1_pct


@dataclass(frozen=True)
class Drop:
    """A candidate's top-1 at a reduced precision against its FP32 top-1 on the same backend."""

    candidate: str
    device: str
    backend: str
    precision: str
    top1_pct: float
    fp32_top1_pct: float
    compute: str = ""  # the precision the runtime computed it at, where it said

    @property
    def points(self) -> float:
        return self.top1_pct - self.fp32_top1_pct

    @property
    def label(self) -> str:
        return precision_label(self.precision, self.compute)


@dataclass(frozen=True)
class Predicted:
    """A prediction next to the latency timed whole for the same row."""

    candidate: str
    device: str
    backend: str
    precision: str
    predicted_ms: float
    predicted_source: str
    timed_ms: float
    source: str

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted_ms / self.timed_ms - 1.0)


@dataclass(frozen=True)
class Provenance:
    """How many rows' latencies came from a source, how it works, and (estimated) the cost model's error."""

    source: str
    rows: int
    how: str
    rmspe_pct: float | None = None
    fit_rmspe_pct: float | None = None  # summed rows: the residual of the table's correction (largest)


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows; ``rows`` are the results with ``feasible`` and ``on_front`` columns."""

    title: str
    generated: str
    budget_ms: float | None
    devices: list[str]
    rows: pd.DataFrame
    summary: pd.DataFrame
    best: list[Best]
    no_student: list[tuple[str, str, str]]
    drops: list[Drop]
    predicted: list[Predicted]
    provenance: list[Provenance]
    environment: dict[str, str]

    @property
    def failed(self) -> pd.DataFrame:
        return self.rows[self.rows["status"] != Status.COMPLETE.value]


def _best(group: pd.DataFrame, key: tuple[str, str, str]) -> Best | None:
    feasible = group[group["feasible"]]
    students = feasible[feasible["kind"] != "baseline"].sort_values(["top1_pct", "median_ms"], ascending=[False, True])
    if students.empty:
        return None
    s = students.iloc[0]
    best = Best(*key, str(s["candidate"]), str(s["network"]), float(s["top1_pct"]), float(s["median_ms"]),
                str(s["source"]), accuracy_source=_text(s.get("accuracy_source")))  # fmt: skip
    base = feasible[feasible["kind"] == "baseline"].sort_values(["top1_pct", "median_ms"], ascending=[False, True])
    if base.empty:
        return best
    b = base.iloc[0]
    return Best(**{**best.__dict__, "baseline": str(b["candidate"]), "baseline_top1_pct": float(b["top1_pct"]),
                   "baseline_ms": float(b["median_ms"]), "baseline_source": str(b["source"]),
                   "baseline_accuracy_source": _text(b.get("accuracy_source"))})  # fmt: skip


def _text(value: object) -> str:
    """A text cell of a results table, "" where it is missing (a table written before the column existed)."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _summed(rows: pd.DataFrame) -> pd.Series:
    """Rows whose latency is their own prediction from a table of timed blocks or layers (a search's or prune's
    rows): ``predicted_source`` names the latency's own timed source."""
    older = rows["source"].isin(TIMED) & (rows["predicted_source"] == rows["source"]) & rows["predicted_ms"].notna()
    return (rows["source"] == "predicted") | older  # tables written before the label still carry "measured"


def drops(rows: pd.DataFrame) -> list[Drop]:
    """Every complete FP16/INT8 row with a complete FP32 row of the same candidate, device and backend."""
    done = rows[(rows["status"] == Status.COMPLETE.value) & rows["top1_pct"].notna()]
    fp32 = {
        (r.candidate, r.device, r.backend): float(r.top1_pct) for r in done[done["precision"] == "fp32"].itertuples()
    }
    reduced = [r for r in done[done["precision"] != "fp32"].itertuples() if (r.candidate, r.device, r.backend) in fp32]
    return [Drop(str(r.candidate), str(r.device), str(r.backend), str(r.precision), float(r.top1_pct),
                 fp32[r.candidate, r.device, r.backend], _text(getattr(r, "compute", "")))
            for r in reduced]  # fmt: skip


def predicted(rows: pd.DataFrame) -> list[Predicted]:
    """Rows timed whole (measured or agent) that also carry a prediction made otherwise."""
    both = rows["predicted_ms"].notna() & rows["median_ms"].notna()
    timed = rows[rows["source"].isin(TIMED) & both & ~_summed(rows)]
    return [Predicted(str(r.candidate), str(r.device), str(r.backend), str(r.precision), float(r.predicted_ms),
                      r.predicted_source, float(r.median_ms), r.source) for r in timed.itertuples()]  # fmt: skip


def provenance(rows: pd.DataFrame) -> list[Provenance]:
    """One entry per latency source present (timed sources split into timed whole and summed from a table); an
    estimated one carries the largest calibration error among its rows (None when they used uncalibrated priors)."""
    out = []
    with_latency = rows[rows["source"] != ""]
    for (source, summed), group in with_latency.groupby(["source", _summed(with_latency)]):
        errors = group["calibration_rmspe_pct"].dropna() if source == "estimated" else pd.Series(dtype=float)
        rmspe = float(errors.max()) if len(errors) else None
        fits = group.get("fit_rmspe_pct", pd.Series(dtype=float)).dropna() if summed else pd.Series(dtype=float)
        how = SUMMED.format(source=source) if summed and source in TIMED else HOW.get(source, source)
        out.append(Provenance(source, len(group), how, rmspe, float(fits.max()) if len(fits) else None))
    return out


def environment(rows: pd.DataFrame) -> dict[str, str]:
    """Versions, CPU, host and threads the rows were made with (each distinct value listed once)."""

    def distinct(column: str) -> str:
        values = sorted({str(v) for v in rows[column].dropna() if str(v) not in ("", "0")})
        return ", ".join(values) or "-"

    versions = rows[rows["backend_version"] != ""][["backend", "backend_version"]].drop_duplicates()
    return {
        "edgebench": __version__,
        "python (report)": platform.python_version(),
        "backends": ", ".join(f"{b} {v}" for b, v in sorted(versions.itertuples(index=False))) or "-",
        "CPU": distinct("cpu"),
        "host": distinct("host"),
        "threads": distinct("threads"),
        "data": distinct("data"),
    }


def _text_filled(results: pd.DataFrame) -> pd.DataFrame:
    """The results with every text column as strings, an empty cell as "" (a CSV reads it back as NaN)."""
    hints = get_type_hints(ResultRow)
    text = [c for c in results.columns if hints.get(c) is str]
    return results.assign(**{c: results[c].fillna("").astype(str) for c in text})


def report_data(results: pd.DataFrame, budget_ms: float | None = None, title: str | None = None) -> ReportData:
    """Compute the report of a results table (``edgebench run``'s, or a search's or prune's own rows)."""
    rows = pareto.fronts(_text_filled(results), budget_ms)
    summary = pareto.front_summary(rows, budget_ms)
    best, no_student = [], []
    for key, group in rows.groupby(list(pareto.GROUP)):
        names: tuple[str, str, str] = tuple(map(str, key))  # type: ignore[assignment]
        found = _best(group, names)
        if found is None:
            no_student.append(names)
        else:
            best.append(found)
    devices = sorted(rows["device"].astype(str).unique())
    return ReportData(
        title=title or f"edgebench results on {', '.join(devices) or 'no device'}",
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        budget_ms=budget_ms, devices=devices, rows=rows, summary=summary, best=best, no_student=no_student,
        drops=drops(rows), predicted=predicted(rows), provenance=provenance(rows), environment=environment(rows),
    )  # fmt: skip
