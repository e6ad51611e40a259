"""Probes of how a channel-blocked runtime (ONNX Runtime's NCHWc on x86) runs the kernels it leaves in the plain
layout, for its profile's ``plain_depthwise`` and ``plain_layout``: each times chains of real convs and pools on one
core at channel counts its block cannot take (no multiple of 4), as pruned networks and ShuffleNetV2 have them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from torch import nn

from edgebench.costmodel.depthwise_probe import StridedFan
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import rules_for
from edgebench.costmodel.probe import ChainTimer, probed_on, sourced
from edgebench.devices.profile import DeviceProfile
from edgebench.types import KernelKind

#: Channels no channel block divides (nor the 4 ONNX Runtime reorders by), and the two map sides
#: :func:`probe_plain_depthwise` times them at: ShuffleNetV2-1.0's first stage (58-channel branches at 28x28).
PLAIN_CHANNELS, PLAIN_SIDES = 58, (28, 56)
#: The channels of the plain and the blocked kernels :func:`probe_plain_layout` compares (nearly the same work, one off
#: the block), and their map side (a whole number of pixel vectors).
PLAIN_PAIR, PAIR_SIDE = (62, 64), 28


def _runs_plain(profile: DeviceProfile, backend: str, module: nn.Module, shape: tuple[int, ...]) -> bool:
    return any(k.plain for k in module_kernels(module, shape, rules_for(profile, backend)))


def probe_plain_depthwise(profile: DeviceProfile, backend: str, runs: int = 100) -> dict[str, Any] | None:
    """How a channel-blocked ``backend`` runs the depthwise convs it cannot block, as a runtime's
    ``plain_depthwise`` states it: 3x3 depthwise convs of :data:`PLAIN_CHANNELS` channels timed at two map sizes
    (one core), solved for a cost per channel and a rate of the taps, and a fan of stride-2 ones on the larger map for
    the rate at which they read their input (they copy every window out first: 4.2 GB/s on a Zen 4); None for a
    runtime without a channel block."""
    c = PLAIN_CHANNELS
    make = functools.partial(nn.Conv2d, c, c, 3, padding=1, groups=c, bias=False)
    if not _runs_plain(profile, backend, make(), (1, c, PLAIN_SIDES[0], PLAIN_SIDES[0])):
        return None
    timer = ChainTimer(backend, runs)
    pixels = [side * side for side in PLAIN_SIDES]
    per_channel_us = [1e3 * timer.per_kernel_ms(make, (1, c, side, side)) / c for side in PLAIN_SIDES]
    us_per_pixel = max((per_channel_us[1] - per_channel_us[0]) / (pixels[1] - pixels[0]), 1e-6)
    group_us = max(0.0, per_channel_us[0] - pixels[0] * us_per_pixel)
    where = (
        f"{probed_on(backend)}: 3x3 depthwise convs of {c} "
        f"channels at {' and '.join(f'{s}x{s}' for s in PLAIN_SIDES)}, "
        + " and ".join(f"{us * c:.0f} µs" for us in per_channel_us)
    )
    side = PLAIN_SIDES[-1]
    strided_ms = timer.per_link_ms(functools.partial(StridedFan, c), (1, c, side, side))
    reads = 4 * c * side * side / strided_ms / 1e6
    read_where = f"{probed_on(backend)}: stride-2 3x3 depthwise convs of {c} channels at {side}x{side}, " \
                 f"{strided_ms * 1e3:.0f} µs each"  # fmt: skip
    return {
        "gflops": sourced(18 / us_per_pixel / 1e3, where),
        "group_us": sourced(group_us, where),
        "input_gbps": sourced(reads, read_where),
    }


def probe_plain_layout(profile: DeviceProfile, backend: str, runs: int = 100) -> dict[str, Any]:
    """The share of its blocked kernels' rate at which a channel-blocked ``backend`` runs the kernels it leaves in the
    plain layout, as a runtime's ``plain_layout`` states it: chains of 1x1 and 3x3 convs with a bias and a ReLU (a
    network's, batch norm folded) and of 3x3 max pools at :data:`PLAIN_PAIR` channels, the plain one's rate over the
    blocked one's (one core); empty for a runtime without a channel block."""
    (plain, blocked), side = PLAIN_PAIR, PAIR_SIDE
    links: dict[KernelKind, tuple[str, Callable[[int], nn.Module], int]] = {
        KernelKind.POINTWISE_CONV: ("1x1 convs", functools.partial(_conv, 1), 2),
        KernelKind.CONV: ("3x3 convs", functools.partial(_conv, 3), 2),
        KernelKind.POOLING: ("3x3 max pools", lambda c: nn.MaxPool2d(3, 1, 1), 1),
    }
    found: dict[str, Any] = {}
    timer = ChainTimer(backend, runs)
    for kind, (what, make, power) in links.items():
        if not _runs_plain(profile, backend, make(plain), (1, plain, side, side)):
            return {}
        ms = {c: timer.per_kernel_ms(functools.partial(make, c), (1, c, side, side)) for c in PLAIN_PAIR}
        share = (plain / blocked) ** power * ms[blocked] / ms[plain]  # a conv's work grows with channels squared
        where = f"{probed_on(backend)}: {what} at {side}x{side}, {plain} channels " \
                f"{ms[plain] * 1e3:.0f} µs, {blocked} (blocked) {ms[blocked] * 1e3:.0f} µs"  # fmt: skip
        found[kind.value] = sourced(share, where)
    return found


def _conv(k: int, c: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2), nn.ReLU())
