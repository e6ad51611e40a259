"""Checkpoints round-trip to identical predictions, hold no pickled code, and refuse what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from edgebench.devices.local import cpu_label
from edgebench.distill.checkpoint import ARCH, WEIGHTS, load_checkpoint, save_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.networks import Network, build_network, resolve_network
from edgebench.distill.teacher import default_teacher, default_teacher_dir
from edgebench.distill.train import TrainConfig, TrainResult
from edgebench.exceptions import ConfigError, UnknownNameError
from edgebench.searching.space import ArchSpec, BlockArch, StageArch, get_space
from edgebench.shipped import SHIPPED
from tests.distill.conftest import smallest
from tests.search.test_cli import TINY32

RESULT = TrainResult("kd", 91.5, 90.25, 3, 4, 0.12, 1.5, 800.0, 7, "cpu")


def _trained_like(network: Network, classes: int) -> torch.nn.Module:
    """A network whose BatchNorm statistics have moved off their defaults, as training leaves them."""
    module = build_network(network, classes, seed=3)
    with torch.no_grad():
        module(torch.randn(8, 3, 32, 32) * 2 + 1)
    return module.eval()


@pytest.mark.parametrize("network", ["resnet18-0.25-cifar", smallest()], ids=["builtin", "archspec"])
def test_checkpoint_round_trips_to_identical_predictions(tmp_path: Path, network: Network) -> None:
    module = _trained_like(network, classes=7)
    save_checkpoint(tmp_path / "ck", network, module, 7, "digits", get_loss("kd"), TrainConfig(), RESULT)
    back = load_checkpoint(tmp_path / "ck")
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(back.module(x), module(x))
    assert back.network == network and back.classes == 7 and back.test_top1_pct == 90.25
    assert back.metrics["loss_params"] == {"temperature": 4.0, "alpha": 0.9}
    assert back.metrics["cpu"] == cpu_label() and back.metrics["threads"] == torch.get_num_threads()  # what timed it
    assert json.loads((tmp_path / "ck" / ARCH).read_text())["classes"] == 7
    assert not list((tmp_path / "ck").glob("*.tmp"))


def test_a_searched_network_keeps_its_device_adapted_space(tmp_path: Path) -> None:
    space = get_space(str(TINY32)).for_device(8)  # a space file no name finds, its widths moved to multiples of 8
    first = [
        StageArch(s.width[0], (BlockArch(s.expansion[0], s.kernel[0], s.se[0]),) * s.depth[0]) for s in space.stages
    ]
    arch = ArchSpec(space.name, tuple(first))
    module = build_network(arch, 3, space=space).eval()
    save_checkpoint(tmp_path, arch, module, 3, "digits", get_loss("ce"), TrainConfig(), RESULT, space=space)
    back = load_checkpoint(tmp_path)
    x = torch.randn(2, *back.input_shape[1:])
    with torch.no_grad():
        assert torch.equal(back.module(x), module(x))
    assert back.space == space and back.input_shape == (1, 3, space.resolution, space.resolution)
    broken = json.loads((tmp_path / ARCH).read_text())
    (tmp_path / ARCH).write_text(json.dumps({**broken, "space": {"name": "x"}}))
    with pytest.raises(ConfigError, match=r"arch.json: field 'space' is not a search space"):
        load_checkpoint(tmp_path)


def test_weights_are_tensors_only(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, "resnet18-0.25-cifar", _trained_like("resnet18-0.25-cifar", 10), 10, "digits",
                    get_loss("ce"), TrainConfig(), RESULT)  # fmt: skip
    state = torch.load(tmp_path / WEIGHTS, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not an edgebench checkpoint.*edgebench teacher train"):
        load_checkpoint(tmp_path)


def test_weights_of_another_network_are_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, "resnet18-0.25-cifar", _trained_like("resnet18-0.25-cifar", 10), 10, "digits",
                    get_loss("ce"), TrainConfig(), RESULT)  # fmt: skip
    arch = json.loads((tmp_path / ARCH).read_text())
    (tmp_path / ARCH).write_text(json.dumps({**arch, "net": "resnet18-0.5-cifar"}))
    with pytest.raises(ConfigError, match=r"weights.pt: weights do not load into resnet18-0.5-cifar"):
        load_checkpoint(tmp_path)


def test_network_names_resolve_with_aliases_and_suggestions(tmp_path: Path) -> None:
    assert resolve_network("resnet18-cifar") == "resnet18-1.0-cifar"
    path = tmp_path / "arch.json"
    path.write_text(smallest().to_json())
    assert resolve_network(str(path)) == smallest()
    with pytest.raises(UnknownNameError, match=r"Did you mean 'resnet18-0\.5-cifar'"):
        resolve_network("resnet18-0.5-cifr")


def test_a_cached_default_teacher_is_loaded_not_retrained(tmp_path: Path) -> None:
    path = default_teacher_dir(tmp_path)
    module = _trained_like("resnet18-0.25-cifar", 10)
    save_checkpoint(path, "resnet18-0.25-cifar", module, 10, "digits", get_loss("ce"), TrainConfig(), RESULT)
    teacher = default_teacher(tmp_path)
    assert teacher.path == path and teacher.test_top1_pct == 90.25


def test_default_teachers_exist_per_built_in_data_set_only(tmp_path: Path) -> None:
    assert default_teacher_dir(tmp_path, "digits") != default_teacher_dir(tmp_path)
    assert "cluttered-digits" in default_teacher_dir(tmp_path).name
    with pytest.raises(ConfigError, match=r"no default teacher for data 'npz:x\.npz'.*edgebench teacher train"):
        default_teacher_dir(tmp_path, "npz:x.npz")


def test_an_empty_cache_gets_the_shipped_default_teacher_without_training(tmp_path: Path) -> None:
    shipped = SHIPPED / "teachers" / default_teacher_dir(tmp_path).name
    assert (shipped / "metrics.json").is_file(), "the default task's teacher ships in edgebench/weights/teachers/"
    teacher = default_teacher(tmp_path)  # training it would take minutes; copying takes milliseconds
    assert teacher.path == default_teacher_dir(tmp_path)
    assert json.loads((shipped / "metrics.json").read_text()) == teacher.metrics
    assert teacher.metrics["data"] == "cluttered-digits" and 75 <= teacher.test_top1_pct <= 92
