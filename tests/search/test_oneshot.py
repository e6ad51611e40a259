"""The one-shot search on the tiny space: it keeps to the budget, keeps students spread over the front, saves
them as checkpoints `run` can load, and tells the estimate, the inherited weights and the fine-tuned student apart."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from edgebench.distill.checkpoint import load_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig
from edgebench.exceptions import ConfigError
from edgebench.lut.predictor import Predictor
from edgebench.searching.estimator import AccuracyEstimator, build_estimator
from edgebench.searching.evolution import EvolutionSettings, Judged
from edgebench.searching.oneshot import OneShotSettings, one_shot_search, spread
from edgebench.searching.space import SearchSpace, get_space
from tests.lut.conftest import synthetic_table
from tests.search.test_estimator import CONFIG, brightness

QUICK = EvolutionSettings(population=8, generations=3)
FINETUNE = TrainConfig(epochs=1, batch_size=16, augment=False, device="cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def estimator(tiny: SearchSpace, tmp_path_factory: pytest.TempPathFactory) -> AccuracyEstimator:
    return build_estimator(tiny, brightness(), None, tmp_path_factory.mktemp("cache"), CONFIG, 6)


@pytest.fixture(scope="module")
def lut(tiny: SearchSpace) -> Predictor:
    return Predictor(synthetic_table(tiny), tiny)


def median_budget(space: SearchSpace, lut: Predictor) -> float:
    rng = random.Random(0)
    return float(np.median(lut.predict_many([space.sample(rng) for _ in range(50)])))


def test_students_are_saved_under_the_budget_and_load(
    tiny: SearchSpace, estimator: AccuracyEstimator, lut: Predictor, tmp_path: Path
) -> None:
    budget = median_budget(tiny, lut)
    settings = OneShotSettings(students=2, finetune=FINETUNE, evolution=QUICK)
    judged, students = one_shot_search(lut, estimator, brightness(), get_loss("ce"), None, budget, settings,
                                       tmp_path / "checkpoints")  # fmt: skip
    assert judged and all(j.latency_ms <= budget for j in judged)
    assert 1 <= len(students) <= 2 and all(s.predicted_ms <= budget and s.finetuned for s in students)
    assert max(s.estimated_pct for s in students) == max(j.accuracy_pct for j in judged)  # the most accurate kept
    for student in students:
        checkpoint = load_checkpoint(Path(student.checkpoint))
        assert (
            checkpoint.network == student.arch and checkpoint.metrics["result"]["val_top1_pct"] == student.val_top1_pct
        )


def test_without_fine_tuning_the_student_is_the_inherited_network(
    tiny: SearchSpace, estimator: AccuracyEstimator, lut: Predictor
) -> None:
    settings = OneShotSettings(students=1, finetune=None, evolution=QUICK)
    _, (student,) = one_shot_search(lut, estimator, brightness(), get_loss("kd"), None, median_budget(tiny, lut),
                                    settings)  # fmt: skip
    assert not student.finetuned and student.val_top1_pct == student.supernet_pct and student.checkpoint == ""
    assert student.test_top1_pct is None and student.train_s == 0  # left to `edgebench run`: seconds per student


def test_a_lut_of_another_space_is_refused(estimator: AccuracyEstimator) -> None:
    other = get_space("mbv2-cifar")
    with pytest.raises(ConfigError, match="build the estimator for the device's space"):
        one_shot_search(Predictor(synthetic_table(other), other), estimator, brightness(), get_loss("kd"), None, 1.0)


def test_spread_keeps_the_most_accurate_and_spaces_the_rest() -> None:
    arch = get_space("mbv2-cifar").sample(random.Random(0))
    line = [Judged(arch, float(ms), float(ms)) for ms in range(1, 11)]
    assert [j.latency_ms for j in spread(line, 4)] == [1.0, 4.0, 7.0, 10.0]
    assert spread(line[:3], 4) == line[:3]
