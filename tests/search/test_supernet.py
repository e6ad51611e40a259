"""The OFA supernet runs any sub-network of its space, extracts it as the module the space builds, recalibrates its
BatchNorm, and trains with the sandwich rule deterministically and resumably."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from edgebench.data import ImageData, Split
from edgebench.distill.train import TrainStep
from edgebench.exceptions import ConfigError
from edgebench.searching import supernet as supernet_module
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch, get_space
from edgebench.searching.supernet import (
    CHECKPOINT,
    Supernet,
    SupernetConfig,
    extract,
    load_supernet,
    recalibrate_bn,
    score,
    slim_copy,
    train_supernet,
)

pytestmark = pytest.mark.usefixtures("one_thread")
FAST = SupernetConfig(epochs=2, largest_epochs=1, batch_size=16, random_subnets=1, device="cpu")


class Stop(Exception):
    """Raised from a progress callback to kill a run mid-epoch."""


@pytest.fixture(scope="module")
def data() -> ImageData:
    """Four classes of 32x32 images told apart by their brightness."""
    rng = np.random.default_rng(0)

    def split(n: int) -> Split:
        y = np.arange(n) % 4
        x = rng.integers(0, 60, (n, 3, 32, 32)) + 60 * y[:, None, None, None]
        return Split(x.astype(np.uint8), y.astype(np.int64))

    return ImageData("brightness", ("0", "1", "2", "3"), split(64), split(16), split(16), flip=False)


def randomise_bn(net: nn.Module) -> None:
    """Set ``net``'s BatchNorm weights and statistics far from their initial values, so eval mode tests them."""
    gen = torch.Generator().manual_seed(0)
    for bn in (m for m in net.modules() if isinstance(m, nn.BatchNorm2d)):
        n = bn.num_features
        bn.weight.data, bn.bias.data = 0.5 + torch.rand(n, generator=gen), torch.randn(n, generator=gen) * 0.5
        bn.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
        bn.running_var.copy_(0.5 + torch.rand(n, generator=gen))


def archs(net: Supernet, count: int) -> list[ArchSpec]:
    rng = random.Random(1)
    return [net.largest(), net.smallest(), *(net.sample(rng) for _ in range(count))]


def test_subnet_forward_equals_its_extracted_module(elastic: SearchSpace) -> None:
    net = Supernet(elastic).eval()
    randomise_bn(net)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        for arch in archs(net, 6):
            torch.testing.assert_close(extract(net, arch)(x), net(x, arch), atol=1e-5, rtol=0)


def test_extracted_module_has_the_built_modules_state(elastic: SearchSpace) -> None:
    net = Supernet(elastic)
    for arch in archs(net, 4):
        shapes = {k: v.shape for k, v in extract(net, arch).state_dict().items()}
        assert shapes == {k: v.shape for k, v in elastic.build(arch).state_dict().items()}


def test_kernel_3_is_the_centre_of_the_kernel_5_weight(elastic: SearchSpace) -> None:
    arch = ArchSpec(
        elastic.name, (StageArch(8, (BlockArch(1, 3),)), StageArch(16, (BlockArch(2, 3), BlockArch(1, 5, True))))
    )
    net = Supernet(elastic)
    module = extract(net, arch)
    depthwise = net.stages[1][0].depthwise[0].weight  # (32, 1, 5, 5): 16 channels x expansion 2 at most
    assert torch.equal(module[2].body[1][0].weight, depthwise[:16, :, 1:4, 1:4])
    assert torch.equal(module[3].body[0][0].weight, net.stages[1][1].depthwise[0].weight[:16])


def test_smallest_and_largest_take_each_choices_extremes(elastic: SearchSpace) -> None:
    net = Supernet(elastic)
    small, large = net.smallest().stages[1], net.largest().stages[1]
    assert (small.width, len(small.blocks), small.blocks[0]) == (8, 1, BlockArch(1, 3, False))
    assert (large.width, len(large.blocks), large.blocks[0]) == (16, 2, BlockArch(2, 5, True))


def test_forward_without_arch_runs_the_active_one(elastic: SearchSpace) -> None:
    net = Supernet(elastic).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), net(x, net.largest()))
        net.set_active(net.smallest())
        assert torch.equal(net(x), net(x, net.smallest()))


def test_recalibrate_bn_takes_the_statistics_of_the_images(tiny: SearchSpace) -> None:
    net = Supernet(tiny)
    module = extract(net, net.largest())
    randomise_bn(module)
    images = torch.randn(32, 3, 32, 32) * 2 + 1
    recalibrate_bn(module, images, batch_size=64)
    conv, bn = module[0][0], module[0][1]
    with torch.no_grad():
        y = conv(images)
    torch.testing.assert_close(bn.running_mean, y.mean((0, 2, 3)), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.running_var, y.var((0, 2, 3)), atol=1e-4, rtol=1e-4)
    assert not module.training and bn.momentum == 0.1


def test_recalibrating_a_supernet_arch_writes_its_statistics_back(elastic: SearchSpace) -> None:
    net = Supernet(elastic)
    arch = net.sample(random.Random(5))
    module = recalibrate_bn(net, torch.randn(40, 3, 32, 32), arch, batch_size=16)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x, arch), module(x), atol=1e-5, rtol=0)


