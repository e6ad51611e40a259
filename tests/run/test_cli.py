"""`edgebench run` end to end: rows printed and written, a broken candidate FAILED with its reason and exit 1
while the others complete, a rerun that has nothing left to do, and bad requests refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.results import read_results
from tests.test_cli import one_line_error


@pytest.mark.slow
def test_run_writes_rows_and_a_broken_candidate_fails_alone(
    runner: CliRunner, outputs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, out = outputs
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "arch.json").write_text("{not json")
    (broken / "weights.pt").write_bytes(b"")
    args = ["run", str(out), str(broken), "--device", "host", "-b", "onnxruntime", "-p", "fp32", "--data",
            f"npz:{data}", "--repeats", "20", "--out", str(tmp_path / "run")]  # fmt: skip
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 1, result.output
    assert "2 rows to run on host (latency measured); 0 kept" in result.output
    assert (
        "FAILED broken onnxruntime fp32: ConfigError:" in result.output
        and "cannot read checkpoint JSON" in result.output
    )
    assert "prune-out/pruned-0000 onnxruntime fp32: top-1" in result.output and "(measured)" in result.output
    assert "cannot read checkpoint JSON" in (tmp_path / "run" / "report.html").read_text()
    rows = read_results(tmp_path / "run").set_index("candidate")
    assert rows.loc["broken", "status"] == "FAILED" and rows.loc["prune-out/pruned-0000", "status"] == "COMPLETE"
    again = runner.invoke(app, args, terminal_width=200)
    assert again.exit_code == 1, again.output  # the table still holds a FAILED row of this plan
    assert "0 rows to run on host (latency measured); 2 kept" in again.output
    assert "1 rows kept from an earlier run are FAILED; --retry-failed reruns them" in again.output
    complete = runner.invoke(app, [*args[:2], *args[3:]], terminal_width=200)
    assert complete.exit_code == 0 and "0 rows to run on host (latency measured); 1 kept" in complete.output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["--device", "nosuch"], "unknown device 'nosuch'"),
        (["-p", "fp8"], "unknown precision 'fp8'"),
        (["--timeout", "soon"], "--timeout 'soon' is not a positive duration"),
        (["--latency", "fast"], "--latency 'fast' is not a positive duration"),
        (["--data", "npz:/no/such.npz"], "/no/such.npz"),
    ],
)
def test_bad_run_requests_fail_in_one_line(
    runner: CliRunner, outputs: tuple[Path, Path], tmp_path: Path, change: list[str], expected: str
) -> None:
    _, out = outputs
    args = ["run", str(out), "--out", str(tmp_path), *change]
    assert expected in one_line_error(runner.invoke(app, args, terminal_width=300))


def test_a_path_with_nothing_to_run_fails_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    line = one_line_error(runner.invoke(app, ["run", str(tmp_path), "--out", str(tmp_path)], terminal_width=300))
    assert "neither a checkpoint folder nor a search/prune output" in line
