"""MobileNetV2 with a width multiplier, in CIFAR (32x32, early strides removed) and ImageNet (224x224) forms."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, inverted_stages

#: (expansion, output channels, repeats, first stride) per stage, from the MobileNetV2 paper.
IMAGENET_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
#: CIFAR variant: the stem and the second stage keep stride 1 so 32x32 ends at 4x4.
CIFAR_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never dropping more than 10 % (as in the paper's code)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenetv2(width: float = 1.0, classes: int = 10, cifar: bool = True) -> nn.Module:
    """Build MobileNetV2; ``width`` scales every layer's channels (the head keeps >= 1280)."""
    stages = CIFAR_STAGES if cifar else IMAGENET_STAGES
    stem = make_divisible(32 * width)
    scaled = [
        (expand, 3, make_divisible(channels * width), repeats, stride) for expand, channels, repeats, stride in stages
    ]
    blocks, cin = inverted_stages(stem, scaled)
    head = make_divisible(1280 * max(1.0, width))
    return nn.Sequential(ConvBNAct(3, stem, 3, stride=1 if cifar else 2), *blocks, ConvBNAct(cin, head, 1),
                         ClassifierHead(head, classes))  # fmt: skip
