"""A few epochs on a tiny learnable set: the loss falls, the result is well formed, a seed repeats a run exactly,
distillation runs with a teacher, and mutual learning trains peers and keeps the best."""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field

import pytest
import torch

from edgebench.data import ImageData, Split
from edgebench.distill.losses import HintonKD, MutualLearning, get_loss
from edgebench.distill.networks import build_network
from edgebench.distill.train import Optimizer, TrainConfig, TrainStep, evaluate, train
from edgebench.exceptions import ConfigError
from tests.distill.conftest import smallest

FAST = TrainConfig(epochs=3, batch_size=16, lr=0.02)


def test_a_short_run_lowers_the_loss_and_reports_a_valid_result(bright_dark: ImageData) -> None:
    steps: list[TrainStep] = []
    module, result = train(smallest(), bright_dark, get_loss("ce"), config=FAST, progress=steps.append)
    per_epoch = len(bright_dark.train) // 16
    assert steps[-1].done == steps[-1].total == 3 * per_epoch
    first_epoch = [s.loss for s in steps if s.epoch == 1 and s.val_top1_pct is None]
    assert result.train_loss < first_epoch[0]
    assert result.loss == "ce" and result.epochs_run == 3 and 1 <= result.best_epoch <= 3 and result.seed == 0
    assert 0 <= result.test_top1_pct <= 100 and result.val_top1_pct == max(s.val_top1_pct or 0 for s in steps)
    assert result.images_per_s > 0 and result.wall_time_s > 0 and result.device == "cpu"
    assert evaluate(module, bright_dark, bright_dark.test) == pytest.approx(result.test_top1_pct)


def test_the_same_seed_repeats_a_run(bright_dark: ImageData) -> None:
    config = TrainConfig(epochs=1, batch_size=16, seed=5)
    a, ra = train(smallest(), bright_dark, get_loss("ce"), config=config)
    b, rb = train(smallest(), bright_dark, get_loss("ce"), config=config)
    assert ra.test_top1_pct == rb.test_top1_pct and ra.train_loss == rb.train_loss
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_distillation_runs_with_a_teacher_and_adamw(bright_dark: ImageData) -> None:
    teacher = build_network("resnet18-0.25-cifar", 2, seed=1).eval()
    config = TrainConfig(epochs=2, batch_size=16, optimizer=Optimizer.ADAMW, patience=1)
    _, result = train(smallest(), bright_dark, get_loss("kd-lrds"), teacher, config)
    assert result.loss == "kd-lrds" and result.epochs_run in (1, 2) and result.train_loss > 0


def test_a_distillation_loss_without_a_teacher_is_refused(bright_dark: ImageData) -> None:
    with pytest.raises(ConfigError, match="loss 'kd' needs a teacher"):
        train(smallest(), bright_dark, get_loss("kd"), config=FAST)


def test_a_teacher_with_other_classes_is_refused(bright_dark: ImageData) -> None:
    teacher = build_network("resnet18-0.25-cifar", 10).eval()
    with pytest.raises(ConfigError, match="the teacher has 10 classes; data 'bright-dark' has 2"):
        train(smallest(), bright_dark, get_loss("kd"), teacher, FAST)


def test_bad_settings_are_refused_before_training() -> None:
    with pytest.raises(ConfigError, match="training epochs must be >= 1"):
        TrainConfig(epochs=0)


class _Seen(torch.nn.Module):
    """Wraps a network and records the input sides it is called with."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.sides = inner, list[int]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sides.append(x.shape[-1])
        return self.inner(x)


@pytest.mark.parametrize(("augment", "teacher_calls"), [(False, 1), (True, 2 * (84 // 16))])
def test_the_student_sees_the_proxy_resolution_and_a_fixed_teacher_runs_once(
    bright_dark: ImageData, augment: bool, teacher_calls: int
) -> None:
    teacher = _Seen(build_network("resnet18-0.25-cifar", 2, seed=1).eval())
    student = _Seen(build_network(smallest(), 2, seed=0))
    config = TrainConfig(epochs=2, batch_size=16, resolution=16, augment=augment)
    train(student, bright_dark, get_loss("kd"), teacher, config)
    assert set(student.sides) == {16} and set(teacher.sides) == {32}
    assert len(teacher.sides) == teacher_calls  # in batches of 256 when fixed, else once per training step


def test_the_teacher_is_never_differentiated(bright_dark: ImageData) -> None:
    teacher = build_network("resnet18-0.25-cifar", 2, seed=1).eval()
    before = copy.deepcopy(teacher.state_dict())
    train(smallest(), bright_dark, get_loss("kd"), teacher, TrainConfig(epochs=1, batch_size=16, augment=True))
    assert all(p.grad is None for p in teacher.parameters())  # no backward pass through it: a KD step costs less
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in before.items())


class _Brightness(torch.nn.Module):
    """A teacher that calls an image bright (class 1) when its mean is above zero: right for every bright-dark image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([-m, m], dim=1)


