"""LUT tables round-trip with their metadata; journals survive a cut-short line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from edgebench.exceptions import ConfigError
from edgebench.lut.store import Correction, Journal, read_table, write_table
from edgebench.searching.space import SearchSpace
from tests.lut.conftest import synthetic_table


def test_table_round_trips_with_metadata(cifar: SearchSpace, tmp_path: Path) -> None:
    table = synthetic_table(cifar, Correction(0.1, 0.2, 0.05, 12, 0.03), drop=2)
    path = tmp_path / "t.csv"
    write_table(table, path)
    back = read_table(path)
    assert back.meta == table.meta
    pd.testing.assert_frame_equal(back.rows, table.rows, check_dtype=False)
    assert path.read_text().startswith("# edgebench-lut {") and not list(tmp_path.glob("*.tmp"))


def test_a_writer_leaves_a_running_writers_temp_alone_and_removes_a_killed_ones(
    cifar: SearchSpace, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    with subprocess.Popen(["sleep", "30"]) as running, subprocess.Popen(["true"]) as killed:
        killed.wait()
        live, dead = (tmp_path / f".t.csv.{p.pid}.tmp" for p in (running, killed))
        live.write_text("half a table")
        dead.write_text("half a table")
        write_table(synthetic_table(cifar, Correction(0.1, 0.2, 0.05, 12, 0.03)), path)
        assert live.exists() and not dead.exists() and read_table(path).rows.shape[0] > 0
        running.kill()


@pytest.mark.parametrize(("backend", "timing"), [("openvino", "runtime-reported"), ("onnxruntime", "wall-clock")])
def test_a_table_written_before_the_timing_stamp_reads_as_timed_then(
    tiny: SearchSpace, tmp_path: Path, backend: str, timing: str
) -> None:
    table = synthetic_table(tiny)
    path = tmp_path / "old.csv"
    write_table(dataclasses.replace(table, meta=dataclasses.replace(table.meta, backend=backend)), path)
    header, _, body = path.read_text().partition("\n")
    meta = json.loads(header.removeprefix("# edgebench-lut "))
    del meta["timing"]
    path.write_text(f"# edgebench-lut {json.dumps(meta)}\n{body}")
    assert read_table(path).meta.timing == timing


def test_a_file_that_is_not_a_lut_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"x.csv: not an edgebench LUT"):
        read_table(path)


def test_journal_drops_a_line_cut_short_by_a_kill(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.start({"a": 1})
    journal.append({"id": "k1", "pass": 0, "samples": [1.0]})
    with journal.path.open("a") as f:
        f.write('{"id": "k2", "pass": 0, "sam')  # what kill -9 leaves
    journal.repair()
    journal.append({"id": "k3", "pass": 0, "samples": [2.0]})
    assert journal.header() == {"a": 1}
    assert [e["id"] for e in journal.entries()] == ["k1", "k3"]
