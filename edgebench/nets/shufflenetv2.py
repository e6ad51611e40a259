"""ShuffleNet V2 1.0x (Ma et al., 2018): channel split, a depthwise-separable branch, concatenation and channel
shuffle, in stages of 116/232/464 channels and a 1024-channel conv5, for 224x224 inputs."""

from __future__ import annotations

import torch
from torch import nn

from edgebench.nets.blocks import ConvBNAct

#: (output channels, units) per stage; the first unit of each halves the resolution.
STAGES = ((116, 4), (232, 8), (464, 4))


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> ConvBNAct:
    """Conv (no bias, depthwise when ``kernel`` is 3) -> BatchNorm [-> ReLU]."""
    return ConvBNAct(cin, cout, kernel, stride, groups=cin if kernel == 3 else 1, act=nn.ReLU if relu else False)


def _branch(cin: int, cout: int, stride: int) -> nn.Sequential:
    """The main branch: 1x1 conv-BN-ReLU, 3x3 depthwise-BN (stride), 1x1 conv-BN-ReLU."""
    return nn.Sequential(_conv_bn(cin, cout, 1), _conv_bn(cout, cout, 3, stride, relu=False), _conv_bn(cout, cout, 1))


class ShuffleUnit(nn.Module):
    """A stride-1 unit splits the channels in two and transforms one half; a stride-2 unit transforms the whole
    input on both branches (the shortcut one depthwise-separable). The halves are concatenated and shuffled."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        half = self.half_channels = cout // 2
        self.shortcut: nn.Sequential | None = None
        if stride > 1:
            self.shortcut = nn.Sequential(_conv_bn(cin, cin, 3, stride, relu=False), _conv_bn(cin, half, 1))
        self.branch = _branch(cin if stride > 1 else half, half, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            # a constant split size exports as one static Split (chunk exports shape-computed Slices)
            kept, x = x.split(self.half_channels, 1)
        else:
            kept = self.shortcut(x)
        y = torch.cat((kept, self.branch(x)), 1)
        n, c, h, w = y.shape
        return y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)  # channel shuffle, 2 groups


def shufflenetv2(classes: int = 1000) -> nn.Module:
    """Build ShuffleNet V2 1.0x (2.3 M parameters and 0.15 G multiply-adds at 224x224, 1000 classes)."""
    layers: list[nn.Module] = [ConvBNAct(3, 24, 3, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = 24
    for cout, units in STAGES:
        for i in range(units):
            layers.append(ShuffleUnit(cin, cout, 2 if i == 0 else 1))
            cin = cout
    layers.append(_conv_bn(cin, 1024, 1))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, classes))