@dataclass(frozen=True)
class _Agreement(HintonKD):
    """KD that records, per batch, whether the teacher's answers match the labels of that batch's images."""

    agreed: list[bool] = field(default_factory=list)

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        assert teacher is not None
        self.agreed.append(bool((teacher.argmax(1) == labels).all()))
        return super().__call__(student, labels, teacher)


@dataclass(frozen=True)
class _Ramped(MutualLearning):
    """Mutual learning that records the progress each peer's loss is computed at."""

    seen: list[float] = field(default_factory=list)

    def peer_loss(self, own: torch.Tensor, labels: torch.Tensor, others: torch.Tensor, progress: float) -> torch.Tensor:
        self.seen.append(progress)
        return super().peer_loss(own, labels, others, progress)


def test_peers_learn_from_each_other_as_far_into_the_schedule_as_the_step(bright_dark: ImageData) -> None:
    loss = _Ramped()
    train(smallest(), bright_dark, loss, config=TrainConfig(epochs=2, batch_size=16))
    steps = 2 * (len(bright_dark.train) // 16)
    assert loss.seen == pytest.approx([step / steps for step in range(steps) for _ in range(2)])  # two peers a step


@pytest.mark.parametrize("augment", [False, True])
def test_each_batch_gets_the_teacher_outputs_of_its_own_images(bright_dark: ImageData, augment: bool) -> None:
    loss = _Agreement()
    train(smallest(), bright_dark, loss, _Brightness(), TrainConfig(epochs=2, batch_size=16, augment=augment))
    assert len(loss.agreed) == 10 and all(loss.agreed)


def test_mutual_learning_trains_two_peers_and_a_seed_repeats_it(bright_dark: ImageData) -> None:
    steps: list[TrainStep] = []
    config = TrainConfig(epochs=2, batch_size=16, lr=0.02)
    a, ra = train(smallest(), bright_dark, get_loss("dml"), config=config, progress=steps.append)
    b, rb = train(smallest(), bright_dark, get_loss("dml"), config=config)
    assert ra.loss == "dml" and len(ra.peers_val_top1_pct) == 2 and ra.val_top1_pct == max(ra.peers_val_top1_pct)
    assert ra.peer == ra.peers_val_top1_pct.index(ra.val_top1_pct) and ra.train_loss < steps[0].loss
    assert evaluate(a, bright_dark, bright_dark.test) == pytest.approx(ra.test_top1_pct)
    assert ra.to_dict() | {"wall_time_s": 0, "images_per_s": 0} == rb.to_dict() | {"wall_time_s": 0, "images_per_s": 0}
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_mutual_learning_keeps_the_peer_best_on_validation(
    bright_dark: ImageData, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([40.0, 60.0, 55.0, 80.0])  # epoch 1: peers 0 and 1; epoch 2: peers 0 and 1
    evaluated: list[dict[str, torch.Tensor]] = []

    def scripted(module: torch.nn.Module, data: ImageData, split: Split, **_: object) -> float:
        if split is data.test:
            return 12.5
        evaluated.append(copy.deepcopy(module.state_dict()))
        return next(scores)

    monkeypatch.setattr(importlib.import_module("edgebench.distill.train"), "evaluate", scripted)
    student = build_network(smallest(), 2, seed=0)
    module, result = train(student, bright_dark, get_loss("dml"), config=TrainConfig(epochs=2, batch_size=16))
    assert module is student and result.peer == 1 and result.peers_val_top1_pct == (55.0, 80.0)
    assert result.val_top1_pct == 80.0 and result.best_epoch == 2 and result.test_top1_pct == 12.5
    assert all(torch.equal(v, evaluated[3][k]) for k, v in module.state_dict().items())  # peer 1 after epoch 2
    differ = [not torch.equal(v, evaluated[1][k]) for k, v in evaluated[0].items() if v.is_floating_point()]
    assert all(differ)  # the peers started from different weights, so they never trained alike
