"""The prune-to-latency loop reaches its budget in predicted latency, keeps widths on the multiple, records a
history that rebuilds the pruned network, and says when a budget cannot be reached; each step's cuts save the
step's latency with the fewest channels, and cost what removing them really changes in the output."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from edgebench.data import ImageData
from edgebench.devices import get_device
from edgebench.distill.networks import build_network
from edgebench.distill.train import TrainConfig
from edgebench.exceptions import ConfigError
from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.importance import get_criterion, output_kl
from edgebench.pruning.latency import LayerTable, build_layer_table
from edgebench.pruning.loop import PruneConfig, adapted_output, candidates, output_change, prune_to_budget
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


def _confident() -> torch.nn.Module:
    """An untrained network whose BatchNorms scale and shift their channels unevenly, as a trained one's do: the
    output then depends on most channels, and output changes are well above rounding."""
    torch.manual_seed(0)
    module = build_network(NET, 2).eval()
    with torch.no_grad():
        for norm in (m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0.0, 0.5)
        next(m for m in module.modules() if isinstance(m, torch.nn.Linear)).weight.mul_(3.0)
    return module


def test_zeroing_a_cut_changes_the_output_as_removing_it_does() -> None:
    module = _confident()
    graph, x = PruningGraph(module, SHAPE), torch.randn(16, *SHAPE[1:], generator=torch.Generator().manual_seed(0))
    state = copy.deepcopy(module.state_dict())
    reference = adapted_output(module, x)
    assert output_change(graph, "5.shortcut.0", (), x, reference) == pytest.approx(0.0, abs=1e-9)
    change = output_change(graph, "5.shortcut.0", (1, 4, 9), x, reference)
    pruned = copy.deepcopy(module)
    PruningGraph(pruned, SHAPE).prune("5.shortcut.0", [1, 4, 9])
    removed = output_kl(adapted_output(pruned, x), reference)
    assert change == pytest.approx(float(removed), rel=1e-3) and change > 1e-3
    assert not module.training and all(torch.equal(v, state[k]) for k, v in module.state_dict().items())


def test_a_cut_that_only_shifts_later_statistics_costs_nothing() -> None:
    """Channel 2 of block 3's first conv is a constant the second conv sees only through its centre tap: removing
    it moves each of conv2's outputs by a constant, which BatchNorm re-estimated on the batch takes out."""
    module = _confident()
    with torch.no_grad():
        module.get_submodule("3.bn1").weight[2], module.get_submodule("3.bn1").bias[2] = 0.0, 3.0
        conv2 = module.get_submodule("3.conv2").weight
        conv2[:, 2] = 0.0
        conv2[:, 2, 1, 1] = 1.0
    graph, x = PruningGraph(module, SHAPE), torch.randn(16, *SHAPE[1:], generator=torch.Generator().manual_seed(0))
    assert output_change(graph, "3.conv1", (2,), x, adapted_output(module, x)) == pytest.approx(0.0, abs=1e-5)
    pruned = copy.deepcopy(module)
    PruningGraph(pruned, SHAPE).prune("3.conv1", [2])
    with torch.no_grad():
        stale = output_kl(F.log_softmax(pruned(x), 1), F.log_softmax(module(x), 1))
    assert stale > 1e-2  # with the statistics it was trained with, the same cut looks costly


def test_each_cut_is_the_fewest_channels_that_save_the_step(table: LayerTable) -> None:
    module = _confident()
    graph, x = PruningGraph(module, SHAPE), torch.randn(8, *SHAPE[1:], generator=torch.Generator().manual_seed(0))
    scores = get_criterion("l1")(graph, x, torch.zeros(8, dtype=torch.long))
    want = 0.02 * table.network_ms(module, SHAPE)
    found = {c.root: c for c in candidates(graph, table, scores, 8, want, x)}
    assert set(found) == {g.root for g in graph.groups()}  # every group of resnet18-0.25 has more than 8 channels
    for group in graph.groups():
        cut = found[group.root]
        assert len(cut.channels) % 8 == 0 and group.channels - len(cut.channels) >= 8
        assert cut.channels == tuple(sorted(int(c) for c in scores[group.root].argsort()[: len(cut.channels)]))
        if cut.saving_ms >= want and len(cut.channels) > 8:  # one multiple fewer would not have saved enough
            fewer = candidates(graph, table, scores, 8, float("-inf"), x)  # one multiple from each
            assert fewer[[c.root for c in fewer].index(group.root)].saving_ms < want
        elif cut.saving_ms < want:
            assert group.channels - len(cut.channels) == 8  # all the group can spare
        assert cut.importance > 0.0