def test_score_is_a_percentage_and_leaves_the_supernet_unchanged(tiny: SearchSpace, data: ImageData) -> None:
    net = Supernet(tiny)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert 0.0 <= score(net, net.smallest(), data, calib=32) <= 100.0
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def test_training_runs_and_reports_every_step(tiny: SearchSpace, data: ImageData) -> None:
    steps: list[TrainStep] = []
    result = train_supernet(Supernet(tiny), data, None, FAST, steps.append)
    assert [s.done for s in steps] == list(range(1, 9)) and steps[-1].total == 8
    assert (result.epochs, result.epochs_run) == (2, 2)
    assert math.isfinite(result.train_loss) and result.images_per_s > 0
    assert 0 <= result.largest_val_top1_pct <= 100 and 0 <= result.smallest_val_top1_pct <= 100


def test_the_first_epochs_train_the_largest_alone(
    tiny: SearchSpace, data: ImageData, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []  # (step, sub-networks trained on it)
    sandwich = supernet_module._sandwich

    def counting(supernet: Supernet, *args: Any) -> tuple[float, int]:
        seen.append((len(seen) + 1, len(args[-1])))
        return sandwich(supernet, *args)

    monkeypatch.setattr(supernet_module, "_sandwich", counting)
    train_supernet(Supernet(tiny), data, None, FAST)
    assert seen == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 3), (6, 3), (7, 3), (8, 3)]  # 4 steps an epoch; 1 + 1 + 1


def test_same_seed_gives_the_same_weights(tiny: SearchSpace, data: ImageData) -> None:
    config = SupernetConfig(epochs=1, largest_epochs=0, batch_size=16, random_subnets=1, device="cpu")
    teacher = tiny.build(Supernet(tiny).largest())
    first, second = Supernet(tiny, seed=3), Supernet(tiny, seed=3)
    train_supernet(first, data, teacher, config)
    train_supernet(second, data, teacher, config)
    assert all(torch.equal(v, second.state_dict()[k]) for k, v in first.state_dict().items())


def test_a_killed_run_resumes_at_its_epoch_and_a_finished_one_is_only_scored(
    tiny: SearchSpace, data: ImageData, tmp_path: Path
) -> None:
    whole = Supernet(tiny)
    train_supernet(whole, data, None, FAST)

    def kill_in_epoch_2(step: TrainStep) -> None:
        if step.epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        train_supernet(Supernet(tiny), data, None, FAST, kill_in_epoch_2, tmp_path)
    epoch_1_s = torch.load(tmp_path / CHECKPOINT, weights_only=True)["train_s"]
    steps: list[TrainStep] = []
    resumed = Supernet(tiny)
    result = train_supernet(resumed, data, None, FAST, steps.append, tmp_path)
    assert {s.epoch for s in steps} == {2} and result.epochs_run == 1
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in whole.state_dict().items())

    steps.clear()
    again = train_supernet(Supernet(tiny), data, None, FAST, steps.append, tmp_path)
    assert steps == [] and again.epochs_run == 0
    assert again.largest_val_top1_pct == result.largest_val_top1_pct
    assert 0 < epoch_1_s < result.train_s == again.train_s  # the training time of every epoch, whichever call ran it


def test_a_checkpoint_with_other_settings_is_refused(tiny: SearchSpace, data: ImageData, tmp_path: Path) -> None:
    one = SupernetConfig(epochs=1, largest_epochs=0, batch_size=16, random_subnets=0, device="cpu")
    train_supernet(Supernet(tiny), data, None, one, checkpoint=tmp_path)
    with pytest.raises(ConfigError, match=r"other settings \(seed\)"):
        train_supernet(Supernet(tiny), data, None, dataclasses.replace(one, seed=1), checkpoint=tmp_path)


def test_a_slim_copy_loads_the_same_weights_in_fewer_bytes(tiny: SearchSpace, data: ImageData, tmp_path: Path) -> None:
    one = SupernetConfig(epochs=1, largest_epochs=0, batch_size=16, random_subnets=0, device="cpu")
    trained = Supernet(tiny)
    train_supernet(trained, data, None, one, checkpoint=tmp_path / "run")
    slim_copy(tmp_path / "run", tmp_path / "slim")
    assert (tmp_path / "slim" / CHECKPOINT).stat().st_size < (tmp_path / "run" / CHECKPOINT).stat().st_size
    loaded = load_supernet(tmp_path / "slim", tiny, data.classes, one)
    assert loaded is not None
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in trained.state_dict().items())


def test_data_with_other_classes_is_refused(tiny: SearchSpace, data: ImageData) -> None:
    with pytest.raises(ConfigError, match="4 classes; the supernet 10"):
        train_supernet(Supernet(tiny, classes=10), data, None, FAST)


@pytest.fixture(scope="module")
def mbv2() -> Supernet:
    return Supernet(get_space("mbv2-cifar"))


def test_mbv2_subnets_equal_their_extracted_modules(mbv2: Supernet) -> None:
    randomise_bn(mbv2)
    x = torch.randn(2, 3, 32, 32)
    rng = random.Random(7)
    with torch.no_grad():
        for arch in (mbv2.sample(rng) for _ in range(3)):
            torch.testing.assert_close(extract(mbv2, arch)(x), mbv2.eval()(x, arch), atol=1e-5, rtol=0)
