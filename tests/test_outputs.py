"""Output folders are owned by one run: the same run reuses its folder, another is refused in one line naming what
differs, --overwrite clears it first, and a folder of someone else's files is never written into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench import outputs
from edgebench.cli import app
from edgebench.exceptions import ConfigError
from tests.test_cli import one_line_error

SETTINGS = {"budget_ms": 15.0, "device": "myriadx", "teacher": None}


def test_the_same_run_reuses_its_folder_and_keeps_its_files(tmp_path: Path) -> None:
    out = outputs.claim(tmp_path / "s1", "search", SETTINGS)
    (out / "candidates.csv").write_text("kept")
    assert outputs.claim(out, "search", dict(SETTINGS)) == out
    assert (out / "candidates.csv").read_text() == "kept"
    assert json.loads((out / outputs.MANIFEST).read_text())["settings"] == SETTINGS


def test_another_run_is_refused_naming_what_differs(tmp_path: Path) -> None:
    out = outputs.claim(tmp_path / "s1", "search", SETTINGS)
    (out / "candidates.csv").write_text("kept")
    with pytest.raises(ConfigError, match=r"\(budget_ms: 15.0 -> 12.0\); give another out=, or overwrite=True"):
        outputs.claim(out, "search", {**SETTINGS, "budget_ms": 12.0})
    with pytest.raises(ConfigError, match=r"`edgebench search`, not `edgebench prune`"):
        outputs.claim(out, "prune", SETTINGS)
    assert (out / "candidates.csv").read_text() == "kept"


def test_overwrite_clears_the_folder_first(tmp_path: Path) -> None:
    out = outputs.claim(tmp_path / "s1", "search", SETTINGS)
    (out / "checkpoints" / "trial-0004").mkdir(parents=True)
    outputs.claim(out, "search", {**SETTINGS, "budget_ms": 12.0}, overwrite=True)
    assert not (out / "checkpoints").exists()
    assert json.loads((out / outputs.MANIFEST).read_text())["settings"]["budget_ms"] == 12.0


def test_a_folder_of_other_files_or_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="is not empty and holds no edgebench results"):
        outputs.claim(tmp_path / "mine", "run", SETTINGS)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        outputs.claim(tmp_path / "file", "run", SETTINGS)
    with pytest.raises(ConfigError, match="cannot be written"):
        outputs.claim(tmp_path / "file" / "below", "run", SETTINGS)  # a file in the way of the folder
    (tmp_path / "empty").mkdir()
    assert outputs.claim(tmp_path / "empty", "run", SETTINGS) == tmp_path / "empty"


def test_a_search_into_another_searchs_folder_exits_2_before_any_work(runner: CliRunner, tmp_path: Path) -> None:
    out = outputs.claim(tmp_path / "s1", "search", {"method": "proxy", "study": "another"})
    (out / "front.csv").write_text("kept")
    args = ["search", "--method", "proxy", "--device", "myriadx", "--latency", "12ms", "--out", str(out),
            "--cache-dir", str(tmp_path)]  # fmt: skip
    line = one_line_error(runner.invoke(app, args, terminal_width=300))
    assert f"{out} holds the results of another run" in line and "--overwrite" in line
    assert (out / "front.csv").read_text() == "kept" and not (tmp_path / "luts").exists()
