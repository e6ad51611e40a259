"""EfficientNet-B0 (Tan & Le, 2019): MBConv blocks with SiLU (swish) and sigmoid squeeze-excite, for 224x224."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual, SqueezeExcite, inverted_stages
from edgebench.nets.efficientnet_lite import STAGES


def _mbconv(cin: int, cout: int, stride: int, expand: int, kernel: int) -> InvertedResidual:
    """An MBConv block whose squeeze-excite narrows to a quarter of the block's input channels."""
    gate = SqueezeExcite(cin * expand, hidden=max(1, cin // 4), act=nn.SiLU, gate=nn.Sigmoid)
    return InvertedResidual(cin, cout, stride, expand, kernel, gate, act=nn.SiLU)


def efficientnet_b0(classes: int = 1000) -> nn.Module:
    """Build EfficientNet-B0 (5.3 M parameters and 0.39 G multiply-adds at 224x224, 1000 classes)."""
    blocks, cin = inverted_stages(32, STAGES, _mbconv)
    return nn.Sequential(ConvBNAct(3, 32, 3, 2, act=nn.SiLU), *blocks, ConvBNAct(cin, 1280, 1, act=nn.SiLU),
                         ClassifierHead(1280, classes))  # fmt: skip
