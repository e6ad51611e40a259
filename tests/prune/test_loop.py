"""The prune-to-latency loop reaches its budget in predicted latency, keeps widths on the multiple, records a
history that rebuilds the pruned network, and says when a budget cannot be reached."""

from __future__ import annotations

import copy

import pytest
import torch

from edgebench.data import ImageData
from edgebench.devices import get_device
from edgebench.distill.networks import build_network
from edgebench.distill.train import TrainConfig
from edgebench.exceptions import ConfigError
from edgebench.prune.graph import PruningGraph
from edgebench.prune.latency import LayerTable, build_layer_table
from edgebench.prune.loop import PruneConfig, prune_to_budget
from edgebench.types import Precision

NET, SHAPE = "resnet18-0.25-cifar", (1, 3, 32, 32)
QUICK = TrainConfig(epochs=1, batch_size=32, augment=False)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> LayerTable:
    rpi5 = get_device("rpi5")
    return build_layer_table(NET, 2, rpi5, "onnxruntime", Precision.FP32, tmp_path_factory.mktemp("cache"), steps=4)


def test_pruning_meets_the_budget_and_its_history_rebuilds_the_network(
    table: LayerTable, bright_dark: ImageData
) -> None:
    teacher = build_network(NET, 2).eval()
    student = copy.deepcopy(teacher)
    unpruned = table.network_ms(student, SHAPE)
    config = PruneConfig(unpruned * 0.6, "l1", multiple=8, finetune_every=3, finetune=QUICK, final=QUICK)
    result = prune_to_budget(student, SHAPE, table, bright_dark, teacher, config)
    assert result.predicted_ms <= config.budget_ms < result.unpruned_ms == pytest.approx(unpruned)
    assert result.final.epochs_run == 1
    predicted = [s.predicted_ms for s in result.history.steps]
    assert predicted == sorted(predicted, reverse=True) and predicted[-1] == result.predicted_ms
    widths = [g.channels for g in PruningGraph(result.module, SHAPE).groups()]
    assert all(w % 8 == 0 for w in widths) and min(widths) < 16  # some group was cut below its original width
    rebuilt = result.history.replay(build_network(NET, 2))
    rebuilt.load_state_dict(result.module.state_dict())
    x = torch.randn(2, *SHAPE[1:])
    with torch.no_grad():
        assert torch.allclose(rebuilt.eval()(x), result.module.eval()(x))


def test_an_unreachable_budget_is_refused_with_the_latency_reached(table: LayerTable, bright_dark: ImageData) -> None:
    teacher = build_network(NET, 2).eval()
    config = PruneConfig(1e-6, "bn_scale", multiple=8, finetune_every=1000, finetune=QUICK, final=QUICK)
    student = copy.deepcopy(teacher)
    with pytest.raises(ConfigError, match=r"budget 0\.000 ms cannot be reached; with 8 channel\(s\) left in every gr"):
        prune_to_budget(student, SHAPE, table, bright_dark, teacher, config)
    assert all(torch.equal(a, b) for a, b in zip(student.parameters(), teacher.parameters(), strict=True))  # untouched
