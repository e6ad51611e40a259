"""Each importance criterion finds the channel that was made useless, and unknown names get a suggestion."""

from __future__ import annotations

import functools
import re

import pytest
import torch

from edgebench.exceptions import UnknownNameError
from edgebench.nets import create_net
from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.importance import CRITERIA, Scores, get_criterion


def _graph_with_a_dead_channel(channel: int = 2) -> tuple[PruningGraph, torch.Tensor, torch.Tensor]:
    """resnet18-0.25-cifar whose '3.conv1' output ``channel`` contributes nothing (zero filter, gamma, beta), with
    its classifier scaled so that its random outputs are confident, as a trained network's are."""
    module, shape = create_net("resnet18-0.25-cifar", seed=1)
    with torch.no_grad():
        next(m for m in module.modules() if isinstance(m, torch.nn.Linear)).weight.mul_(100.0)
        module.get_submodule("3.conv1").weight[channel].zero_()
        bn = module.get_submodule("3.bn1")
        bn.weight[channel], bn.bias[channel] = 0.0, 0.0
    g = torch.Generator().manual_seed(0)
    return PruningGraph(module, shape), torch.randn(8, *shape[1:], generator=g), torch.randint(0, 10, (8,), generator=g)


@functools.cache
def _scored(name: str) -> tuple[PruningGraph, Scores]:
    """The graph with a dead channel and one criterion's scores of it, computed once (info runs the network once per
    channel: 16 s)."""
    graph, x, y = _graph_with_a_dead_channel()
    return graph, get_criterion(name)(graph, x, y)


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_the_dead_channel_is_the_least_important_of_its_group(name: str) -> None:
    graph, scores = _scored(name)
    assert set(scores) == {g.root for g in graph.groups()}
    assert all(len(s) == g.channels and torch.isfinite(s).all() for g in graph.groups() for s in [scores[g.root]])
    dead = scores["3.conv1"]
    assert int(dead.argmin()) == 2 and float(dead.sort().values[1]) > 0.0
    if name != "l1":  # the group's L1 norm also counts the next conv's weights that read the channel
        assert float(dead[2]) == pytest.approx(0.0, abs=1e-9)


def test_info_is_the_output_change_so_it_compares_across_groups() -> None:
    _, scores = _scored("info")
    # not normalised per group: a residual stream's channel, read by every later block, weighs more than an inner one
    assert float(scores["9.shortcut.0"].mean()) > float(scores["3.conv1"].mean())


def test_unknown_criterion_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match=re.escape("'taylor'")):
        get_criterion("tailor")
