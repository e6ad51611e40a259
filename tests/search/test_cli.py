"""`edgebench search` end to end on a tiny 32x32 space and the estimated myriadx: results written and re-read, a
rerun resumes without training again, and bad requests fail in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.distill.checkpoint import load_checkpoint
from tests.conftest import two_class_npz_and_checkpoint
from tests.test_cli import one_line_error

TINY32 = Path(__file__).with_name("tiny32.yaml")


def _args(tmp_path: Path, npz: Path, latency: str) -> list[str]:
    return ["search", "--method", "proxy", "--device", "myriadx", "--latency", latency, "--space", str(TINY32),
            "--trials", "2", "--epochs", "1", "--proxy-resolution", "16", "--distill", "ce", "--data", f"npz:{npz}",
            "--no-baseline", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip


def test_a_search_writes_its_tables_and_a_rerun_resumes(runner: CliRunner, tmp_path: Path, npz: Path) -> None:
    result = runner.invoke(app, _args(tmp_path, npz, "1s"), terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "out" / "candidates.csv")
    done = rows[rows["status"] == "COMPLETE"]
    assert len(done) == 2 and (done["latency_source"] == "estimated").all() and done["val_top1_pct"].notna().all()
    for row in done.itertuples():  # kept for `edgebench run`, which scores the converted networks
        student = load_checkpoint(Path(row.checkpoint))
        assert sum(p.numel() for p in student.module.parameters()) == row.params
        assert student.metrics["result"]["val_top1_pct"] == pytest.approx(row.val_top1_pct)
    assert "latency predicted from the LUT" in (tmp_path / "out" / "report.html").read_text()
    front = pd.read_csv(tmp_path / "out" / "front.csv")
    assert 1 <= len(front) <= 2 and set(front["trial"]) <= set(done["trial"])
    assert "2 trained" in result.output and "results in" in result.output
    again = runner.invoke(app, [*_args(tmp_path, npz, "1s"), "--resume"], terminal_width=200)
    assert again.exit_code == 0, again.output
    assert pd.read_csv(tmp_path / "out" / "candidates.csv").equals(rows)  # nothing trained twice


@pytest.mark.parametrize("method", ["proxy", "oneshot"])
def test_a_budget_nothing_meets_fails_with_the_fastest_latency(
    runner: CliRunner, tmp_path: Path, npz: Path, method: str
) -> None:
    args = ["search", "--method", method, "--device", "myriadx", "--latency", "1us", "--space", str(TINY32),
            "--distill", "ce", "--data", f"npz:{npz}", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    line = one_line_error(runner.invoke(app, args, terminal_width=300))
    assert "nothing in space 'tiny32' meets 0.001 ms on myriadx" in line
    assert "the fastest architecture is predicted at" in line and "(estimated)" in line


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["--latency", "fast"], "--latency 'fast' is not a positive duration"),
        (["--resume"], "to resume; start it without resuming"),
        (["--space", "mbv2-224"], "space 'mbv2-224' is for 224x224 inputs"),
        (["--distill", "kdd"], "unknown loss 'kdd'"),
    ],
)
def test_bad_search_requests_fail_in_one_line(
    runner: CliRunner, tmp_path: Path, npz: Path, change: list[str], expected: str
) -> None:
    args = _args(tmp_path, npz, "1s")
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args.extend(change)
    assert expected in one_line_error(runner.invoke(app, args, terminal_width=300))


def test_the_estimator_command_builds_once_then_reuses(runner: CliRunner, tmp_path: Path) -> None:
    data, teacher = two_class_npz_and_checkpoint(tmp_path, "teacher")
    args = ["estimator", "--space", str(TINY32), "--data", f"npz:{data}", "--teacher", str(teacher), "--epochs", "1",
            "--largest-epochs", "0", "--samples", "3", "--cache-dir", str(tmp_path / "cache"),
            "--torch-device", "cpu"]  # fmt: skip
    first = runner.invoke(app, args, terminal_width=300)
    assert first.exit_code == 0, first.output
    assert "predictor on 5 scored sub-networks: held-out Kendall tau" in first.output
    assert "supernet: validation top-1 of the largest sub-network" in first.output
    (folder,) = (tmp_path / "cache" / "estimators").iterdir()
    assert {p.name for p in folder.iterdir()} >= {"provenance.json", "supernet.pt", "samples.csv", "predictor.json"}
    stamp = (folder / "supernet.pt").stat().st_mtime_ns
    again = runner.invoke(app, args, terminal_width=300)
    assert again.exit_code == 0 and (folder / "supernet.pt").stat().st_mtime_ns == stamp  # loaded, not retrained


def test_the_estimator_of_other_data_needs_its_teacher(runner: CliRunner, tmp_path: Path, npz: Path) -> None:
    result = runner.invoke(app, ["estimator", "--space", str(TINY32), "--data", f"npz:{npz}"], terminal_width=300)
    assert result.exit_code == 2
    assert "needs a teacher trained on" in one_line_error(result)


def _estimator(runner: CliRunner, tmp_path: Path, data: Path, teacher: Path) -> Path:
    """A one-epoch estimator of tiny32 on ``data``, built by the command a user runs; its folder."""
    args = ["estimator", "--space", str(TINY32), "--data", f"npz:{data}", "--teacher", str(teacher), "--epochs", "1",
            "--largest-epochs", "0", "--samples", "3", "--cache-dir", str(tmp_path / "cache"),
            "--torch-device", "cpu"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    (folder,) = (tmp_path / "cache" / "estimators").iterdir()
    return folder


def _one_shot(tmp_path: Path, data: Path, teacher: Path, estimator: Path, *extra: str) -> list[str]:
    return ["search", "--method", "oneshot", "--device", "myriadx", "--latency", "1s", "--space", str(TINY32),
            "--data", f"npz:{data}", "--teacher", str(teacher), "--estimator", str(estimator), "--students", "2",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), *extra]  # fmt: skip


def test_a_one_shot_search_labels_estimates_and_inherited_students(runner: CliRunner, tmp_path: Path) -> None:
    data, teacher = two_class_npz_and_checkpoint(tmp_path, "teacher")
    folder = _estimator(runner, tmp_path, data, teacher)
    result = runner.invoke(app, _one_shot(tmp_path, data, teacher, folder, "--no-baseline"), terminal_width=300)
    assert result.exit_code == 0, result.output
    judged = pd.read_csv(tmp_path / "out" / "judged.csv")
    assert len(judged) > 2 and (judged["predicted_ms"] <= 1000).all() and judged["estimated_pct"].notna().all()
    students = pd.read_csv(tmp_path / "out" / "candidates.csv")
    assert 1 <= len(students) <= 2 and (students["accuracy_source"] == "inherited").all()
    assert students["estimated_pct"].max() == pytest.approx(judged["estimated_pct"].max())  # the best one is kept
    for row in students.itertuples():  # saved for `edgebench run`
        student = load_checkpoint(Path(row.checkpoint))
        assert student.metrics["result"]["val_top1_pct"] == pytest.approx(row.val_top1_pct)
        assert sum(p.numel() for p in student.module.parameters()) == row.params
    assert f"judged under the budget by the estimator in {folder}" in result.output
    assert "inherited" in result.output and "estimated %" in result.output
    report = (tmp_path / "out" / "report.html").read_text()
    assert "students&#39; PyTorch validation top-1 with the weights inherited from the supernet" in report
    assert students["test_top1_pct"].isna().all()  # scored by `edgebench run` on the converted network


def test_a_one_shot_search_refuses_an_estimator_of_another_teacher(runner: CliRunner, tmp_path: Path) -> None:
    data, teacher = two_class_npz_and_checkpoint(tmp_path, "teacher")
    folder = _estimator(runner, tmp_path, data, teacher)
    other = two_class_npz_and_checkpoint(tmp_path, "other")[1]
    (other / "weights.pt").write_bytes((other / "weights.pt").read_bytes() + b"\0")  # other weights, same network
    result = runner.invoke(app, _one_shot(tmp_path, data, other, folder, "--no-baseline"), terminal_width=300)
    line = one_line_error(result)
    assert f"{folder}: this estimator was built for another teacher" in line and "refused" in line


def test_the_search_report_states_the_calibration_and_environment_of_its_latencies(
    runner: CliRunner, tmp_path: Path
) -> None:
    data, teacher = two_class_npz_and_checkpoint(tmp_path, "teacher")
    folder = _estimator(runner, tmp_path, data, teacher)
    result = runner.invoke(app, _one_shot(tmp_path, data, teacher, folder, "--no-baseline"), terminal_width=300)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "uncalibrated priors" not in html and "23.5 %" in html  # myriadx's shipped calibration, as its LUT says


@pytest.mark.parametrize(
    ("extra", "flag", "method"), [([], "--trials", "proxy"), (["--method", "proxy"], "--students", "oneshot")]
)
def test_an_option_of_the_other_method_exits_2_before_any_work(
    runner: CliRunner, tmp_path: Path, extra: list[str], flag: str, method: str
) -> None:
    args = ["search", "-l", "15ms", *extra, flag, "3", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path)]
    line = one_line_error(runner.invoke(app, args, terminal_width=300))
    assert f"{flag} applies to --method {method} only" in line and f"add --method {method}" in line
    assert not any(tmp_path.iterdir())  # no table built, no folder claimed
