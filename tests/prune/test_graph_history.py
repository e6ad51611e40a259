"""Channel groups follow the network's couplings, and a pruning history rebuilds the pruned network exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from edgebench.exceptions import ConfigError
from edgebench.nets import create_net
from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.history import PruneHistory, PruneStep


def test_residual_channels_form_one_group_across_a_stage() -> None:
    module, shape = create_net("resnet18-0.25-cifar")
    groups = {g.root: g for g in PruningGraph(module, shape).groups()}
    assert len(groups) == 12  # 8 inner convs + 4 residual streams (stem + 3 shortcuts)
    stage2 = groups["5.shortcut.0"]
    assert {"5.shortcut.1", "5.bn2", "6.bn2", "6.conv1"} <= set(stage2.layers) and stage2.channels == 32


def test_pruning_a_mobilenet_expansion_shrinks_its_depthwise_conv() -> None:
    module, shape = create_net("mobilenetv2-0.25-cifar")
    graph = PruningGraph(module, shape)
    group = next(g for g in graph.groups() if g.root == "2.body.1.0")  # a depthwise conv and its expansion
    assert {"2.body.0.0", "2.body.0.1", "2.body.1.1", "2.body.2.0"} <= set(group.layers)
    graph.prune(group.root, [0, 3, 5])
    expand, dw = module.get_submodule("2.body.0.0"), module.get_submodule("2.body.1.0")
    assert expand.out_channels == dw.groups == dw.out_channels == group.channels - 3
    assert module(torch.randn(shape)).shape == (1, 10)


@pytest.mark.parametrize(("root", "channels", "problem"), [
    ("3.bn1", [0], "'3.bn1' is not a conv layer"),
    ("nope", [0], "'nope' is not a conv layer"),
    ("3.conv1", list(range(16)), "at least one must stay"),
    ("3.conv1", [16], "cannot remove channels [16]"),
])  # fmt: skip
def test_impossible_removals_are_refused_by_name(root: str, channels: list[int], problem: str) -> None:
    module, shape = create_net("resnet18-0.25-cifar")
    with pytest.raises(ConfigError, match=f"pruning: .*{re.escape(problem)}"):
        PruningGraph(module, shape).prune(root, channels)


def test_history_replayed_on_the_original_network_gives_the_pruned_one(tmp_path: Path) -> None:
    pruned, shape = create_net("resnet18-0.25-cifar", seed=3)
    graph, history = PruningGraph(pruned, shape), PruneHistory(shape)
    for i, (root, channels) in enumerate([("3.conv1", (1, 2)), ("5.shortcut.0", (0, 7, 31)), ("3.conv1", (0,))]):
        graph.prune(root, channels)
        history = history.with_step(PruneStep(i, root, channels, "l1", 0.5, 1.0 - i / 10))
    path = history.save(tmp_path / "history.json")
    rebuilt = PruneHistory.load(path).replay(create_net("resnet18-0.25-cifar", seed=3)[0])
    assert rebuilt.get_submodule("3.conv1").out_channels == 13 and rebuilt.get_submodule("5.bn2").num_features == 29
    rebuilt.load_state_dict(pruned.state_dict())  # strict: every shape agrees
    x = torch.randn(2, *shape[1:])
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), pruned.eval()(x))
    assert json.loads(path.read_text())["steps"][1]["channels"] == [0, 7, 31]


def test_a_broken_history_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text('{"schema_version": 1, "input_shape": [1, 3, 32, 32], "steps": [{"root": "3.conv1"}]}')
    with pytest.raises(ConfigError, match=r"h\.json: malformed pruning history \(field 'step'\)"):
        PruneHistory.load(path)
    path.write_text("not json")
    with pytest.raises(ConfigError, match=r"h\.json: cannot read pruning history"):
        PruneHistory.load(path)
