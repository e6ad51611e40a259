"""Reference networks by name (like timm's ``create_model``): MobileNet V1/V2/V3, ResNet-18/50, EfficientNet-B0 and
-Lite0, MNASNet, DenseNet-121, SqueezeNet 1.1, ShuffleNet V2, VGG-16, and SSD detectors on MobileNet V1/V2.

Dropout and stochastic depth are left out: they shape training, not the network a device runs."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from edgebench.exceptions import UnknownNameError
from edgebench.nets.densenet import densenet121
from edgebench.nets.efficientnet import efficientnet_b0
from edgebench.nets.efficientnet_lite import efficientnet_lite0
from edgebench.nets.mnasnet import mnasnet
from edgebench.nets.mobilenetv1 import mobilenetv1
from edgebench.nets.mobilenetv2 import mobilenetv2
from edgebench.nets.mobilenetv3 import mobilenetv3_large, mobilenetv3_small
from edgebench.nets.resnet import resnet18, resnet50
from edgebench.nets.shufflenetv2 import shufflenetv2
from edgebench.nets.squeezenet import squeezenet1_1
from edgebench.nets.ssd import ssd_mobilenetv1, ssd_mobilenetv2
from edgebench.nets.vgg import vgg16


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
    nets["resnet50-224"] = NetEntry(resnet50, imagenet)
    for w in (0.25, 0.5, 0.75, 1.0):
        nets[f"mobilenetv1-{w}-224"] = NetEntry(partial(mobilenetv1, w), imagenet)
    nets["efficientnet-lite0-224"] = NetEntry(efficientnet_lite0, imagenet)
    nets["efficientnet-b0-224"] = NetEntry(efficientnet_b0, imagenet)
    nets["mobilenetv3-large-224"] = NetEntry(mobilenetv3_large, imagenet)
    nets["mobilenetv3-small-224"] = NetEntry(mobilenetv3_small, imagenet)
    nets["mnasnet-1.0-224"] = NetEntry(mnasnet, imagenet)
    nets["densenet121-224"] = NetEntry(densenet121, imagenet)
    nets["squeezenet1.1-224"] = NetEntry(squeezenet1_1, imagenet)
    nets["shufflenetv2-1.0-224"] = NetEntry(shufflenetv2, imagenet)
    nets["vgg16-224"] = NetEntry(vgg16, imagenet)
    detection = (1, 3, 300, 300)  # classes: object classes, without the background class SSD adds
    for w in (0.75, 1.0):
        nets[f"ssd-mobilenetv1-{w}-300"] = NetEntry(partial(ssd_mobilenetv1, w), detection)
    nets["ssd-mobilenetv2-1.0-300"] = NetEntry(ssd_mobilenetv2, detection)
    return nets


NETS = _entries()


def list_nets(pattern: str = "*") -> list[str]:
    """Registered network names matching a shell-style pattern, e.g. ``mobilenetv2*``."""
    return sorted(n for n in NETS if fnmatch.fnmatch(n, pattern))


def settle_batchnorm(module: nn.Module, input_shape: tuple[int, ...], batches: int = 4) -> nn.Module:
    """Give an untrained network BatchNorm statistics of real activations, not the (0, 1) defaults.

    With default statistics a deep random network's activations shrink towards zero, which no INT8
    quantizer can represent; a trained network never looks like that. A network without BatchNorm (VGG-16,
    SqueezeNet) is only put in eval mode: running it would change nothing.
    """
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()):
        return module.eval()
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            module(torch.randn(16, *input_shape[1:]))
    return module.eval()


def net_entry(name: str) -> NetEntry:
    """A registered network's builder and input shape; UnknownNameError suggests the closest name."""
    if name not in NETS:
        raise UnknownNameError("network", name, NETS)
    return NETS[name]


def create_net(name: str, classes: int = 10, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """Build a registered network with seeded random weights and settled BatchNorm statistics.

    Returns the eval-mode module and its input shape (batch 1).
    """
    entry = net_entry(name)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = settle_batchnorm(entry.build(classes), entry.input_shape)
    return module, entry.input_shape
