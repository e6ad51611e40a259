"""Importance criteria for channel groups, by name: how much the network loses when a channel goes.

``l1``, ``bn_scale`` and ``taylor`` are Torch-Pruning's (group L1 norm of the weights, BatchNorm scale |gamma|,
first-order Taylor |w x dL/dw| on a labelled batch), each group's scores divided by their mean as Torch-Pruning
does for global pruning. ``info`` is information-based in the spirit of HFP: the mean KL divergence between the
network's output distribution on a scoring batch of training images with and without the channel (computed by
zeroing it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch_pruning as tp
from torch import nn
from torch.nn import functional as F

from edgebench.exceptions import UnknownNameError
from edgebench.pruning.graph import PruningGraph

#: per-channel scores of every group, by root name
Scores = dict[str, torch.Tensor]
Criterion = Callable[[PruningGraph, torch.Tensor, torch.Tensor], Scores]


def _torch_pruning(make: Callable[[], tp.importance.Importance], needs_grad: bool = False) -> Criterion:
    def scores(graph: PruningGraph, x: torch.Tensor, y: torch.Tensor) -> Scores:
        module = graph.module
        if needs_grad:
            module.zero_grad()
            module.eval()
            F.cross_entropy(module(x), y).backward()
        importance = make()
        with torch.no_grad():
            out = {g.root: importance(graph.tp_group(g.root)).detach().clone() for g in graph.groups()}
        module.zero_grad(set_to_none=True)
        return out

    return scores


@contextmanager
def masked(graph: PruningGraph, root: str, mask: torch.Tensor) -> Iterator[None]:
    """Within the block, the output channels of ``root``'s group are scaled by ``mask`` (1, C, 1, 1), changed in
    place as needed: zeroing one computes what the network would without that channel."""

    def hook(_: nn.Module, __: object, output: torch.Tensor) -> torch.Tensor:
        return output * mask

    hooks = [m.register_forward_hook(hook) for m in graph.masked_layers(root)]
    try:
        yield
    finally:
        for h in hooks:
            h.remove()


def output_kl(without: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """KL(reference || without) of two log-softmax outputs, mean over the batch."""
    return F.kl_div(without, reference, log_target=True, reduction="batchmean")


@torch.no_grad()
def information(graph: PruningGraph, x: torch.Tensor, y: torch.Tensor) -> Scores:
    """Mean KL(p || p without the channel) over the batch, for every channel of every group (one forward pass
    per channel: batching several channels per pass was slower on CPU)."""
    module = graph.module.eval()
    reference = F.log_softmax(module(x), dim=1)
    out = {}
    for group in graph.groups():
        mask = torch.ones(1, group.channels, 1, 1)
        scores = torch.empty(group.channels)
        with masked(graph, group.root, mask):
            for c in range(group.channels):
                mask.fill_(1.0)
                mask[0, c] = 0.0
                scores[c] = output_kl(F.log_softmax(module(x), dim=1), reference)
        out[group.root] = scores.clamp_min(0.0)
    return out


CRITERIA: dict[str, Criterion] = {
    "l1": _torch_pruning(lambda: tp.importance.GroupMagnitudeImportance(p=1)),
    "bn_scale": _torch_pruning(tp.importance.BNScaleImportance),
    "taylor": _torch_pruning(tp.importance.GroupTaylorImportance, needs_grad=True),
    "info": information,
}


def get_criterion(name: str) -> Criterion:
    """A criterion by name; UnknownNameError suggests the closest."""
    if name not in CRITERIA:
        raise UnknownNameError("importance criterion", name, CRITERIA)
    return CRITERIA[name]
