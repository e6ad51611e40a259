"""`edgebench profile` on a device behind an agent: the CLI builds and validates the LUT there, labelled ``agent``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from tests.agent.conftest import ENV, TOKEN, board_profile
from tests.lut.conftest import TINY_SPACE


def test_profile_builds_a_lut_through_the_agent(
    agent: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = board_profile(tmp_path, agent)
    args = ["profile", "--device", str(board), "--space", str(TINY_SPACE), "-b", "onnxruntime", "--passes", "2",
            "--window", "3", "--workers", "1", "--cache-dir", str(tmp_path / "cache"), "--validate", "4"]  # fmt: skip
    missing = runner.invoke(app, args, terminal_width=200)
    assert missing.exit_code == 2 and f"${ENV} is not set; export the token" in missing.output
    monkeypatch.setenv(ENV, TOKEN)
    built = runner.invoke(app, args, terminal_width=200)
    assert built.exit_code == 0, built.output
    line = next(row for row in built.output.splitlines() if row.strip().startswith("onnxruntime"))  # the summary
    assert line.split()[1:3] == ["fp32", "12"] and line.split()[-1] == "agent"
    table = tmp_path / "cache" / "luts" / "board" / "tiny" / "onnxruntime-fp32.csv"
    assert table.exists() and table.with_suffix(".validation.png").exists()
    assert "onnxruntime fp32: 4 networks, RMSE" in built.output  # the networks were timed on the agent too
