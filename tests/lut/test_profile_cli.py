"""`edgebench profile` warns when a table's networks disagree with its blocks, the mark of a busy machine."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.lut.store import Correction, LutId, write_table
from edgebench.searching.space import SearchSpace
from tests.test_cli import one_line_error

from .conftest import TINY_SPACE, synthetic_table


def _profile(runner: CliRunner, cache: Path, tiny: SearchSpace, fit_rmspe: float) -> str:
    table = synthetic_table(tiny, Correction(networks=24, fit_rmspe=fit_rmspe))
    table.rows["cv"] = 0.02
    write_table(table, LutId("host", "onnxruntime", "fp32", tiny.name).table_path(cache))
    args = ["profile", "-d", "host", "-b", "onnxruntime", "--space", str(TINY_SPACE), "--cache-dir", str(cache)]
    result = runner.invoke(app, args, terminal_width=300)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_noisy_correction_fit_asks_for_a_rebuild(runner: CliRunner, tiny: SearchSpace, tmp_path: Path) -> None:
    assert "was the machine busy" in _profile(runner, tmp_path / "noisy", tiny, 0.129)
    assert "was the machine busy" not in _profile(runner, tmp_path / "quiet", tiny, 0.043)


@pytest.mark.parametrize(
    ("change", "named"),
    [({"cpu": "Imaginary CPU 9000"}, "CPU 'Imaginary CPU 9000' -> '"),
     ({"backend_version": "0.1"}, "onnxruntime 0.1 -> "), ({"threads": 3}, "threads 3 -> 1"),
     ({"timing": "runtime-reported"}, "timing runtime-reported -> wall-clock")],
)  # fmt: skip
def test_a_table_measured_otherwise_than_now_is_refused(
    runner: CliRunner, tiny: SearchSpace, tmp_path: Path, change: dict[str, object], named: str
) -> None:
    table = synthetic_table(tiny)
    table = dataclasses.replace(table, meta=dataclasses.replace(table.meta, **change))  # type: ignore[arg-type]
    path = LutId("host", "onnxruntime", "fp32", tiny.name).table_path(tmp_path)
    write_table(table, path)
    args = ["profile", "-d", "host", "-b", "onnxruntime", "--space", str(TINY_SPACE), "--cache-dir", str(tmp_path)]
    line = one_line_error(runner.invoke(app, args, terminal_width=300))
    assert f"{path}: measured with other settings than now (" in line and named in line
    assert "edgebench profile --device host --backend onnxruntime --precision fp32 --force" in line
    arch = tmp_path / "arch.json"
    arch.write_text(tiny.sample(random.Random(0)).to_json())
    args = ["predict", str(arch), "-d", "host", "--space", str(TINY_SPACE), "-b", "onnxruntime",
            "--cache-dir", str(tmp_path)]  # fmt: skip
    assert named in one_line_error(runner.invoke(app, args, terminal_width=300))
