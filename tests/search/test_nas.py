"""The NAS loop on the tiny space: the budget rejects before training, nothing is trained twice, a stored study
resumes, two workers share one, and a budget nothing meets is refused with the fastest achievable latency."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from edgebench.data import ImageData
from edgebench.data.dataset import make_data
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig
from edgebench.exceptions import ConfigError
from edgebench.lut.predictor import Predictor
from edgebench.searching import nas
from edgebench.searching.nas import (
    Objective,
    SearchSettings,
    open_study,
    run_search,
)
from edgebench.searching.space import SearchSpace, load_space
from edgebench.searching.storage import storage_for
from edgebench.types import Status
from tests.lut.conftest import TINY_SPACE, synthetic_table

PROXY = TrainConfig(epochs=1, batch_size=16, patience=None)


def shades(space: SearchSpace) -> ImageData:
    """Four classes told apart by brightness, at the tiny space's 16x16."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % space.classes
    x = rng.integers(0, 60, (80, 3, 16, 16)) + 60 * y[:, None, None, None]
    return make_data("shades", ("a", "b", "c", "d"), x.astype(np.uint8), y, flip=False)


@pytest.fixture(scope="module")
def tiny() -> SearchSpace:
    return load_space(TINY_SPACE)


@pytest.fixture(scope="module")
def four_shades(tiny: SearchSpace) -> ImageData:
    return shades(tiny)


def _search(tiny: SearchSpace, data: ImageData, storage: str, budget_ms: float, trials: int) -> pd.DataFrame:
    predictor = Predictor(synthetic_table(tiny), tiny)
    settings = SearchSettings(budget_ms, trials, proxy=PROXY, population=4)
    study = open_study(storage_for(storage), "tiny", settings)
    return run_search(study, Objective(tiny, predictor, data, get_loss("ce"), None, settings), settings)


def _budget(tiny: SearchSpace) -> float:
    """Between the fastest and the slowest architecture, so the budget binds."""
    predictor = Predictor(synthetic_table(tiny), tiny)
    rng = random.Random(0)
    every = predictor.predict_many(sorted({tiny.sample(rng) for _ in range(500)}, key=str))
    return float(np.median(every))


def test_over_budget_candidates_are_rejected_before_training(tiny: SearchSpace, four_shades: ImageData,
                                                            tmp_path: Path) -> None:  # fmt: skip
    budget = _budget(tiny)
    rows = _search(tiny, four_shades, f"sqlite:///{tmp_path / 's.db'}", budget, trials=4)
    done = rows[rows["status"] == Status.COMPLETE]
    assert len(done) == 4 and (done["predicted_ms"] <= budget).all()
    assert done["arch"].is_unique  # nothing trained twice
    assert done["val_top1_pct"].between(0, 100).all() and (done["train_s"] > 0).all()
    rejected = rows[rows["status"] == Status.INFEASIBLE]
    assert (rejected["predicted_ms"] > budget).all() and rejected["val_top1_pct"].isna().all()
    assert rejected["reason"].str.contains("> budget").all()
    assert set(rows["latency_source"]) == {"predicted"}  # summed from measured rows, never "measured"


def test_a_stored_study_resumes_and_keeps_every_finished_trial(tiny: SearchSpace, four_shades: ImageData,
                                                               tmp_path: Path) -> None:  # fmt: skip
    url, budget = f"sqlite:///{tmp_path / 's.db'}", _budget(tiny)
    first = _search(tiny, four_shades, url, budget, trials=2)
    again = _search(tiny, four_shades, url, budget, trials=4)
    assert (again["status"] == Status.COMPLETE).sum() == 4
    kept = again.set_index("trial").loc[first["trial"]]
    assert kept["arch"].tolist() == first["arch"].tolist()
    assert kept["val_top1_pct"].fillna(-1).tolist() == first["val_top1_pct"].fillna(-1).tolist()


def test_joining_a_study_with_other_settings_is_refused(tiny: SearchSpace, tmp_path: Path) -> None:
    storage = storage_for(f"sqlite:///{tmp_path / 's.db'}")
    open_study(storage, "tiny", SearchSettings(5.0, proxy=PROXY))
    with pytest.raises(ConfigError, match=r"study 'tiny' exists with other settings \(budget_ms\)"):
        open_study(storage, "tiny", SearchSettings(6.0, proxy=PROXY))


WORKER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from edgebench.searching.space import load_space
from tests.lut.conftest import TINY_SPACE
from tests.search.test_nas import _budget, _search, shades
space = load_space(TINY_SPACE)
_search(space, shades(space), {url!r}, _budget(space), trials=4)
"""


def test_two_workers_share_one_journal_without_repeating_a_trial(tmp_path: Path) -> None:
    journal = str(tmp_path / "study.log")
    code = WORKER.format(root=str(Path(__file__).parents[2]), url=journal)
    workers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert all(w.wait(timeout=240) == 0 for w in workers)
    study = optuna.load_study(study_name="tiny", storage=storage_for(journal))
    trained = [t for t in study.trials if t.user_attrs.get("status") == Status.COMPLETE]
    assert 4 <= len(trained) <= 5  # the second worker may finish the trial it started as the first hit 4
    assert len({t.number for t in study.trials}) == len(study.trials)
    assert len({t.user_attrs["arch"] for t in trained}) == len(trained)


def test_a_trial_yields_to_a_later_one_that_claimed_its_architecture_first(tmp_path: Path) -> None:
    """Two workers propose one architecture at once; the later trial checked first and trains, so the earlier one,
    checking second, must yield rather than train it beside it (the race the shared-study test caught)."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'race.db'}", directions=["maximize", "minimize"])
    earlier, later, other = study.ask(), study.ask(), study.ask()
    for trial, arch in ((earlier, "a"), (later, "a"), (other, "b")):
        trial.set_user_attr("arch", arch)
    assert nas._other_with(study, "a", earlier.number).number == later.number  # type: ignore[union-attr]
    assert nas._other_with(study, "b", other.number) is None
    later.set_user_attr("status", Status.DUPLICATE.value)  # it yielded in turn: nothing holds "a" now
    assert nas._other_with(study, "a", earlier.number) is None
    done = study.ask()
    done.set_user_attr("arch", "a")
    done.set_user_attr("status", Status.COMPLETE.value)
    assert nas._other_with(study, "a", earlier.number).number == done.number  # type: ignore[union-attr]
