"""Searches shared through a real PostgreSQL server (a throwaway cluster the tests start): three workers train
every architecture once and the baseline family once, a worker killed with kill -9 mid-trial loses nothing, and a
worker that loses the database waits, then stops in one line, keeping what it trained."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.results import read_results
from edgebench.searching.storage import shown, storage_for
from edgebench.testing.postgres import Postgres, binaries, start_cluster
from edgebench.types import Status

TINY32 = Path(__file__).with_name("tiny32.yaml")
STUDY = "myriadx-openvino-fp16-tiny32-1000ms-ce-npz:shades.npz"
RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pytest.importorskip("psycopg2", reason="the postgres extra (psycopg2-binary) is not installed")
    folder = binaries()
    if folder is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)")
    pg = start_cluster(folder)
    yield pg
    pg.stop()
    pg.remove()


def worker(tmp_path: Path, url: str, out: str, trials: int, *extra: str, **env: str) -> subprocess.Popen[str]:
    """``edgebench search`` on the tiny space, joining the study in ``url``, writing to ``tmp_path/out``."""
    args = [sys.executable, "-c", "from edgebench.cli import app; app()", "search", "--method", "proxy", "--device",
            "myriadx", "--latency", "1s", "--space", str(TINY32), "--trials", str(trials), "--epochs", "1",
            "--proxy-resolution", "16", "--distill", "ce", "--data", "npz:shades.npz", "--storage", url, "--out",
            str(tmp_path / out), "--cache-dir", str(tmp_path / "cache"), *extra]  # fmt: skip
    return subprocess.Popen(args, cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def finished(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


@functools.cache
def storage(url: str) -> optuna.storages.BaseStorage:
    """One storage (one connection pool) per database for the test's own reads."""
    return storage_for(url)


def trials(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=STUDY, storage=storage(url)).get_trials(deepcopy=False)


def test_three_workers_train_each_architecture_once_and_the_baseline_once(
    server: Postgres, tmp_path: Path, npz: Path
) -> None:
    url = server.create_database("three")
    workers = [worker(tmp_path, url, f"w{i}", 6) for i in range(3)]
    for w in workers:
        code, output = finished(w)
        assert code == 0, output[-3000:]
    done = [t for t in trials(url) if t.user_attrs.get("status") == Status.COMPLETE]
    assert len(done) >= 6 and len({t.user_attrs["arch"] for t in done}) == len(done)  # none trained twice
    study = optuna.load_study(study_name=STUDY, storage=storage(url))
    assert len(study.user_attrs["baseline"]) == 4
    trained_baselines = [p for i in range(3) for p in (tmp_path / f"w{i}" / "checkpoints").glob("mobilenetv2-*")]
    assert len(trained_baselines) == 4  # one worker trained the family, for all
    alone = worker(tmp_path, f"sqlite:///{tmp_path / 'alone.db'}", "alone", 6)
    assert finished(alone)[0] == 0
    shared, single = (pd.read_csv(tmp_path / out / "candidates.csv") for out in ("w0", "alone"))
    assert list(shared.columns) == list(single.columns) and shared["trial"].is_unique
    assert set(shared["status"]) | set(single["status"]) <= {s.value for s in Status}
    for out in ("w0", "alone"):  # the study read back by `edgebench report`, as a single SQLite worker's is
        page = CliRunner().invoke(app, ["report", str(tmp_path / out), "--out", str(tmp_path / f"{out}.html")])
        assert page.exit_code == 0, page.output
    shared_rows, single_rows = read_results(tmp_path / "w0"), read_results(tmp_path / "alone")
    assert list(shared_rows.columns) == list(single_rows.columns)
    assert set(shared_rows["status"]) == set(single_rows["status"]) == {"COMPLETE"}
    assert (tmp_path / "w0.html").read_text().count("<tr") >= len(shared_rows)


def test_a_worker_killed_mid_trial_has_its_architecture_trained_once_by_another(
    server: Postgres, tmp_path: Path, npz: Path
) -> None:
    url, beat = server.create_database("killed"), {"EDGEBENCH_HEARTBEAT_S": "1"}
    doomed = worker(tmp_path, url, "doomed", 8, **beat)
    deadline, victim = time.monotonic() + 120, None
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            running = [t for t in trials(url) if t.state is optuna.trial.TrialState.RUNNING
                       and "arch" in t.user_attrs and "status" not in t.user_attrs]  # fmt: skip
        except KeyError:  # the study is not created yet
            continue
        victim = running[0] if running else None
    assert victim is not None, "the first worker never started training"
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    for heir in [worker(tmp_path, url, f"heir{i}", 8, **beat) for i in range(2)]:  # three workers in all
        code, output = finished(heir)
        assert code == 0, output[-3000:]
    after = {t.number: t for t in trials(url)}
    assert after[victim.number].state is optuna.trial.TrialState.FAIL  # failed by its stopped heartbeat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        heirs = [t for t in after.values() if RETRY.retried_trial_number(t) == victim.number]
    assert heirs and heirs[-1].user_attrs["arch"] == victim.user_attrs["arch"]
    done = [t.user_attrs["arch"] for t in after.values() if t.user_attrs.get("status") == Status.COMPLETE]
    assert done.count(victim.user_attrs["arch"]) == 1 and len(done) == len(set(done)) and len(done) >= 8


def test_a_worker_that_loses_the_database_waits_then_stops_in_one_line(
    server: Postgres, tmp_path: Path, npz: Path
) -> None:
    url = server.create_database("lost")
    patient = worker(tmp_path, url, "lost", 40, EDGEBENCH_DB_WAIT_S="3")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            if sum(t.user_attrs.get("status") == Status.COMPLETE for t in trials(url)) >= 2:
                break
        except KeyError:
            continue
    server.stop()
    try:
        code, output = finished(patient, timeout=120)
    finally:
        server.start()
    assert code == 2, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "lost the study database postgresql+psycopg2://postgres@/lost" in lines[0], output
    assert "rerun with --resume when it answers" in lines[0] and "Traceback" not in output, output
    kept = sum(t.user_attrs.get("status") == Status.COMPLETE for t in trials(url))
    assert kept >= 2  # what it trained before the database went away is in the study


def test_a_heartbeat_the_database_misses_is_skipped_not_raised(server: Postgres) -> None:
    """Optuna beats in a thread of its own; a beat that raised would print a traceback beside the one-line error."""
    url = server.create_database("beats")
    study = optuna.create_study(storage=storage_for(url), study_name="beats")
    trial = study.ask()
    server.stop()
    try:
        study._storage.record_heartbeat(trial._trial_id)
    finally:
        server.start()
    study._storage.record_heartbeat(trial._trial_id)  # and beats again once the database is back


def test_a_database_url_is_shown_without_its_password() -> None:
    assert (
        shown("postgresql+psycopg2://search:s3cret@db.lab:5432/eb") == "postgresql+psycopg2://search:***@db.lab:5432/eb"
    )
    assert shown("study.journal") == "study.journal"
