"""DenseNet-121 (Huang et al., 2017), the DenseNet-BC form: growth rate 32, dense blocks of 6/12/24/16 layers with
4x-wide 1x1 bottlenecks, and transitions that halve the channels, for 224x224 inputs."""

from __future__ import annotations

import torch
from torch import nn

from edgebench.nets.blocks import ClassifierHead

GROWTH, BOTTLENECK = 32, 4
BLOCKS = (6, 12, 24, 16)


def _bn_relu_conv(cin: int, cout: int, kernel: int) -> list[nn.Module]:
    """DenseNet's pre-activation order: BatchNorm -> ReLU -> conv (no bias)."""
    return [nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False)]


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 to ``BOTTLENECK * GROWTH`` channels, BN-ReLU-3x3 to ``GROWTH``, concatenated after the input."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        width = BOTTLENECK * GROWTH
        self.body = nn.Sequential(*_bn_relu_conv(cin, width, 1), *_bn_relu_conv(width, GROWTH, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.body(x)), 1)


def densenet121(classes: int = 1000) -> nn.Module:
    """Build DenseNet-121 (8.0 M parameters and 2.8 G multiply-adds at 224x224, 1000 classes)."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    cin = 64
    for i, repeats in enumerate(BLOCKS):
        for _ in range(repeats):
            layers.append(DenseLayer(cin))
            cin += GROWTH
        if i < len(BLOCKS) - 1:  # a transition with compression 0.5
            layers += [*_bn_relu_conv(cin, cin // 2, 1), nn.AvgPool2d(2, 2)]
            cin //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(cin), nn.ReLU(inplace=True), ClassifierHead(cin, classes))
