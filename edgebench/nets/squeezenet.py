"""SqueezeNet 1.1 (Iandola et al., 2016, the 1.1 revision): fire modules, a 1x1 conv classifier and global average
pooling, for 224x224 inputs."""

from __future__ import annotations

import torch
from torch import nn

#: (squeeze, expand) channels of the fire modules; None is a 3x3 stride-2 max pool.
FIRES = ((16, 64), (16, 64), None, (32, 128), (32, 128), None, (48, 192), (48, 192), (64, 256), (64, 256))


class Fire(nn.Module):
    """1x1 squeeze, then 1x1 and 3x3 expands side by side, concatenated; every conv has a bias and a ReLU."""

    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU(inplace=True))
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.ReLU(inplace=True))
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat((self.expand1x1(s), self.expand3x3(s)), 1)


def squeezenet1_1(classes: int = 1000) -> nn.Module:
    """Build SqueezeNet 1.1 (1.2 M parameters and 0.35 G multiply-adds at 224x224, 1000 classes)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True)]
    cin = 64
    for fire in FIRES:
        if fire is None:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
        else:
            layers.append(Fire(cin, *fire))
            cin = 2 * fire[1]
    classifier = (nn.Conv2d(cin, classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return nn.Sequential(*layers, *classifier)
