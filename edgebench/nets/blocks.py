"""Building blocks shared by the reference networks and the search spaces."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

#: An activation layer's constructor, e.g. ``nn.Hardswish``.
Activation = Callable[[], nn.Module]
#: One stage of inverted residuals: (expansion, kernel, output channels, repeats, first stride).
Stage = tuple[int, int, int, int, int]


class ConvBNAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation: ReLU6 if ``act`` is True, none if False, else ``act()``."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool | Activation = True
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act is True:
            layers.append(nn.ReLU6(inplace=True))
        elif act is not False:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation gate, by default MobileNetV3's: ReLU inside, hard-sigmoid gate.

    ``hidden`` defaults to ``channels // reduction``, at least 8.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 4,
        hidden: int | None = None,
        act: Activation = nn.ReLU,
        gate: Activation = nn.Hardsigmoid,
    ) -> None:
        super().__init__()
        hidden = hidden or max(8, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = act()
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand -> kxk depthwise (stride) -> [SE] -> 1x1 project, residual if shapes match.

    The expanded width is ``cin * expand`` unless ``hidden`` gives it (MobileNetV3's tables do); ``act`` follows
    the expand and depthwise convs (as in :class:`ConvBNAct`); ``se`` is True for the default
    :class:`SqueezeExcite`, or the gate itself.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int,
        expand: int,
        kernel: int = 3,
        se: bool | nn.Module = False,
        *,
        hidden: int | None = None,
        act: bool | Activation = True,
    ) -> None:
        super().__init__()
        hidden = hidden or cin * expand
        layers: list[nn.Module] = [ConvBNAct(cin, hidden, 1, act=act)] if hidden != cin else []
        layers.append(ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, act=act))
        if isinstance(se, nn.Module):
            layers.append(se)
        elif se:
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


def inverted_stages(
    cin: int, stages: Sequence[Stage], block: Callable[[int, int, int, int, int], nn.Module] = InvertedResidual
) -> tuple[list[nn.Module], int]:
    """The blocks of ``stages`` from ``cin`` channels, each built as ``block(cin, cout, stride, expand, kernel)``:
    a stage's first block takes its stride, the others stride 1. Returns the blocks and their output channels."""
    layers: list[nn.Module] = []
    for expand, kernel, cout, repeats, stride in stages:
        for i in range(repeats):
            layers.append(block(cin, cout, stride if i == 0 else 1, expand, kernel))
            cin = cout
    return layers, cin
