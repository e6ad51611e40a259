"""Render :class:`ReportData` into one self-contained HTML file (inline CSS, SVG and script; nothing fetched)."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
import pandas as pd

from edgebench.atomic import write_text_atomic
from edgebench.reporting.data import ReportData, report_data
from edgebench.reporting.plots import pareto_svg, predicted_svg

#: The table's columns, in order (the rest of a results row is in the CSV/Parquet).
COLUMNS = ("candidate", "kind", "network", "device", "backend", "precision", "compute", "status", "error", "top1_pct",
           "reference_top1_pct", "accuracy_source", "median_ms", "p10_ms", "p90_ms", "source", "predicted_ms",
           "predicted_source", "size_bytes", "params", "macs", "backend_version", "threads")  # fmt: skip
TEXT = {"candidate", "kind", "network", "device", "backend", "precision", "compute", "status", "accuracy_source",
        "source", "predicted_source", "backend_version", "error"}  # fmt: skip


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return value


def render(data: ReportData) -> str:
    """The page's HTML text."""
    loader = jinja2.PackageLoader("edgebench.reporting", "templates")
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    plots = [
        pareto_svg(g, data.budget_ms, f"{k[0]} {k[1]} {k[2]}")
        for k, g in data.rows.groupby(["device", "backend", "precision"])
    ]
    rows = data.rows.sort_values(["device", "backend", "precision", "median_ms"], na_position="last")
    table_rows = [{c: _cell(r.get(c)) for c in (*COLUMNS, "on_front")} for r in rows.to_dict("records")]
    return env.get_template("report.html.j2").render(
        d=data, plots=plots, predicted_plot=predicted_svg(data.predicted) if data.predicted else "",
        columns=COLUMNS, text_columns=TEXT, table_rows=table_rows,
    )  # fmt: skip


def write_report(results: pd.DataFrame, out: Path, budget_ms: float | None = None, title: str | None = None) -> Path:
    """Compute and render the report of ``results`` into ``out`` (written whole, then moved into place)."""
    return write_text_atomic(out, render(report_data(results, budget_ms, title)))
