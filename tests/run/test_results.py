"""The results table: a rerun's row replaces the earlier one with its key, both files are written and re-read,
and a file that is not a results table is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edgebench.distill.networks import label
from edgebench.exceptions import ConfigError
from edgebench.results import ResultRow, ResultsTable, from_candidates, read_results
from tests.distill.conftest import smallest


def _row(candidate: str, status: str, top1: float | None) -> ResultRow:
    return ResultRow(candidate, "nas", "net", "", "host", "onnxruntime", "fp32", status, top1_pct=top1, median_ms=1.5)


def test_appending_a_row_with_the_same_key_replaces_it(tmp_path: Path) -> None:
    table = ResultsTable(tmp_path)
    table.append([_row("a", "FAILED", None), _row("b", "COMPLETE", 91.0)])
    assert ResultsTable(tmp_path).done(retry_failed=True) == {("b", "host", "onnxruntime", "fp32")}
    table.append([_row("a", "COMPLETE", 93.5)])
    for name in ("results.csv", "results.parquet"):
        back = read_results(tmp_path / name).set_index("candidate")
        assert len(back) == 2 and back.loc["a", "top1_pct"] == 93.5 and back.loc["a", "status"] == "COMPLETE"
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_file_that_is_not_a_results_table_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ConfigError, match=r"other.csv: not an edgebench results table \(no column candidate"):
        read_results(tmp_path / "other.csv")
    with pytest.raises(ConfigError, match=r"missing.parquet: cannot read a results table"):
        read_results(tmp_path / "missing.parquet")


def test_search_tables_become_rows_of_their_trained_candidates_and_baselines() -> None:
    arch = smallest().to_json()
    candidates = pd.DataFrame([
        {"trial": 0, "arch": arch, "predicted_ms": 1.25, "latency_source": "estimated", "status": "COMPLETE",
         "reason": "", "test_top1_pct": 91.0, "params": 1000, "kind": "nas", "checkpoint": "/ck/0"},
        {"trial": 1, "arch": arch, "predicted_ms": 9.0, "latency_source": "estimated", "status": "INFEASIBLE",
         "reason": "over", "test_top1_pct": None, "params": 0, "kind": "nas", "checkpoint": ""},
    ])  # fmt: skip
    baseline = pd.DataFrame([{"name": "mobilenetv2-0.5-cifar", "latency_ms": 2.0, "latency_source": "estimated",
                              "status": "COMPLETE", "reason": "", "test_top1_pct": 90.0, "params": 5,
                              "checkpoint": ""}])  # fmt: skip
    rows = from_candidates(candidates, baseline, "myriadx", "openvino", "fp16", "digits").set_index("candidate")
    assert list(rows.index) == ["nas-0000", "mobilenetv2-0.5-cifar"]
    assert rows.loc["nas-0000", "network"] == label(smallest())  # not its JSON
    assert rows.loc["nas-0000", "median_ms"] == 1.25 and rows.loc["nas-0000", "source"] == "estimated"
    assert (
        rows.loc["mobilenetv2-0.5-cifar", "kind"] == "baseline" and rows.loc["mobilenetv2-0.5-cifar", "top1_pct"] == 90
    )
    assert (rows["accuracy_source"] == "proxy").all()  # tables from before the label were proxy searches'


def test_search_rows_keep_what_their_accuracy_is_of() -> None:
    candidates = pd.DataFrame([{"trial": 0, "arch": smallest().to_json(), "predicted_ms": 1.0, "latency_source":
                                "estimated", "status": "COMPLETE", "reason": "", "test_top1_pct": 80.0, "params": 9,
                                "kind": "nas", "checkpoint": "", "accuracy_source": "inherited"}])  # fmt: skip
    baseline = pd.DataFrame([{"name": "mobilenetv2-1.0-cifar", "latency_ms": 2.0, "latency_source": "estimated",
                              "status": "COMPLETE", "reason": "", "test_top1_pct": 87.0, "params": 5,
                              "checkpoint": "", "accuracy_source": "trained"}])  # fmt: skip
    rows = from_candidates(candidates, baseline, "myriadx", "openvino", "fp16", "digits")
    assert list(rows["accuracy_source"]) == ["inherited", "trained"]
