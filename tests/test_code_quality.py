"""The style gates configured in pyproject.toml run as part of the test command, so CI enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "edgebench", "tests", "benchmarks"],
        ["ruff", "format", "--check", "edgebench", "tests", "benchmarks"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_passes(command: list[str]) -> None:
    exe = shutil.which(command[0], path=str(Path(sys.executable).parent)) or shutil.which(command[0])
    assert exe, f"{command[0]} is not installed; it comes with: pip install -e '.[dev]'"
    result = subprocess.run([exe, *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
