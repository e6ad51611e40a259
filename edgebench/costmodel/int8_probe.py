"""Probe a runtime's INT8 kernels that its FP32 ones at the INT8 peak misprice (a profile runtime's ``int8``,
:class:`~edgebench.devices.int8.Int8Kernels`): chains of identical INT8 kernels on one thread, quantized on
``bench``'s calibration inputs, as :mod:`edgebench.costmodel.probe` times FP32 ones."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from edgebench.costmodel.probe import ROUNDS, ChainTimer, probed_on, sourced
from edgebench.types import Precision

#: Depthwise convs are timed at these channels, 28x28: a multiple of 32, of 16 but not 32, and of 8 but not 16.
DEPTHWISE_CHANNELS = (128, 112, 120)
#: A depthwise conv slower than this share of the 128-channel one's rate runs on a path of its own.
SLOWER = 0.8
#: What the per-link figures are timed on: 32 channels at 56x56 (few channels, so the op is not lost in the conv).
CHANNELS, SIDE = 32, 56
#: The share of a link's time an op must add to be timed at all; below it, its rate is a bound.
NOISE = 0.1


class Residual(nn.Module):
    """A 1x1 conv added to its input: the add is a kernel of its own in an INT8 graph."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


def _conv_then(act: Callable[[], nn.Module]) -> nn.Module:
    return nn.Sequential(nn.Conv2d(CHANNELS, CHANNELS, 1), act())


def probe_int8(backend: str, runs: int = 100) -> dict[str, Any]:
    """``backend``'s ``int8`` rates, each with its source (one core's; about half a minute a round): each figure
    the median of :data:`~edgebench.costmodel.probe.ROUNDS` rounds (one round's varied up to 2x on a quiet VM)."""
    timer, where = ChainTimer(backend, runs, Precision.INT8), probed_on(backend)
    rounds = [_round(timer, where) for _ in range(ROUNDS)]
    return {key: _median([r[key] for r in rounds]) for key in rounds[0]}


def _median(figures: list[Any]) -> Any:
    """The median figure of the rounds' (a number, or a sourced one with its source)."""
    return sorted(figures, key=_value)[len(figures) // 2]


def _value(figure: Any) -> float:
    return float(figure["value"] if isinstance(figure, dict) else figure)


def _round(timer: ChainTimer, where: str) -> dict[str, Any]:
    shape = (1, CHANNELS, SIDE, SIDE)
    return {
        **_depthwise(timer, where),
        "stem_ns": _stem(timer, where),
        "pool_gelems": _pool(timer, where),
        "island_gelems": _per_element(
            timer, functools.partial(_conv_then, nn.Hardsigmoid), functools.partial(_conv_then, nn.ReLU), shape,
            f"{where}: hard sigmoids after 1x1 convs at {CHANNELS}x{SIDE}x{SIDE}, against ReLUs",
        ),
        "binary_gelems": _per_element(
            timer, functools.partial(Residual, CHANNELS), functools.partial(nn.Conv2d, CHANNELS, CHANNELS, 1), shape,
            f"{where}: residual adds of 1x1 convs at {CHANNELS}x{SIDE}x{SIDE}, against the convs alone",
        ),
    }  # fmt: skip


def _depthwise(timer: ChainTimer, where: str) -> dict[str, Any]:
    """Depthwise rates at the channels of :data:`DEPTHWISE_CHANNELS`, and the multiple of channels past which they
    drop (1 where none does)."""
    gflops = {}
    for c in DEPTHWISE_CHANNELS:
        link = functools.partial(_depthwise_link, c)
        gflops[c] = 2 * 9 * c * 28 * 28 / timer.per_kernel_ms(link, (1, c, 28, 28)) / 1e6
    fast, by_32, by_8 = gflops.values()
    multiple = 32 if by_32 < SLOWER * fast else 16 if by_8 < SLOWER * fast else 1
    odd = min(by_32, by_8) if multiple > 1 else by_8
    found = ", ".join(f"{c}: {g:.1f}" for c, g in gflops.items())
    return {
        "depthwise_gflops": sourced(fast, f"{where}: 3x3 at 128x28x28 ({found} GFLOP/s by channels)"),
        "odd_depthwise_gflops": sourced(odd, f"{where}: 3x3 at 28x28 off a multiple of {multiple} channels"),
        "channel_multiple": multiple,
    }


def _depthwise_link(channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels), nn.ReLU())


def _stem_link(taps: int) -> nn.Module:
    """A stem conv of ``taps`` x ``taps`` to 16 channels and a 1x1 conv back to 3: a link of a chain."""
    return nn.Sequential(nn.Conv2d(3, 16, taps, padding=taps // 2), nn.ReLU(), nn.Conv2d(16, 3, 1), nn.ReLU())


def _stem(timer: ChainTimer, where: str) -> dict[str, Any]:
    """ns per value a stem gathers: 3x3 stems to 16 channels (and a 1x1 conv back) against 1x1 ones, at 112x112,
    over the values the 3x3 gathers past the 1x1 (their multiply-adds differ by few)."""
    side = 112
    shape = (1, 3, side, side)
    added = timer.per_kernel_ms(functools.partial(_stem_link, 3), shape)
    added -= timer.per_kernel_ms(functools.partial(_stem_link, 1), shape)
    return sourced(max(added, 1e-6) * 1e6 / (side * side * 3 * 8), f"{where}: 3x3 stems of 3->16 channels at "
                   f"{side}x{side}, against 1x1 ones")  # fmt: skip


def _pool(timer: ChainTimer, where: str) -> dict[str, Any]:
    """Window reads per ns of 3x3 average pools (stride 1, padded, as NAS-Bench-201's cells have them) after 1x1
    convs, against the convs alone (a chain of pools alone stays in float)."""
    pool = functools.partial(nn.AvgPool2d, 3, 1, 1, count_include_pad=False)
    shape = (1, CHANNELS, 28, 28)
    return _per_element(
        timer, functools.partial(_conv_then, pool), functools.partial(nn.Conv2d, CHANNELS, CHANNELS, 1), shape,
        f"{where}: 3x3 average pools after 1x1 convs at {CHANNELS}x28x28, against the convs alone", taps=9,
    )  # fmt: skip


def _per_element(
    timer: ChainTimer,
    with_op: Callable[[], nn.Module],
    without: Callable[[], nn.Module],
    shape: tuple[int, ...],
    source: str,
    taps: int = 1,
) -> dict[str, Any]:
    """Elements per ns of the op ``with_op`` links add over ``without`` ones (one map's elements a link, each read
    ``taps`` times): a bound where it adds under :data:`NOISE` of the link's time."""
    base = timer.per_kernel_ms(without, shape)
    added = timer.per_kernel_ms(with_op, shape) - base
    elems = shape[1] * shape[2] * shape[3] * taps
    if added < NOISE * base:
        return sourced(elems / (NOISE * base) / 1e6, f"{source} (too cheap to time: at most)")
    return sourced(elems / added / 1e6, source)
