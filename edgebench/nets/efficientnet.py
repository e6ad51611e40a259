"""EfficientNet-B0 (Tan & Le, 2019): MBConv blocks with SiLU (swish) and sigmoid squeeze-excite, for 224x224."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual, SqueezeExcite
from edgebench.nets.efficientnet_lite import STAGES


def _mbconv(cin: int, cout: int, stride: int, expand: int, kernel: int) -> InvertedResidual:
    """An MBConv block whose squeeze-excite narrows to a quarter of the block's input channels."""
    gate = SqueezeExcite(cin * expand, hidden=max(1, cin // 4), act=nn.SiLU, gate=nn.Sigmoid)
    return InvertedResidual(cin, cout, stride, expand, kernel, gate, act=nn.SiLU)


def efficientnet_b0(classes: int = 1000) -> nn.Module:
    """Build EfficientNet-B0 (5.3 M parameters and 0.39 G multiply-adds at 224x224, 1000 classes)."""
    layers: list[nn.Module] = [ConvBNAct(3, 32, 3, 2, act=nn.SiLU)]
    cin = 32
    for expand, kernel, cout, repeats, stride in STAGES:
        for i in range(repeats):
            layers.append(_mbconv(cin, cout, stride if i == 0 else 1, expand, kernel))
            cin = cout
    return nn.Sequential(*layers, ConvBNAct(cin, 1280, 1, act=nn.SiLU), ClassifierHead(1280, classes))
