"""Probe a runtime's INT8 kernels that its FP32 ones at the INT8 peak misprice (a profile runtime's ``int8``,
:class:`~edgebench.devices.int8.Int8Kernels`): chains of identical INT8 kernels on one thread, quantized on
``bench``'s calibration inputs, as :mod:`edgebench.costmodel.probe` times FP32 ones."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.optimize import least_squares
from torch import nn

from edgebench.costmodel.overhead_probe import probe_overheads
from edgebench.costmodel.probe import NOISE, ChainTimer, ChannelShuffle, SplitUnit, probed_on, sourced
from edgebench.costmodel.quantized import INT8_FUSES
from edgebench.nets.blocks import SqueezeExcite
from edgebench.types import Precision

#: Depthwise convs are timed at these channels, 28x28: a multiple of 32, of 16 but not 32, and of 8 but not 16.
DEPTHWISE_CHANNELS = (128, 112, 120)
#: Rounds of every chain, each figure their median: one round's differences of two chains varied 1.6-3.9 G elements/s
#: (a hard sigmoid's) on a quiet VM.
ROUNDS = 5
#: A depthwise conv slower than this share of the 128-channel one's rate runs on a path of its own.
SLOWER = 0.8
#: What the per-link figures are timed on: 32 channels at 56x56 (few channels, so the op is not lost in the conv).
CHANNELS, SIDE = 32, 56
#: The 1x1 convs the reduction half-depth is fitted to: input (and output) channels, and the side of their map.
DEPTHS = {16: 64, 32: 64, 64: 32, 128: 32, 256: 16}
#: The windows of the stems timed: a cost per pixel and one per value gathered, the shortest and longest standard.
STEM_WINDOWS = (3, 7)
#: Channels and side of the depthwise convs a squeeze-excite gate is timed after.
GATE_CHANNELS, GATE_SIDE = 96, 28
DEPTH_RATES = "depth_rates"


class Residual(nn.Module):
    """A 1x1 conv added to its input: the add is a kernel of its own in an INT8 graph."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class Halves(nn.Module):
    """Two 1x1 convs to half the channels each, concatenated: a concatenation and one conv's multiply-adds; then
    shuffled (``shuffle``) or not, as ShuffleNet V2's strided units close."""

    def __init__(self, channels: int, shuffle: bool = False) -> None:
        super().__init__()
        self.first, self.second = nn.Conv2d(channels, channels // 2, 1), nn.Conv2d(channels, channels // 2, 1)
        self.shuffle = shuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat((self.first(x), self.second(x)), 1)
        return ChannelShuffle()(y) if self.shuffle else y


def _conv_then(act: Callable[[], nn.Module], channels: int = CHANNELS) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, channels, 1), act())


def probe_int8(backend: str, runs: int = 100) -> dict[str, Any]:
    """``backend``'s ``int8`` rates, each with its source (one core's; about ten seconds a round): each figure the
    median of :data:`ROUNDS` rounds, the reduction half-depth fitted to the median rate at each depth. The element
    rates of a runtime whose INT8 graph has kernels of its own (:data:`~edgebench.costmodel.quantized.INT8_FUSES`);
    for another, its squeeze-excite gates'; and its fixed costs at INT8 (:mod:`~edgebench.costmodel.overhead_probe`)."""
    timer, where = ChainTimer(backend, runs, Precision.INT8), probed_on(backend)
    own = _own_graph if backend in INT8_FUSES else _gate
    rounds = [_round(timer, where) | own(timer, where) for _ in range(ROUNDS)]
    depths = [r.pop(DEPTH_RATES) for r in rounds]
    rates = {k: float(np.median([d[k] for d in depths])) for k in DEPTHS}
    found = {key: _median([r[key] for r in rounds]) for key in rounds[0]}
    return found | {
        "reduction_half_depth": _half_depth(rates, where),
        "overheads": probe_overheads(backend, timer.precision, runs),
    }


def _median(figures: list[Any]) -> Any:
    """The median figure of the rounds' (a number, or a sourced one with its source)."""
    return sorted(figures, key=_value)[len(figures) // 2]


def _value(figure: Any) -> float:
    return float(figure["value"] if isinstance(figure, dict) else figure)


def _round(timer: ChainTimer, where: str) -> dict[str, Any]:
    return {
        **_depthwise(timer, where),
        **_stem(timer, where),
        "pool_gelems": _pool(timer, where),
        DEPTH_RATES: _depth_rates(timer),
    }


def _own_graph(timer: ChainTimer, where: str) -> dict[str, Any]:
    """The element rates of the kernels an INT8 graph of its own runs: float islands, adds, concatenations and
    shuffles (after a split, and of convs' outputs)."""
    shape = (1, CHANNELS, SIDE, SIDE)
    return {
        "island_gelems": _per_element(
            timer, functools.partial(_conv_then, nn.Hardsigmoid), functools.partial(_conv_then, nn.ReLU), shape,
            f"{where}: hard sigmoids after 1x1 convs at {CHANNELS}x{SIDE}x{SIDE}, against ReLUs",
        ),
        "binary_gelems": _per_element(
            timer, functools.partial(Residual, CHANNELS), functools.partial(nn.Conv2d, CHANNELS, CHANNELS, 1), shape,
            f"{where}: residual adds of 1x1 convs at {CHANNELS}x{SIDE}x{SIDE}, against the convs alone",
        ),
        "concat_gelems": _per_element(
            timer, functools.partial(Halves, CHANNELS), functools.partial(nn.Conv2d, CHANNELS, CHANNELS, 1), shape,
            f"{where}: two 1x1 convs to half the channels concatenated at {CHANNELS}x{SIDE}x{SIDE}, against one conv",
        ),
        "shuffle_gelems": _per_element(
            timer, functools.partial(SplitUnit, CHANNELS, True), functools.partial(SplitUnit, CHANNELS, False), shape,
            f"{where}: channel shuffles closing split units at {CHANNELS}x{SIDE}x{SIDE}, against the units without",
        ),
        "gather_gelems": _per_element(
            timer, functools.partial(Halves, CHANNELS, shuffle=True), functools.partial(Halves, CHANNELS), shape,
            f"{where}: channel shuffles of two 1x1 convs' concatenated outputs at {CHANNELS}x{SIDE}x{SIDE}, against "
            "the concatenations alone",
        ),
    }  # fmt: skip


def _gate(timer: ChainTimer, where: str) -> dict[str, Any]:
    """Elements a squeeze-excite gate (its pool, layers and multiply) adds after a depthwise conv, where standard
    networks place it, per ns."""
    c, side = GATE_CHANNELS, GATE_SIDE
    return {
        "gate_gelems": _per_element(
            timer, functools.partial(_depthwise_link, c, gated=True), functools.partial(_depthwise_link, c),
            (1, c, side, side), f"{where}: squeeze-excite gates after 3x3 depthwise convs at {c}x{side}x{side}, "
            "against the convs alone",
        )
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
    odd = min(by_32, by_8) if multiple == 32 else by_8
    found = ", ".join(f"{c}: {g:.1f}" for c, g in gflops.items())
    return {
        "depthwise_gflops": sourced(fast, f"{where}: 3x3 at 128x28x28 ({found} GFLOP/s by channels)"),
        "odd_depthwise_gflops": sourced(odd, f"{where}: 3x3 at 28x28 off the channel multiple (112 or 120 channels)"),
        "channel_multiple": multiple,
    }


def _depthwise_link(channels: int, gated: bool = False) -> nn.Module:
    link = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels), nn.ReLU())
    return link.append(SqueezeExcite(channels)) if gated else link


