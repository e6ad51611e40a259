"""`edgebench profile` warns when a table's networks disagree with its blocks, the mark of a busy machine."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.lut.store import Correction, LutId, write_table
from edgebench.search.space import SearchSpace

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


def test_a_table_timed_on_another_cpu_is_refused(runner: CliRunner, tiny: SearchSpace, tmp_path: Path) -> None:
    table = synthetic_table(tiny)
    table = dataclasses.replace(table, meta=dataclasses.replace(table.meta, cpu="Imaginary CPU 9000"))
    path = LutId("host", "onnxruntime", "fp32", tiny.name).table_path(tmp_path)
    write_table(table, path)
    args = ["profile", "-d", "host", "-b", "onnxruntime", "--space", str(TINY_SPACE), "--cache-dir", str(tmp_path)]
    result = runner.invoke(app, args, terminal_width=300)
    assert result.exit_code == 2
    assert f"{path}: measured on CPU 'Imaginary CPU 9000'" in result.output
    assert "edgebench profile --device host --force" in result.output
    arch = tmp_path / "arch.json"
    arch.write_text(tiny.sample(random.Random(0)).to_json())
    args = ["predict", str(arch), "--space", str(TINY_SPACE), "-b", "onnxruntime", "--cache-dir", str(tmp_path)]
    predicted = runner.invoke(app, args, terminal_width=300)
    assert predicted.exit_code == 2 and "measured on CPU 'Imaginary CPU 9000'" in predicted.output
