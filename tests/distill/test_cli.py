"""`edgebench teacher train` and `edgebench train`: a real (tiny) run end to end, teacher-free losses that never
touch a teacher, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgebench.api import training
from edgebench.cli import app
from edgebench.distill.checkpoint import ARCH, METRICS, WEIGHTS
from tests.distill.conftest import smallest
from tests.test_cli import one_line_error


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (rng.integers(0, 120, (60, 32, 32, 3)) + 120 * y[:, None, None, None]).astype(np.uint8)
    np.savez(tmp_path / "tiny.npz", x=x, y=y)
    return tmp_path / "tiny.npz"


@pytest.fixture
def arch(tmp_path: Path) -> Path:
    path = tmp_path / "student.json"
    path.write_text(smallest().to_json())
    return path


def test_train_a_teacher_then_distil_a_student(runner: CliRunner, tmp_path: Path, npz: Path, arch: Path) -> None:
    teacher = tmp_path / "teacher"
    args = ["teacher", "train", "--data", f"npz:{npz}", "--arch", "resnet18-0.25-cifar", "--epochs", "1", "-o"]
    result = runner.invoke(app, [*args, str(teacher)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert all((teacher / f).is_file() for f in (WEIGHTS, ARCH, METRICS)) and "wrote checkpoint" in result.output
    args = ["train", "--arch", str(arch), "--loss", "kd", "--teacher", str(teacher), "--data", f"npz:{npz}"]
    result = runner.invoke(app, [*args, "--epochs", "1", "--batch-size", "16"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "test top-1" in result.output and f"teacher {teacher}: test top-1" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--data", "mnist:/data"], "'mnist:/data' is not one of: cluttered-digits (default), digits, cifar10:PATH"),
        (["--data", "cifar10:/no/such/dir"], "/no/such/dir does not exist (valid forms:"),
        (["--loss", "kdd"], "unknown loss 'kdd'"),
        (["--loss", "ce", "--eta", "0.5"], "loss 'ce' has no hyper-parameter 'eta'"),
        (["--teacher", "/no/such/teacher"], "not an edgebench checkpoint"),
        (["--loss", "kd", "--peers", "3"], "loss 'kd' has no hyper-parameter 'peers'; it takes: temperature, alpha"),
        (["--loss", "dml", "--peers", "1"], "loss 'dml': peers must be an integer >= 2"),
        (["--loss", "dml", "--rampup", "2"], "loss 'dml': rampup must be a fraction of training, 0 to 1, not 2.0"),
    ],
)
def test_bad_training_requests_fail_in_one_line(runner: CliRunner, arch: Path, args: list[str], expected: str) -> None:
    line = one_line_error(runner.invoke(app, ["train", "--arch", str(arch), *args], terminal_width=300))
    assert expected in line


def _no_teacher(*_: object) -> None:
    raise AssertionError("a loss without a teacher loaded or trained one")


@pytest.mark.parametrize("args", [["--loss", "oskd", "--neighbours", "2"], ["--loss", "dml", "--peers", "2"]])
def test_teacher_free_losses_train_without_any_teacher(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, npz: Path, arch: Path, args: list[str]
) -> None:
    monkeypatch.setattr(training, "default_teacher", _no_teacher)
    monkeypatch.setattr(training, "load_checkpoint", _no_teacher)
    cache, out = tmp_path / "cache", tmp_path / "student"
    train = ["train", "-a", str(arch), *args, "--data", f"npz:{npz}", "--epochs", "1", "--batch-size", "16"]
    result = runner.invoke(app, [*train, "--cache-dir", str(cache), "-o", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "test top-1" in result.output and not any(line.startswith("teacher") for line in result.output.splitlines())
    assert not (cache / "teachers").exists()
    metrics = json.loads((out / METRICS).read_text())
    assert metrics["loss"] == args[1] and metrics["loss_params"][args[2][2:]] == int(args[3])
    assert len(metrics["result"]["peers_val_top1_pct"]) == (2 if args[1] == "dml" else 0)


def test_distillation_on_other_data_needs_a_teacher(runner: CliRunner, arch: Path, npz: Path) -> None:
    line = one_line_error(runner.invoke(app, ["train", "-a", str(arch), "--data", f"npz:{npz}"], terminal_width=300))
    assert "needs a teacher trained on" in line and "edgebench teacher train --data" in line


def test_an_imagenet_network_is_refused_for_32x32_data(runner: CliRunner) -> None:
    line = one_line_error(runner.invoke(app, ["teacher", "train", "--arch", "resnet18-224"], terminal_width=300))
    assert "built for 224x224 inputs" in line


@pytest.mark.parametrize("command", [["train"], ["teacher", "train"]])
def test_help_explains_data_and_losses(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "cifar10:PATH" in result.output and "Example:" in result.output
