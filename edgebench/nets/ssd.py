"""SSD detectors on MobileNet backbones at 300x300, laid out as the TensorFlow Object Detection API builds them.

Feature maps of 19x19 and 10x10 from the backbone, four extra 1x1 + stride-2 3x3 layers (5x5, 3x3, 2x2, 1x1),
and one box and one class predictor conv per map (3 anchors on the first map, 6 on the others). The output is the
raw predictions, ``(batch, anchors, 4 + classes + 1)``; box decoding and non-maximum suppression are left out, as a
runtime's detection-output layer does them. Their FLOPs match the Open Model Zoo's figures (SSD-MobileNetV1 2.49
GFLOPs, SSD-MobileNetV2 3.78 GFLOPs at 91 classes), which the tests check.
"""

from __future__ import annotations

import torch
from torch import nn

from edgebench.nets.blocks import ConvBNAct
from edgebench.nets.mobilenetv1 import mobilenetv1
from edgebench.nets.mobilenetv2 import mobilenetv2

#: Output channels of the four extra feature layers (each a 1x1 conv to half of it, then a stride-2 3x3 conv).
EXTRAS = (512, 256, 256, 128)
ANCHORS = (3, 6, 6, 6, 6, 6)


class SSD(nn.Module):
    """A backbone split at its 19x19 tap, extra layers, and per-map box and class predictors."""

    def __init__(
        self,
        early: nn.Module,
        late: nn.Module,
        taps: tuple[int, int],
        extras: tuple[int, ...],
        classes: int,
        kernel: int,
    ) -> None:
        super().__init__()
        self.early, self.late = early, late
        channels, layers, cin = [*taps], [], taps[1]
        for depth in extras:
            layers.append(nn.Sequential(ConvBNAct(cin, depth // 2, 1), ConvBNAct(depth // 2, depth, 3, 2)))
            channels.append(depth)
            cin = depth
        self.extras = nn.ModuleList(layers)
        self.outputs = 4 + classes + 1
        self.heads = nn.ModuleList(
            nn.Conv2d(c, a * self.outputs, kernel, padding=kernel // 2) for c, a in zip(channels, ANCHORS, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [self.early(x)]
        maps.append(self.late(maps[0]))
        for layer in self.extras:
            maps.append(layer(maps[-1]))
        n = x.shape[0]
        preds = [h(m).permute(0, 2, 3, 1).reshape(n, -1, self.outputs) for h, m in zip(self.heads, maps, strict=True)]
        return torch.cat(preds, dim=1)


def ssd_mobilenetv1(width: float = 1.0, classes: int = 90) -> nn.Module:
    """SSD-MobileNetV1 (``ssd_mobilenet_v1_coco``, or its ``0.75_depth`` variant): maps from Conv2d_11 and
    Conv2d_13's pointwise convs, extras scaled by ``width`` (at least 16), 1x1 predictors."""
    features = list(mobilenetv1(width).children())[:-1]  # stem, 13 x (depthwise, pointwise); no classifier
    taps = (round(512 * width), round(1024 * width))
    extras = tuple(max(16, round(d * width)) for d in EXTRAS)
    return SSD(nn.Sequential(*features[:23]), nn.Sequential(*features[23:]), taps, extras, classes, kernel=1)


def ssd_mobilenetv2(classes: int = 90) -> nn.Module:
    """SSD-MobileNetV2 (``ssd_mobilenet_v2_coco``): maps from layer 15's expansion (576 channels) and the final
    1x1 conv (1280), full-width extras, 3x3 predictors."""
    stem, *blocks, head, _ = mobilenetv2(1.0, cifar=False).children()
    tap = list(blocks[13].get_submodule("body").children())  # the stride-2 block into 160: expand, dw, project
    early = nn.Sequential(stem, *blocks[:13], tap[0])
    late = nn.Sequential(*tap[1:], *blocks[14:], head)
    return SSD(early, late, (576, 1280), EXTRAS, classes, kernel=3)
