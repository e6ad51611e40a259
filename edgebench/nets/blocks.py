"""Building blocks shared by the reference networks and the search spaces."""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation (ReLU6 by default, or none)."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation gate with a hard-sigmoid, as in MobileNetV3."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.relu(self.fc1(self.pool(x)))
        return x * nn.functional.hardsigmoid(self.fc2(s))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand -> kxk depthwise (stride) -> [SE] -> 1x1 project, residual if shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, kernel: int = 3, se: bool = False) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = [ConvBNAct(cin, hidden, 1)] if expand != 1 else []
        layers.append(ConvBNAct(hidden, hidden, kernel, stride, groups=hidden))
        if se:
            layers.append(SqueezeExcite(hidden))
        layers.append(ConvBNAct(hidden, cout, 1, act=False))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class ClassifierHead(nn.Sequential):
    """Global average pool -> flatten -> linear."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes))
