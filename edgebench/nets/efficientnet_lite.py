"""EfficientNet-Lite0 (the TensorFlow Lite variant of EfficientNet-B0): MBConv blocks with ReLU6 and no
squeeze-excite, a fixed 32-channel stem and 1280-channel head, for 224x224 inputs."""

from __future__ import annotations

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, inverted_stages

#: (expansion, kernel, output channels, repeats, first stride) per stage, EfficientNet-B0's at depth/width 1.0.
STAGES = (
    (1, 3, 16, 1, 1),
    (6, 3, 24, 2, 2),
    (6, 5, 40, 2, 2),
    (6, 3, 80, 3, 2),
    (6, 5, 112, 3, 1),
    (6, 5, 192, 4, 2),
    (6, 3, 320, 1, 1),
)


def efficientnet_lite0(classes: int = 1000) -> nn.Module:
    """Build EfficientNet-Lite0 (about 4.7 M parameters and 0.4 G multiply-adds at 224x224, 1000 classes)."""
    blocks, cin = inverted_stages(32, STAGES)
    return nn.Sequential(ConvBNAct(3, 32, 3, 2), *blocks, ConvBNAct(cin, 1280, 1), ClassifierHead(1280, classes))
