"""The probe of where a runtime streams large activations slower than the caches allow, for its profile's
``large_maps``: chains of real kernels on square maps from 112x112 to 256x256, on one core."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from edgebench.costmodel.probe import ChainTimer, probed_on, sourced
from edgebench.types import KernelKind

#: The channels of the 1x1 conv pairs (``c -> e -> c``) :func:`probe_large_maps` times, the sides of the square maps
#: it times them on (5.6 to 29 MB read and written a conv, fp32), and how much slower per pixel than the fastest the
#: largest must run for the runtime's ``large_maps`` to be stated (OpenVINO's and LiteRT's ran 2.0 and 1.5 times slower
#: on one Zen 4, ONNX Runtime's 1.03).
LARGE_MAP_PAIR, LARGE_MAP_SIDES, LARGE_MAPS = (16, 96), (112, 160, 192, 224, 256), 1.25
#: The channels of the 3x3 depthwise convs :func:`probe_large_maps` times where the pairs keep up (4.8 to 25 MB read and
#: written a conv at the same sides), and the kinds of kernel their spill then holds for: those with too little work a
#: byte to hide the stream under (ONNX Runtime's ran 2.1 times slower per pixel at 256x256 than at 160x160 on one Zen 4;
#: in the space's 3x224x224 networks its depthwise convs, gate multiplies and reorders past 10 MB ran at 0.3-0.5 of
#: their price where its 1x1 convs kept to 0.96).
LARGE_MAP_DEPTHWISE = 48
MEMORY_BOUND = (KernelKind.DEPTHWISE_CONV, KernelKind.POOLING, KernelKind.ELEMENTWISE, KernelKind.ACTIVATION)


class ConvPair(nn.Module):
    """A 1x1 conv widening ``channels`` to ``wide`` channels, a ReLU and a 1x1 conv back: a MobileNet block's ends."""

    def __init__(self, channels: int, wide: int) -> None:
        super().__init__()
        self.up, self.down = nn.Conv2d(channels, wide, 1, bias=False), nn.Conv2d(wide, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.relu(self.up(x)))


def probe_large_maps(backend: str, runs: int = 100) -> dict[str, Any] | None:
    """Where ``backend``'s kernels stream large activations slower than the caches allow, as a runtime's
    ``large_maps`` states it: chains of :data:`LARGE_MAP_PAIR` 1x1 conv pairs on :data:`LARGE_MAP_SIDES` maps (one
    core); each map's time past the fastest per-pixel rate is fitted as the bytes each conv reads and writes past a
    threshold, at a rate. Where the largest pair runs under :data:`LARGE_MAPS` times slower per pixel, chains of
    :data:`LARGE_MAP_DEPTHWISE`-channel 3x3 depthwise convs likewise, for the :data:`MEMORY_BOUND` kinds alone; None
    where they keep up too."""
    timer, (c, e), d = ChainTimer(backend, runs), LARGE_MAP_PAIR, LARGE_MAP_DEPTHWISE
    pair = functools.partial(ConvPair, c, e)
    if (pairs := _large_maps(timer, pair, c, (c + e) * 4, 2, f"{c} -> {e} -> {c} 1x1 conv pairs")) is not None:
        return pairs
    depthwise = functools.partial(nn.Conv2d, d, d, 3, padding=1, groups=d, bias=False)
    found = _large_maps(timer, depthwise, d, 2 * d * 4, 1, f"3x3 depthwise convs of {d} channels")
    return None if found is None else found | {"kinds": [kind.value for kind in MEMORY_BOUND]}


def _large_maps(timer: ChainTimer, make: Callable[[], nn.Module], channels: int, bytes_per_pixel: int, convs: int,
                what: str) -> dict[str, Any] | None:  # fmt: skip
    """``large_maps`` from chains of ``make()``, ``convs`` convs reading and writing ``bytes_per_pixel`` each, on
    :data:`LARGE_MAP_SIDES` maps of ``channels`` channels; None where the largest keeps up."""
    ms = np.array([timer.per_kernel_ms(make, (1, channels, side, side)) for side in LARGE_MAP_SIDES])
    sides = np.array(LARGE_MAP_SIDES, dtype=np.float64)
    per_pixel = ms / sides**2
    if per_pixel[-1] < LARGE_MAPS * per_pixel.min():
        return None
    above, gbps = _spill_fit(bytes_per_pixel * sides**2 / 1e6, ms - per_pixel.min() * sides**2, convs)
    where = f"{probed_on(timer.backend.name)}: {what}, " + ", ".join(
        f"{side:.0f}x{side:.0f} {ns:.0f}" for side, ns in zip(sides, per_pixel * 1e6, strict=True)
    ) + " ns a pixel"  # fmt: skip
    return {"above_mb": sourced(above, where), "gbps": sourced(gbps, where)}


def _spill_fit(mb: np.ndarray, excess_ms: np.ndarray, convs: int) -> tuple[float, float]:
    """(MB, GB/s) that best explain ``excess_ms`` as ``convs`` convs' bytes past MB (each reads and writes ``mb``) at
    that rate: least squares at each threshold a whole MB under the largest (at 0 MB the rate is positive: the excess
    is never negative and the largest map's is not zero)."""
    best = (np.inf, 0.0, 0.0)
    for above in np.arange(0.0, np.floor(mb.max())):
        spilled = convs * np.maximum(0.0, mb - above)  # MB past the threshold, per link
        ms_per_mb = float(spilled @ excess_ms / (spilled @ spilled))
        if ms_per_mb > 0:
            best = min(best, (float(np.sum((spilled * ms_per_mb - excess_ms) ** 2)), float(above), 1 / ms_per_mb))
    return best[1], best[2]
