"""MobileNetV1 (Howard et al., 2017): a 3x3 stem, then 13 depthwise-separable blocks, global pooling, linear."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct

#: (output channels, stride) of the 13 depthwise-separable blocks, from the paper's Table 1.
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *((512, 1),) * 5, (1024, 2), (1024, 1))


def mobilenetv1(width: float = 1.0, classes: int = 1000) -> nn.Module:
    """Build MobileNetV1 for 224x224 inputs; ``width`` is the paper's multiplier alpha."""
    cin = round(32 * width)
    layers: list[nn.Module] = [ConvBNAct(3, cin, 3, 2)]
    for channels, stride in BLOCKS:
        cout = round(channels * width)
        layers += [ConvBNAct(cin, cin, 3, stride, groups=cin), ConvBNAct(cin, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, ClassifierHead(cin, classes))
