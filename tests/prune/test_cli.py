"""`edgebench prune` end to end on an estimated device: a pruned checkpoint that reloads, a results row of kind
'pruned', fine-tuned with the loss asked for, and one-line errors for budgets it cannot reach and criteria and
losses it does not know."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.distill.checkpoint import load_checkpoint
from tests.conftest import two_class_npz_and_checkpoint
from tests.test_cli import one_line_error


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-class .npz and an (untrained) resnet18-0.25-cifar teacher checkpoint for it."""
    return two_class_npz_and_checkpoint(tmp_path_factory.mktemp("prune-cli"), "teacher")


def _args(inputs: tuple[Path, Path], out: Path, latency: str, *extra: str) -> list[str]:
    data, teacher = inputs
    cache = data.parent / "cache"  # one layer table for the module's tests: building it is most of a prune here
    return ["prune", "--device", "rpi5", "--latency", latency, "--teacher", str(teacher), "--data", f"npz:{data}",
            "--final-epochs", "1", "--finetune-every", "2", "--cache-dir", str(cache), "--out", str(out),
            *extra]  # fmt: skip


def test_prune_writes_a_checkpoint_that_reloads_and_a_pruned_row(
    runner: CliRunner, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    result = runner.invoke(app, _args(inputs, tmp_path, "2.5ms"), terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "predicted (estimated)" in result.output and "pruned in" in result.output
    row = pd.read_csv(tmp_path / "candidates.csv").iloc[0]
    assert row["kind"] == "pruned" and row["latency_source"] == "estimated" and row["predicted_ms"] <= 2.5
    student = load_checkpoint(Path(row["checkpoint"]))
    assert sum(p.numel() for p in student.module.parameters()) == row["params"]
    assert (tmp_path / "history.json").is_file()
    html = (tmp_path / "report.html").read_text()
    assert "the unpruned network is the baseline" in html and "resnet18-0.25-cifar" in html


def test_prune_fine_tunes_with_the_loss_chosen(runner: CliRunner, inputs: tuple[Path, Path], tmp_path: Path) -> None:
    result = runner.invoke(app, _args(inputs, tmp_path, "2.5ms", "--loss", "oskd"), terminal_width=200)
    assert result.exit_code == 0, result.output
    student = load_checkpoint(Path(pd.read_csv(tmp_path / "candidates.csv").iloc[0]["checkpoint"]))
    assert student.metrics["loss"] == "oskd" and student.metrics["loss_params"]["neighbours"] == 3


@pytest.mark.parametrize(
    ("latency", "extra", "expected"),
    [
        ("0.01ms", [], "cannot be reached; with 4 channel(s) left in every group"),
        ("2ms", ["--criterion", "l2"], "unknown importance criterion 'l2'"),
        ("2ms", ["--loss", "nope"], "unknown loss 'nope'"),
    ],
)
def test_bad_requests_fail_in_one_line_and_write_nothing(
    runner: CliRunner, inputs: tuple[Path, Path], tmp_path: Path, latency: str, extra: list[str], expected: str
) -> None:
    line = one_line_error(runner.invoke(app, _args(inputs, tmp_path, latency, *extra), terminal_width=300))
    assert expected in line
    assert not (tmp_path / "candidates.csv").exists()
