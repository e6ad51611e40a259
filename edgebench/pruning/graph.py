"""The channel groups of a network that structural pruning removes together, from Torch-Pruning's dependency graph.

A group is named by its root: the conv whose output channels it prunes. Layers coupled to it (its BatchNorm, the
next conv's input channels, every layer on the same residual stream, a depthwise conv's groups) shrink with it;
Torch-Pruning tracks those couplings, edgebench does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from edgebench.exceptions import ConfigError


@dataclass(frozen=True)
class ChannelGroup:
    """Channels pruned together: the root conv's outputs and the layers coupled to them."""

    root: str  # the root conv's module name
    channels: int  # its current output channels
    layers: tuple[str, ...]  # every module the group shrinks, root first


class PruningGraph:
    """A network's dependency graph for one input shape; prunes channel groups in place."""

    def __init__(self, module: nn.Module, input_shape: Sequence[int]) -> None:
        self.module = module
        self.input_shape = tuple(input_shape)
        self._names = {m: n for n, m in module.named_modules()}
        self._dg = tp.DependencyGraph().build_dependency(module, example_inputs=torch.zeros(self.input_shape))
        self._ignored = [m for m in module.modules() if isinstance(m, nn.Linear)]  # the classifier keeps its classes

    def groups(self) -> list[ChannelGroup]:
        """Every prunable group, in network order of its root."""
        found = []
        for group in self._dg.get_all_groups(ignored_layers=self._ignored, root_module_types=[nn.Conv2d]):
            root = group[0].dep.target.module
            layers = dict.fromkeys(self._names[d.target.module] for d, _ in group if d.target.module in self._names)
            found.append(ChannelGroup(self._names[root], root.out_channels, tuple(layers)))
        order = list(self._names.values())
        return sorted(found, key=lambda g: order.index(g.root))

    def conv(self, root: str) -> nn.Conv2d:
        """The root conv of a group, by module name."""
        try:
            conv = self.module.get_submodule(root)
        except AttributeError:
            conv = None
        if not isinstance(conv, nn.Conv2d):
            raise ConfigError(f"pruning: '{root}' is not a conv layer of this network")
        return conv

    def tp_group(self, root: str, channels: Sequence[int] | None = None) -> tp.dependency.Group:
        """Torch-Pruning's group for ``channels`` of ``root``'s outputs (all of them by default, as importance
        criteria score them)."""
        conv = self.conv(root)
        idxs = list(range(conv.out_channels)) if channels is None else list(channels)
        return self._dg.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=idxs)

    def masked_layers(self, root: str) -> list[nn.Module]:
        """The convs and BatchNorms whose output channels the group removes: zeroing their outputs at a channel
        computes what the network would without it."""
        return [
            d.target.module
            for d, _ in self.tp_group(root)
            if d.handler.__name__ == "prune_out_channels" and isinstance(d.target.module, nn.Conv2d | nn.BatchNorm2d)
        ]

    def coupled_convs(self, root: str) -> tuple[set[str], set[str]]:
        """The convs whose output channels, and those whose input channels, the group removes (a depthwise conv
        is listed with its outputs and loses its inputs with them)."""
        outs: set[str] = set()
        ins: set[str] = set()
        for d, _ in self.tp_group(root):
            if isinstance(d.target.module, nn.Conv2d) and d.target.module in self._names:
                (outs if d.handler.__name__ == "prune_out_channels" else ins).add(self._names[d.target.module])
        return outs, ins

    def prune(self, root: str, channels: Sequence[int]) -> None:
        """Remove ``channels`` (indices into ``root``'s current outputs) from the group rooted at ``root``."""
        width = self.conv(root).out_channels
        if any(not 0 <= c < width for c in channels) or len(set(channels)) >= width:
            raise ConfigError(
                f"pruning: cannot remove channels {list(channels)} of '{root}' ({width} channels; at least one "
                "must stay)"
            )
        self.tp_group(root, channels).prune()
