"""The report: its numbers computed from a hand-made results table (best student, gain over the baseline,
precision drops, predicted vs timed, provenance), then the page rendered, written and re-read."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from edgebench.reporting import write_report
from edgebench.reporting.data import HOW, SUMMED, report_data
from edgebench.reporting.render import render
from edgebench.results import COLUMNS, ResultRow, read_results


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
        _row("a", "onnxruntime", "fp32", 95.0, 1.0, predicted_ms=1.1, predicted_source="estimated"),
        _row("b", "onnxruntime", "fp32", 97.0, 1.8, predicted_ms=1.5, predicted_source="estimated"),
        _row("d", "onnxruntime", "fp32", 97.0, 1.95),  # as accurate as b, slower
        _row("c", "onnxruntime", "fp32", 99.0, 3.0),  # most accurate, but over a 2 ms budget
        _row("w0.5", "onnxruntime", "fp32", 94.0, 1.2, kind="baseline"),
        _row("w1.0", "onnxruntime", "fp32", 96.0, 1.9, kind="baseline", source="agent"),
        _row("a", "onnxruntime", "int8", 93.5, 0.5),
        _row("b", "onnxruntime", "int8", 97.5, 0.9),
        _row("bad", "onnxruntime", "int8", None, None, error="RuntimeError: <op> Foo is not supported", source=""),
        _row("a", "openvino", "fp32", 95.0, 4.0, source="estimated", predicted_ms=4.0, calibration_rmspe_pct=22.2),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_best_feasible_student_and_its_gain_over_the_best_feasible_baseline(results: pd.DataFrame) -> None:
    data = report_data(results, budget_ms=2.0)
    best = {(b.backend, b.precision): b for b in data.best}
    ort = best["onnxruntime", "fp32"]
    assert (ort.candidate, ort.top1_pct, ort.median_ms, ort.source) == ("b", 97.0, 1.8, "measured")  # d: a tie, slower
    assert (ort.baseline, ort.baseline_top1_pct, ort.baseline_ms, ort.baseline_source) == ("w1.0", 96.0, 1.9, "agent")
    assert ort.gain_points == pytest.approx(1.0)
    assert best["onnxruntime", "int8"].candidate == "b" and best["onnxruntime", "int8"].gain_points is None
    assert ("openvino", "fp32") not in best and data.no_student == [("host", "openvino", "fp32")]  # 4 ms
    assert data.devices == ["host"]
    assert data.summary[["backend", "precision", "feasible", "on_front"]].values.tolist() == [
        ["onnxruntime", "fp32", 5, 2],  # a, b, d and both baselines feasible; a and b on the front
        ["onnxruntime", "int8", 2, 2],
        ["openvino", "fp32", 0, 0],
    ]


def test_precision_drops_predictions_and_provenance(results: pd.DataFrame) -> None:
    data = report_data(results, budget_ms=2.0)
    assert {(d.candidate, d.label, d.points) for d in data.drops} == {("a", "int8", -1.5), ("b", "int8", 0.5)}
    # the estimated row was never timed: nothing to compare its prediction with
    assert {(p.candidate, round(p.error_pct, 3)) for p in data.predicted} == {("a", 10.0), ("b", round(-100 / 6, 3))}
    provenance = {p.source: p for p in data.provenance}
    assert {s: p.rows for s, p in provenance.items()} == {"measured": 7, "agent": 1, "estimated": 1}
    assert provenance["estimated"].rmspe_pct == 22.2 and provenance["measured"].rmspe_pct is None
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
    assert "failed (1)" in html and "over budget (1)" in html  # the plots' legends
    assert "latency (ms; estimated, RMSPE 22 %)" in html and "timed latency (ms; measured)" in html  # axis labels
    assert html.count('<tr class="failed">') == 1 and "No feasible student under 2 ms in:\nhost openvino fp32." in html
    assert [p.name for p in path.parent.iterdir()] == ["r.html"]  # the temporary file was moved into place
    assert html.count("<div") == html.count("</div>") and html.count("<table") == html.count("</table>")
    again = write_report(results, tmp_path / "again.html", budget_ms=2.0, title="t <1>").read_text(encoding="utf-8")
    assert again.split("by edgebench", 1)[1] == html.split("by edgebench", 1)[1]  # same results, same page


def test_a_drop_at_a_precision_the_runtime_did_not_compute_in_says_so(results: pd.DataFrame, tmp_path: Path) -> None:
    wider = _row("a", "openvino", "fp16", 95.0, 4.0, source="estimated", compute="fp32")  # no FP16 units: f32 math
    rows = pd.concat([results, pd.DataFrame([wider], columns=COLUMNS)], ignore_index=True)
    drops = {(d.backend, d.precision): d for d in report_data(rows, budget_ms=2.0).drops}
    assert (drops["openvino", "fp16"].label, drops["openvino", "fp16"].points) == ("fp16, computed fp32", 0.0)
    assert drops["onnxruntime", "int8"].label == "int8"  # said only where it differs
    assert "fp16, computed fp32" in write_report(rows, tmp_path / "r.html", budget_ms=2.0).read_text(encoding="utf-8")
    old = rows.drop(columns="compute")  # a table written before the column existed
    assert {d.label for d in report_data(old, budget_ms=2.0).drops} == {"int8", "fp16"}


def test_latencies_summed_from_a_table_are_no_timing_and_a_csv_reads_back_the_same(tmp_path: Path) -> None:
    rows = [  # as a search's page has them: a candidate priced from the LUT, a baseline timed whole
        _row("nas-0001", "onnxruntime", "fp32", 90.0, 1.2, predicted_ms=1.2, predicted_source="measured"),
        _row("mobilenetv2-1.0", "onnxruntime", "fp32", 91.0, 1.5, kind="baseline", predicted_ms=1.2),
        _row("nas-0002", "onnxruntime", "fp32", None, None, error="ValueError: nan", source="", backend_version=""),
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.to_csv(tmp_path / "results.csv", index=False)
    for table in (frame, read_results(tmp_path / "results.csv")):  # a CSV gives its empty cells back as NaN
        data = report_data(table)
        assert [(p.candidate, p.predicted_source, p.error_pct) for p in data.predicted] == [
            ("mobilenetv2-1.0", "", pytest.approx(-20.0))
        ]
        assert [(p.source, p.rows, p.how) for p in data.provenance] == [
            ("measured", 1, HOW["measured"]),
            ("measured", 1, SUMMED.format(source="measured")),
        ]
        assert [(b.candidate, b.baseline, b.gain_points) for b in data.best] == [("nas-0001", "mobilenetv2-1.0", -1.0)]
        assert data.environment["backends"] == "onnxruntime 1.0"


def test_a_predicted_latency_is_explained_as_a_sum_and_never_as_a_timing() -> None:
    rows = [
        _row("nas-0001", "onnxruntime", "fp32", 90.0, 1.2, source="predicted", predicted_ms=1.2,
             predicted_source="predicted", fit_rmspe_pct=4.3),
        _row("mobilenetv2-1.0", "onnxruntime", "fp32", 91.0, 1.5, kind="baseline", predicted_ms=1.2),
    ]  # fmt: skip
    data = report_data(pd.DataFrame(rows, columns=COLUMNS))
    assert [p.candidate for p in data.predicted] == ["mobilenetv2-1.0"]  # only the whole network counts as timed
    assert {(p.source, p.how, p.fit_rmspe_pct) for p in data.provenance} == {
        ("measured", HOW["measured"], None), ("predicted", HOW["predicted"], 4.3)}  # fmt: skip
    assert "not timed whole" in HOW["predicted"]
    assert "latency (ms; candidates predicted, baselines measured)" in render(data)  # the plot says what it mixes
    assert "<td>4.3 %</td>" in render(data)  # the table correction's residual, as the LUT recorded it
