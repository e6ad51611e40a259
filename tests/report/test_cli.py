"""`edgebench report`: a results table in, one HTML file out; a file that is not a results table fails in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.results import COLUMNS
from tests.report.test_report import _row
from tests.test_cli import one_line_error


def test_report_writes_the_page(runner: CliRunner, tmp_path: Path) -> None:
    rows = [_row("a", "onnxruntime", "fp32", 95.0, 1.0), _row("b", "onnxruntime", "fp32", 97.0, 3.0)]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "results.csv", index=False)
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", str(tmp_path), "--latency", "2ms", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    html = out.read_text()
    assert "<b>2 ms</b>" in html and "over budget (1)" in html


def test_a_file_that_is_not_a_results_table_fails_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    line = one_line_error(runner.invoke(app, ["report", str(tmp_path / "x.csv")], terminal_width=300))
    assert "x.csv: not an edgebench results table (no column candidate" in line
