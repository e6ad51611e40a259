"""ResNet-18 (basic blocks, CIFAR and ImageNet forms) and ResNet-50 v1.5 (bottlenecks, ImageNet)."""

from __future__ import annotations

import torch
from torch import nn

from edgebench.nets.blocks import ClassifierHead


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a (projected when needed) identity shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet18(width: float = 1.0, classes: int = 10, cifar: bool = True) -> nn.Module:
    """Build ResNet-18; ``width`` scales the (64, 128, 256, 512) stage widths."""
    widths = [max(8, round(c * width)) for c in (64, 128, 256, 512)]
    if cifar:
        stem: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)]
    else:
        stem = [nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)]
    stem += [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    if not cifar:
        stem.append(nn.MaxPool2d(3, 2, 1))
    blocks: list[nn.Module] = []
    cin = widths[0]
    for i, cout in enumerate(widths):
        blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*stem, *blocks, ClassifierHead(cin, classes))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: 1x1 reduce, 3x3 (carrying the stride), 1x1 expand x4, projected shortcut if needed."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )  # fmt: skip
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet50(classes: int = 1000) -> nn.Module:
    """Build ResNet-50 v1.5 (MLPerf's) for 224x224 inputs: 3-4-6-3 bottlenecks, about 25.6 M parameters."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    cin = 64
    for i, (width, repeats) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3))):
        for j in range(repeats):
            layers.append(Bottleneck(cin, width, 2 if i and not j else 1))
            cin = width * 4
    return nn.Sequential(*layers, ClassifierHead(cin, classes))
