"""The runner: isolated jobs whose crash or hang is a FAILED row, converted-artifact accuracy and latency rows on
host (measured) and rpi5 (estimated), a results table that survives a rerun, and candidates from outputs."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from edgebench.distill.checkpoint import load_checkpoint, save_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig, TrainResult
from edgebench.exceptions import ConfigError
from edgebench.results import ResultsTable, read_results
from edgebench.runner import RunCandidate, isolated, load_candidates, plan_jobs, run_jobs
from edgebench.types import Precision


def _sends(value: int, conn: Connection) -> None:
    conn.send(("ok", value * 2))


def _exits(code: int, conn: Connection) -> None:
    os._exit(code)


def _hangs(seconds: float, conn: Connection) -> None:
    time.sleep(seconds)


def test_isolated_returns_what_the_worker_sent() -> None:
    assert isolated(_sends, 21, 60) == ("ok", 42)


def test_a_worker_that_dies_or_hangs_is_an_error_with_its_reason() -> None:
    assert isolated(_exits, 3, 60) == ("error", "worker died with exit code 3 (crashed or killed)")
    t0 = time.perf_counter()
    status, reason = isolated(_hangs, 60.0, 1.0)
    assert status == "error" and reason.startswith("timed out after 1 s (killed)")
    assert time.perf_counter() - t0 < 30


def test_candidates_come_from_outputs_and_checkpoint_folders(outputs: tuple[Path, Path]) -> None:
    _, out = outputs
    (found,) = load_candidates([out])
    assert found == RunCandidate("prune-out/pruned-0000", "pruned", out / "student")
    (folder,) = load_candidates([out / "student"])
    assert folder == RunCandidate("student", "checkpoint", out / "student")
    with pytest.raises(ConfigError, match="candidate names appear twice: student"):
        load_candidates([out / "student", out / "student"])


@pytest.mark.parametrize(
    ("name", "message"),
    [("arch.json", "an architecture has no weights to score"), ("missing", "no such file or folder")],
)
def test_paths_that_name_nothing_to_run_are_refused(tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(ConfigError, match=message):
        load_candidates([tmp_path / name])


@pytest.mark.slow
def test_rows_for_good_and_broken_candidates_and_a_rerun_skips_them(outputs: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = outputs
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "arch.json").write_text((out / "student" / "arch.json").read_text())
    (broken / "weights.pt").write_bytes(b"not a model")
    candidates = [*load_candidates([out]), RunCandidate("broken", "checkpoint", broken)]
    pairs = [("onnxruntime", Precision.FP32), ("onnxruntime", Precision.INT8)]
    table = ResultsTable(tmp_path / "run")
    jobs = plan_jobs(candidates, "host", pairs, f"npz:{data}", table.done(), repeats=20)
    rows = {(r.candidate, r.precision): r for r in run_jobs(jobs, table, timeout_s=300)}
    assert len(rows) == 4
    fp32, int8 = rows["prune-out/pruned-0000", "fp32"], rows["prune-out/pruned-0000", "int8"]
    assert fp32.status == int8.status == "COMPLETE" and fp32.source == "measured"
    assert fp32.test_images == 12 and fp32.top1_pct == pytest.approx(fp32.reference_top1_pct, abs=100 / 12 + 1e-9)
    assert fp32.accuracy_source == "converted"
    assert fp32.parity_max_rel_err is not None and fp32.parity_max_rel_err < 1e-3
    assert fp32.p10_ms <= fp32.median_ms <= fp32.p90_ms and fp32.predicted_source == "estimated"
    assert fp32.network == "resnet18-0.25-cifar" and fp32.macs > 0 and fp32.size_bytes > int8.size_bytes
    failed = rows["broken", "fp32"]
    assert failed.status == "FAILED" and "weights do not load into resnet18-0.25-cifar" in failed.error
    saved = read_results(tmp_path / "run" / "results.csv")
    assert len(saved) == 4 and set(saved["status"]) == {"COMPLETE", "FAILED"}
    assert read_results(tmp_path / "run").loc[0, "candidate"] == saved.loc[0, "candidate"]
    again = ResultsTable(tmp_path / "run")
    assert plan_jobs(candidates, "host", pairs, f"npz:{data}", again.done()) == []
    retry = plan_jobs(candidates, "host", pairs, f"npz:{data}", again.done(retry_failed=True))
    assert {(j.candidate.name, str(j.precision)) for j in retry} == {("broken", "fp32"), ("broken", "int8")}


@pytest.mark.slow
def test_an_estimated_device_scores_the_artifact_and_labels_its_latency(
    outputs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, out = outputs
    table = ResultsTable(tmp_path)
    jobs = plan_jobs(load_candidates([out]), "rpi5", [("onnxruntime", Precision.FP32)], f"npz:{data}", set())
    (row,) = run_jobs(jobs, table, timeout_s=300)
    assert row.status == "COMPLETE" and row.source == "estimated" and row.device == "rpi5"
    assert row.median_ms == row.predicted_ms and row.p10_ms is None
    assert row.calibration_rmspe_pct is not None and row.top1_pct is not None


def test_a_network_trained_at_a_proxy_resolution_is_refused_up_front(
    outputs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, out = outputs
    student = load_checkpoint(out / "student")
    result = TrainResult("ce", 50.0, 50.0, 1, 1, 0.7, 1.0, 1.0, 0, "cpu")
    save_checkpoint(tmp_path, student.network, student.module, 2, "npz", get_loss("ce"),
                    TrainConfig(epochs=1, resolution=16), result)  # fmt: skip
    with pytest.raises(ConfigError, match=r"1 of 2 candidates are no deployable networks: .*trained at 16x16 \(a "
                       r"search's proxy\), not at the network's 32x32.*--method oneshot"):  # fmt: skip
        load_candidates([tmp_path, out / "student"])  # refused up front, before any row runs
