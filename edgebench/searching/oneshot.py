"""One-shot search: the accuracy estimator and the LUT judge architectures in bulk, an evolutionary search finds the
front under the budget, and a few students spread over it are scored exactly, fine-tuned from the weights they
inherit from the supernet and saved, so ``edgebench run`` converts them with no manual step.

Which number is which: ``estimated_pct`` is the predictor's (fitted on scored sub-networks), ``supernet_pct`` the
inherited weights' validation top-1 with BatchNorm recalibrated, and ``val_top1_pct``/``test_top1_pct`` those of
the student saved in ``checkpoint``. A student kept as inherited (no fine-tuning) is scored on validation only, so a
search stays within seconds per student; its test top-1 is what ``edgebench run`` measures on the converted network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgebench.data import ImageData
from edgebench.distill.checkpoint import save_checkpoint
from edgebench.distill.losses import DistillLoss
from edgebench.distill.train import FINAL, TrainConfig, TrainResult, evaluate, train
from edgebench.exceptions import ConfigError
from edgebench.lut.predictor import Predictor
from edgebench.searching.estimator import AccuracyEstimator
from edgebench.searching.evolution import EvolutionSettings, Judged, evolve, front
from edgebench.searching.space import ArchSpec
from edgebench.searching.supernet import inherit

#: Fine-tuning from inherited weights: the final recipe's schedule, shorter and gentler.
FINETUNE = replace(FINAL, epochs=1, lr=0.01)


@dataclass(frozen=True)
class OneShotSettings:
    """What the one-shot search keeps and how it finishes them.

    Attributes:
        students: front members kept, spread evenly over the front's latency (the most accurate always among them).
        finetune: the recipe that finishes each kept student from its inherited weights (None: keep them as
            inherited, BatchNorm recalibrated).
        evolution: the search itself.
    """

    students: int = 4
    finetune: TrainConfig | None = FINETUNE
    evolution: EvolutionSettings = field(default_factory=EvolutionSettings)

    def __post_init__(self) -> None:
        if self.students < 1:
            raise ConfigError(f"a one-shot search keeps at least 1 student, not {self.students}")


@dataclass(frozen=True)
class Student:
    """A kept student: its latency prediction and the three accuracies (see the module docstring)."""

    arch: ArchSpec
    predicted_ms: float
    estimated_pct: float
    supernet_pct: float
    val_top1_pct: float
    test_top1_pct: float | None
    finetuned: bool
    train_s: float
    checkpoint: str
    params: int

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "arch": self.arch.to_json()}


def spread(candidates: Sequence[Judged], count: int) -> list[Judged]:
    """Up to ``count`` of a front (sorted by latency) at evenly spaced latencies, its most accurate always kept."""
    if len(candidates) <= count:
        return list(candidates)
    ms = np.array([c.latency_ms for c in candidates])
    picked: list[int] = [len(candidates) - 1]
    for target in np.linspace(ms[0], ms[-1], count)[:-1]:
        order = np.argsort(np.abs(ms - target))
        picked.append(int(next(i for i in order if i not in picked)))
    return [candidates[i] for i in sorted(picked)]


def _finish(
    module: nn.Module,
    data: ImageData,
    loss: DistillLoss,
    teacher: nn.Module | None,
    config: TrainConfig | None,
    val_top1_pct: float,
) -> tuple[nn.Module, TrainResult]:
    """Fine-tune ``module`` with ``config``, or keep it as it is (a result of zero epochs, its validation top-1
    ``val_top1_pct`` already known, its test top-1 not scored)."""
    if config is not None:
        return train(module, data, loss, teacher, config)
    device = str(next(module.parameters()).device)
    return module, TrainResult(loss.name, val_top1_pct, None, 0, 0, float("nan"), 0.0, 0.0, 0, device)


def one_shot_search(
    latency: Predictor,
    estimator: AccuracyEstimator,
    data: ImageData,
    loss: DistillLoss,
    teacher: nn.Module | None,
    budget_ms: float,
    settings: OneShotSettings | None = None,
    checkpoints: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[Judged], list[Student]]:
    """Search ``estimator``'s space under ``budget_ms`` by ``latency``'s LUT: every architecture judged under the
    budget (most accurate first), and the students kept, each saved under ``checkpoints`` as ``trial-NNNN``.

    Raises:
        ConfigError: the LUT is of another space than the estimator's supernet.
    """
    settings = settings or OneShotSettings()
    space = estimator.supernet.space
    if latency.space.model_copy(update={"classes": space.classes}) != space:
        raise ConfigError(f"the LUT is of space '{latency.space.name}' as the device adapts it, the estimator of "
                          f"another '{space.name}'; build the estimator for the device's space")  # fmt: skip
    step = (lambda done, total: progress("search", done, total)) if progress else None
    judged = evolve(space, latency.predict_many, estimator.predict, budget_ms, settings.evolution, step)
    kept = spread(front(judged), settings.students)
    students = []
    for i, j in enumerate(kept):
        if progress:
            progress("students", i, len(kept))
        students.append(_student(j, estimator, data, loss, teacher, settings.finetune, checkpoints, i))
    if progress:
        progress("students", len(kept), len(kept))
    return judged, students


def _student(
    judged: Judged,
    estimator: AccuracyEstimator,
    data: ImageData,
    loss: DistillLoss,
    teacher: nn.Module | None,
    config: TrainConfig | None,
    checkpoints: Path | None,
    number: int,
) -> Student:
    module = inherit(estimator.supernet, judged.arch, data)
    supernet_pct = evaluate(module, data, data.val)
    module, result = _finish(module, data, loss, teacher, config, supernet_pct)
    folder = ""
    if checkpoints is not None:
        path = checkpoints / f"trial-{number:04d}"
        save_checkpoint(path, judged.arch, module, data.classes, data.name, loss, config or FINAL, result,
                        space=estimator.supernet.space)  # fmt: skip
        folder = str(path.resolve())
    params = sum(p.numel() for p in module.parameters())
    return Student(judged.arch, judged.latency_ms, judged.accuracy_pct, supernet_pct, result.val_top1_pct,
                   result.test_top1_pct, config is not None, result.wall_time_s, folder, params)  # fmt: skip
