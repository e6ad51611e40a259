"""Where a search's study lives, shared by every worker that joins it: an Optuna RDB storage (SQLite on one machine,
PostgreSQL or MySQL across machines) with heartbeats, or a journal file on a shared disk.

A worker killed mid-trial stops beating; the next trial any worker starts marks that trial failed and queues its
architecture again, so it is trained once, not lost. A worker that loses the database waits for it (with doubling
pauses, up to ``EDGEBENCH_DB_WAIT_S`` seconds) and then stops in one line; what it trained is in the study already.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from edgebench.exceptions import ConfigError
from edgebench.spelling import option

T = TypeVar("T")

#: Seconds between a running trial's heartbeats (``EDGEBENCH_HEARTBEAT_S``); a trial silent for four of them is failed.
HEARTBEAT_S = 15
#: Retries of a trial whose worker died, before its architecture is given up.
MAX_RETRY = 2
#: Attempts at opening a new database whose tables another worker is creating at the same moment.
SCHEMA_TRIES = 5
#: Seconds a worker waits for a database that stopped answering (``EDGEBENCH_DB_WAIT_S``).
DB_WAIT_S = 120.0


def _env_seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise ConfigError(f"${name} must be a number of seconds, not {os.environ[name]!r}") from None


def shown(url: str) -> str:
    """``url`` fit to print: an RDB URL without its password."""
    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def storage_for(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage: an RDB URL (``sqlite:///study.db``, ``postgresql://...``) with heartbeats and retries of
    a dead worker's trial; or a path, for a journal file shared by workers."""
    if "://" not in url:
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url))
    beat = max(1, round(_env_seconds("EDGEBENCH_HEARTBEAT_S", HEARTBEAT_S)))
    for attempt in range(SCHEMA_TRIES - 1):
        try:
            return _rdb(url, beat)
        except DBAPIError:  # workers started together on a new database race to create Optuna's tables
            time.sleep(1.0 + attempt)
    return _rdb(url, beat)


class _PatientStorage(optuna.storages.RDBStorage):
    """An RDB storage whose heartbeat, beaten in a thread of Optuna's own, skips a beat the database misses: left
    raised, it kills the thread with a traceback beside :func:`patiently`'s one line, and a missed beat is what
    tells the other workers that this one is gone."""

    def record_heartbeat(self, trial_id: int) -> None:
        with contextlib.suppress(DBAPIError, optuna.exceptions.StorageInternalError):
            super().record_heartbeat(trial_id)


def _rdb(url: str, beat: int) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5, and what resuming needs
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _PatientStorage(
            url,
            engine_kwargs={"pool_pre_ping": True},  # a connection the server dropped is replaced, not used
            heartbeat_interval=beat,
            grace_period=4 * beat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
        )


def study_exists(url: str, name: str) -> bool:
    """Whether the storage at ``url`` (see :func:`storage_for`) holds a study called ``name``."""
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None if "://" in url else Path(url)
    if path is not None and not path.exists():
        return False
    return name in optuna.get_all_study_names(storage_for(url))


def waiting_retries(study: optuna.Study) -> int:
    """Trials queued again because their worker died, not yet picked up."""
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return sum(
            optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) is not None for t in waiting
        )


def claim(storage: optuna.storages.BaseStorage, name: str) -> bool:
    """Whether this worker is the first to claim the one-off job ``name`` of a shared study (atomic: creating a
    study of that name succeeds for one worker only)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        optuna.create_study(storage=storage, study_name=name)
    except optuna.exceptions.DuplicatedStudyError:
        return False
    return True


def release(storage: optuna.storages.BaseStorage, name: str) -> None:
    """Drop the claim ``name`` (its job is to be done again)."""
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=name, storage=storage)


def patiently(call: Callable[[], T], study: optuna.Study, url: str | None) -> T:
    """``call()``, waiting for the study database while it does not answer (doubling pauses from 1 s, up to
    ``EDGEBENCH_DB_WAIT_S`` seconds in all), then ConfigError in one line. Any failure of ``call`` counts as the
    database's when the database does not answer a question about ``study`` either (Optuna's own bookkeeping can
    fail in other ways when the connection goes mid-trial)."""
    budget, pause, waited = _env_seconds("EDGEBENCH_DB_WAIT_S", DB_WAIT_S), 1.0, 0.0
    while True:
        try:
            return call()
        except Exception as e:
            cause = _unanswered(study)
            if cause is None:
                raise
            if waited >= budget:
                raise ConfigError(
                    f"lost the study database {shown(url or '')} for {waited:.0f} s ({cause}); every finished "
                    f"candidate is kept in it: rerun with {option('resume', True)} when it answers"
                ) from e
            time.sleep(min(pause, budget - waited))
            waited, pause = waited + min(pause, budget - waited), pause * 2


def _unanswered(study: optuna.Study) -> str | None:
    """Why the study's database does not answer now (the error's type), or None if it does."""
    try:
        study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    except (DBAPIError, optuna.exceptions.StorageInternalError) as e:
        return type(getattr(e, "orig", None) or e.__cause__ or e).__name__
    return None
