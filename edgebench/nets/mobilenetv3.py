"""MobileNetV3-Large and -Small (Howard et al., 2019): inverted residuals with ReLU or hard-swish and hard-sigmoid
squeeze-excite, a hard-swish last conv and a 1280/1024-wide hard-swish linear head, for 224x224 inputs."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import Activation, ConvBNAct, InvertedResidual, SqueezeExcite
from edgebench.nets.mobilenetv2 import make_divisible

RE, HS = nn.ReLU, nn.Hardswish
#: (kernel, expanded channels, output channels, SE, activation, stride) per block, the paper's Table 1.
LARGE = (
    (3, 16, 16, False, RE, 1),
    (3, 64, 24, False, RE, 2),
    (3, 72, 24, False, RE, 1),
    (5, 72, 40, True, RE, 2),
    (5, 120, 40, True, RE, 1),
    (5, 120, 40, True, RE, 1),
    (3, 240, 80, False, HS, 2),
    (3, 200, 80, False, HS, 1),
    (3, 184, 80, False, HS, 1),
    (3, 184, 80, False, HS, 1),
    (3, 480, 112, True, HS, 1),
    (3, 672, 112, True, HS, 1),
    (5, 672, 160, True, HS, 2),
    (5, 960, 160, True, HS, 1),
    (5, 960, 160, True, HS, 1),
)
#: The same for MobileNetV3-Small, the paper's Table 2.
SMALL = (
    (3, 16, 16, True, RE, 2),
    (3, 72, 24, False, RE, 2),
    (3, 88, 24, False, RE, 1),
    (5, 96, 40, True, HS, 2),
    (5, 240, 40, True, HS, 1),
    (5, 240, 40, True, HS, 1),
    (5, 120, 48, True, HS, 1),
    (5, 144, 48, True, HS, 1),
    (5, 288, 96, True, HS, 2),
    (5, 576, 96, True, HS, 1),
    (5, 576, 96, True, HS, 1),
)


def _mobilenetv3(blocks: tuple[tuple[int, int, int, bool, Activation, int], ...], head: int, classes: int) -> nn.Module:
    """A 16-channel hard-swish stem, ``blocks``, a 6x-wide hard-swish 1x1 conv, then a ``head``-wide MLP."""
    layers: list[nn.Module] = [ConvBNAct(3, 16, 3, 2, act=HS)]
    cin = 16
    for kernel, hidden, cout, se, act, stride in blocks:
        # the squeeze width is a quarter of the expanded one, rounded to a multiple of 8 as in the reference code
        gate = SqueezeExcite(hidden, hidden=make_divisible(hidden // 4)) if se else False
        layers.append(InvertedResidual(cin, cout, stride, 1, kernel, gate, hidden=hidden, act=act))
        cin = cout
    last = 6 * cin
    return nn.Sequential(
        *layers,
        ConvBNAct(cin, last, 1, act=HS),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(last, head),
        HS(),
        nn.Linear(head, classes),
    )


def mobilenetv3_large(classes: int = 1000) -> nn.Module:
    """Build MobileNetV3-Large 1.0 (5.5 M parameters and 0.22 G multiply-adds at 224x224, 1000 classes)."""
    return _mobilenetv3(LARGE, 1280, classes)


def mobilenetv3_small(classes: int = 1000) -> nn.Module:
    """Build MobileNetV3-Small 1.0 (2.5 M parameters and 0.06 G multiply-adds at 224x224, 1000 classes)."""
    return _mobilenetv3(SMALL, 1024, classes)
