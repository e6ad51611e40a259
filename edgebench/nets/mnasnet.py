"""MNASNet-B1 1.0 (Tan et al., 2019) as common implementations build it: ReLU inverted residuals without
squeeze-excite after a depthwise-separable 32->16 first block, and a 1280-channel head, for 224x224 inputs."""

from __future__ import annotations

from functools import partial

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual, inverted_stages

#: (expansion, kernel, output channels, repeats, first stride) per stage after the first block.
STAGES = (
    (3, 3, 24, 3, 2),
    (3, 5, 40, 3, 2),
    (6, 5, 80, 3, 2),
    (6, 3, 96, 2, 1),
    (6, 5, 192, 4, 2),
    (6, 3, 320, 1, 1),
)


def mnasnet(classes: int = 1000) -> nn.Module:
    """Build MNASNet-B1 1.0 (4.4 M parameters and 0.31 G multiply-adds at 224x224, 1000 classes)."""
    layers: list[nn.Module] = [
        ConvBNAct(3, 32, 3, 2, act=nn.ReLU),
        ConvBNAct(32, 32, 3, groups=32, act=nn.ReLU),
        ConvBNAct(32, 16, 1, act=False),
    ]
    blocks, cin = inverted_stages(16, STAGES, partial(InvertedResidual, act=nn.ReLU))
    return nn.Sequential(*layers, *blocks, ConvBNAct(cin, 1280, 1, act=nn.ReLU), ClassifierHead(1280, classes))
