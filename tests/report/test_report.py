"""The report: its numbers computed from a hand-made results table (best student, gain over the baseline,
precision drops, predicted vs timed, provenance), then the page rendered, written and re-read."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from edgebench.report import write_report
from edgebench.report.data import report_data
from edgebench.results import COLUMNS, ResultRow


def _row(candidate: str, backend: str, precision: str, top1: float | None, ms: float | None, **kw: object) -> dict:
    status = "COMPLETE" if top1 is not None else "FAILED"
    base = {"kind": "nas", "network": f"net-{candidate}", "source": "measured", "cpu": "Test CPU", "threads": 1,
            "backend_version": {"onnxruntime": "1.0", "openvino": "2.0"}[backend]}  # fmt: skip
    fields = {**base, **kw}
    return ResultRow(candidate, fields.pop("kind"), fields.pop("network"), "", "host", backend, precision, status,
                     top1_pct=top1, median_ms=ms, **fields).to_dict()  # fmt: skip


@pytest.fixture
def results() -> pd.DataFrame:
    rows = [
        _row("a", "onnxruntime", "fp32", 95.0, 1.0, predicted_ms=1.1),
        _row("b", "onnxruntime", "fp32", 97.0, 1.8, predicted_ms=1.5),
        _row("c", "onnxruntime", "fp32", 99.0, 3.0),  # most accurate, but over a 2 ms budget
        _row("w0.5", "onnxruntime", "fp32", 94.0, 1.2, kind="baseline"),
        _row("w1.0", "onnxruntime", "fp32", 96.0, 1.9, kind="baseline"),
        _row("a", "onnxruntime", "int8", 93.5, 0.5),
        _row("b", "onnxruntime", "int8", 97.5, 0.9),
        _row("bad", "onnxruntime", "int8", None, None, error="RuntimeError: <op> Foo is not supported", source=""),
        _row("a", "openvino", "fp32", 95.0, 4.0, source="estimated", calibration_rmspe_pct=22.2),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_best_feasible_student_and_its_gain_over_the_best_feasible_baseline(results: pd.DataFrame) -> None:
    data = report_data(results, budget_ms=2.0)
    best = {(b.backend, b.precision): b for b in data.best}
    ort = best["onnxruntime", "fp32"]
    assert (ort.candidate, ort.top1_pct, ort.median_ms, ort.baseline, ort.baseline_top1_pct) == (
        "b",
        97.0,
        1.8,
        "w1.0",
        96.0,
    )
    assert ort.gain_points == pytest.approx(1.0)
    assert best["onnxruntime", "int8"].candidate == "b" and best["onnxruntime", "int8"].gain_points is None
    assert ("openvino", "fp32") not in best  # 4 ms: nothing feasible there


def test_precision_drops_predictions_and_provenance(results: pd.DataFrame) -> None:
    data = report_data(results, budget_ms=2.0)
    assert {(d.candidate, d.points) for d in data.drops} == {("a", -1.5), ("b", 0.5)}
    assert {(p.candidate, round(p.error_pct, 3)) for p in data.predicted} == {("a", 10.0), ("b", round(-100 / 6, 3))}
    provenance = {p.source: p for p in data.provenance}
    assert provenance["measured"].rows == 7 and provenance["estimated"].rmspe_pct == 22.2
    assert data.environment["backends"] == "onnxruntime 1.0, openvino 2.0" and data.environment["CPU"] == "Test CPU"
    assert len(data.failed) == 1


def test_the_page_is_self_contained_and_shows_what_failed(results: pd.DataFrame, tmp_path: Path) -> None:
    path = write_report(results, tmp_path / "sub" / "r.html", budget_ms=2.0, title="t <1>")
    html = path.read_text(encoding="utf-8")
    assert "<title>t &lt;1&gt;</title>" in html  # escaped
    assert "RuntimeError: &lt;op&gt; Foo is not supported" in html and "<b>2 ms</b>" in html
    assert html.count("<svg") == 4  # three groups and predicted vs timed
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from a network
    assert "22.2 %" in html and "uncalibrated" not in html
    again = write_report(results, tmp_path / "again.html", budget_ms=2.0, title="t <1>").read_text(encoding="utf-8")
    assert again.split("by edgebench", 1)[1] == html.split("by edgebench", 1)[1]  # same results, same page
