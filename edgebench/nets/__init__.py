"""Reference networks by name (like timm's ``create_model``): MobileNetV2 and ResNet-18 families."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from edgebench.exceptions import UnknownNameError
from edgebench.nets.mobilenetv2 import mobilenetv2
from edgebench.nets.resnet import resnet18


@dataclass(frozen=True)
class NetEntry:
    """How to build one named network and the input it expects (batch 1)."""

    build: Callable[[int], nn.Module]
    input_shape: tuple[int, ...]


def _entries() -> dict[str, NetEntry]:
    cifar, imagenet = (1, 3, 32, 32), (1, 3, 224, 224)
    nets: dict[str, NetEntry] = {}
    for w in (0.25, 0.5, 0.75, 1.0):
        nets[f"mobilenetv2-{w}-cifar"] = NetEntry(partial(mobilenetv2, w, cifar=True), cifar)
        nets[f"mobilenetv2-{w}-224"] = NetEntry(partial(mobilenetv2, w, cifar=False), imagenet)
    for w in (0.25, 0.5, 1.0):
        nets[f"resnet18-{w}-cifar"] = NetEntry(partial(resnet18, w, cifar=True), cifar)
    nets["resnet18-224"] = NetEntry(partial(resnet18, 1.0, cifar=False), imagenet)
    return nets


NETS = _entries()


def list_nets(pattern: str = "*") -> list[str]:
    """Registered network names matching a shell-style pattern, e.g. ``mobilenetv2*``."""
    return sorted(n for n in NETS if fnmatch.fnmatch(n, pattern))


def settle_batchnorm(module: nn.Module, input_shape: tuple[int, ...], batches: int = 4) -> nn.Module:
    """Give an untrained network BatchNorm statistics of real activations, not the (0, 1) defaults.

    With default statistics a deep random network's activations shrink towards zero, which no INT8
    quantizer can represent; a trained network never looks like that.
    """
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            module(torch.randn(16, *input_shape[1:]))
    return module.eval()


def create_net(name: str, classes: int = 10, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """Build a registered network with seeded random weights and settled BatchNorm statistics.

    Returns the eval-mode module and its input shape (batch 1).
    """
    if name not in NETS:
        raise UnknownNameError("network", name, NETS)
    entry = NETS[name]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = settle_batchnorm(entry.build(classes), entry.input_shape)
    return module, entry.input_shape