def _stem_link(window: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 3, window, padding=window // 2), nn.ReLU())


def _stem(timer: ChainTimer, where: str) -> dict[str, Any]:
    """ns per value a stem gathers and per output pixel besides: convs of three channels in and out at 112x112,
    3x3 and 7x7, whose multiply-adds are few. One 3x3 figure a value put ResNet's 7x7 stems at 1.9x their time with
    ONNX Runtime (a Zen 5 core: 17, 25 and 40 ns a pixel at 3x3, 5x5 and 7x7: 11 a pixel and 0.19 a value)."""
    side, values = 112, {window: 3 * window * window for window in STEM_WINDOWS}
    ns = {w: timer.per_kernel_ms(functools.partial(_stem_link, w), (1, 3, side, side)) * 1e6 / side**2 for w in values}
    (small, wide), (few, many) = ns.values(), values.values()
    per_value = max(0.0, (wide - small) / (many - few))
    found = f"{where}: 3x3 and 7x7 convs of 3 channels at {side}x{side} ({small:.1f} and {wide:.1f} ns a pixel)"
    return {
        "stem_ns": sourced(max(per_value, 1e-3), found),  # a positive figure however noisy
        "stem_pixel_ns": sourced(max(0.0, small - per_value * few), found),
    }


def _pool(timer: ChainTimer, where: str) -> dict[str, Any]:
    """Window reads per ns of 3x3 average pools (stride 1, padded, as NAS-Bench-201's cells have them) after 1x1
    convs, against the convs alone (a chain of pools alone stays in float)."""
    pool = functools.partial(nn.AvgPool2d, 3, 1, 1, count_include_pad=False)
    shape = (1, CHANNELS, 28, 28)
    return _per_element(
        timer, functools.partial(_conv_then, pool), functools.partial(nn.Conv2d, CHANNELS, CHANNELS, 1), shape,
        f"{where}: 3x3 average pools after 1x1 convs at {CHANNELS}x28x28, against the convs alone", taps=9,
    )  # fmt: skip


def _depth_rates(timer: ChainTimer) -> dict[int, float]:
    """GOP/s of 1x1 convs of each of :data:`DEPTHS` input channels."""
    rate = {}
    for k, side in DEPTHS.items():
        link = functools.partial(_conv_then, nn.ReLU, channels=k)
        rate[k] = 2 * k * k * side * side / timer.per_kernel_ms(link, (1, k, side, side)) / 1e6
    return rate


def _half_depth(rate: dict[int, float], where: str) -> dict[str, Any]:
    """K0 of the convs' rate R x K / (K + K0) by their input channels K, fitted with a fixed cost a conv (which the
    model prices as its per-layer overhead, not as depth) to their times in log space, each depth's relative error
    weighing alike. Without that cost, ONNX Runtime's on a Zen 5 fitted a K0 of 50 (with it, 21 and 3.6 µs a conv) and
    priced its networks' expanding 1x1 convs of 16 to 32 input channels 1.9-2.6x their profiled time."""
    k = np.array(list(rate), dtype=float)
    ops = 2 * k * k * np.array([DEPTHS[int(d)] ** 2 for d in k])
    measured = np.log(ops / np.array(list(rate.values())) / 1e3)  # µs a conv

    def error(t: np.ndarray) -> np.ndarray:
        return np.log(ops / np.exp(t[0]) / 1e3 * (1 + np.exp(t[1]) / k) + t[2]) - measured

    start = [np.log(max(rate.values())), np.log(k[0]), 0.0]
    fitted = least_squares(error, start, bounds=([-np.inf, -np.inf, 0.0], np.inf))
    found = ", ".join(f"{depth}: {r:.0f}" for depth, r in rate.items())
    fixed = f"{fitted.x[2]:.1f} µs a conv"
    return sourced(float(np.exp(fitted.x[1])), f"{where}: 1x1 convs by input channels ({found} GOP/s; {fixed})")


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
