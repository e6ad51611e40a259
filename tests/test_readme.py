"""The README's "From Python" script runs as written: it profiles, searches, runs and reports, and what it writes
reads back with every number labelled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_script() -> str:
    """The first Python block of the README's "From Python" section."""
    section = README.read_text().split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.long
def test_the_from_python_script_profiles_searches_runs_and_reports(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(python_script())
    env = {**os.environ, "EDGEBENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "source: estimated" in done.stdout and "0 failed; report in reports/python-report.html" in done.stdout
    students = pd.read_parquet(tmp_path / "reports/python-search/candidates.parquet")
    assert len(students) == 2 and (students["latency_source"] == "estimated").all()
    assert (students["predicted_ms"] <= 15).all() and students["val_top1_pct"].notna().all()
    results = pd.read_parquet(tmp_path / "reports/python-run/results.parquet")
    assert len(results) == 2 and (results["status"] == "COMPLETE").all() and (results["source"] == "measured").all()
    assert results["top1_pct"].between(0, 100).all() and (results["median_ms"] > 0).all()
    assert "python-search/nas-0000" in (tmp_path / "reports/python-report.html").read_text()
