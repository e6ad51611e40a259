"""Probes of how a runtime runs depthwise convs on this CPU, for its profile's ``large_depthwise``,
``depthwise_stream`` and ``wide_depthwise``: each times chains of real convs on one core (those it runs outside a
channel block: :mod:`edgebench.costmodel.plain_probe`)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from edgebench.costmodel.model import reread_bytes
from edgebench.costmodel.probe import ChainTimer, cache_mb, probed_on, sourced

#: Depthwise kernel sides :func:`probe_large_depthwise` times, smallest first, on (channels, side) maps.
DEPTHWISE_SIDES = (3, 5, 7, 9)
DEPTHWISE_MAP = (48, 56)
#: A depthwise kernel under this share of the 3x3's rate runs on a slower path (LiteRT's 7x7 ran at a tenth of it;
#: ONNX Runtime's and OpenVINO's larger kernels stay above half).
SLOW_PATH = 0.3


def probe_large_depthwise(backend: str, runs: int = 100) -> dict[str, Any] | None:
    """Where ``backend``'s fast depthwise kernels stop, as a runtime's ``large_depthwise`` states it: the taps of
    the largest timed kernel before the first one under :data:`SLOW_PATH` of the 3x3's GFLOP/s, and the mean rate of
    those past it (one core); None when every timed size keeps up."""
    timer, (c, hw) = ChainTimer(backend, runs), DEPTHWISE_MAP
    rates = {}
    for k in DEPTHWISE_SIDES:
        make = functools.partial(nn.Conv2d, c, c, k, padding=k // 2, groups=c, bias=False)
        rates[k] = 2 * c * hw * hw * k * k / timer.per_kernel_ms(make, (1, c, hw, hw)) / 1e6
    slow = [k for k in DEPTHWISE_SIDES if rates[k] < SLOW_PATH * rates[DEPTHWISE_SIDES[0]]]
    if not slow:  # (never the 3x3: the share is of its own rate)
        return None
    fast = DEPTHWISE_SIDES[DEPTHWISE_SIDES.index(slow[0]) - 1]
    timed = ", ".join(f"{k}x{k} {rates[k]:.1f}" for k in DEPTHWISE_SIDES)
    where = f"{probed_on(backend)}: depthwise convs at {c}x{hw}x{hw}"
    gflops = float(np.mean([rates[k] for k in slow]))
    return {"above_taps": fast * fast, "gflops": sourced(gflops, f"{where}, GFLOP/s {timed}")}


#: (channels, side) of the two maps :func:`probe_depthwise_stream` times 3x3 depthwise convs on: a late stage's
#: narrow rows and an early stage's wide ones, both in the caches.
STREAM_MAPS = ((256, 8), (96, 56))
#: (channels, side) of the maps :func:`probe_depthwise_stream` times stride-2 3x3 depthwise convs on, for the rate
#: at which they read their input: two stages' first blocks, in the caches.
STRIDED_MAPS = ((192, 28), (144, 56))


class StridedFan(nn.Module):
    """``links`` stride-2 3x3 depthwise convs on one map, their outputs summed (at a quarter of its size)."""

    def __init__(self, channels: int, links: int) -> None:
        super().__init__()
        conv = functools.partial(nn.Conv2d, channels, channels, 3, 2, 1, groups=channels, bias=False)
        self.convs = nn.ModuleList(conv() for _ in range(links))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functools.reduce(torch.add, (conv(x) for conv in self.convs))


def probe_depthwise_stream(backend: str, runs: int = 100) -> dict[str, Any]:
    """What ``backend``'s depthwise convs cost per output and per output row, and the rate at which they read their
    input, as a runtime's ``depthwise_stream`` states them: 3x3 depthwise convs on :data:`STREAM_MAPS` (one core),
    solved for both costs (no row cost where the wider rows run no faster per output), and fans of stride-2 ones on
    :data:`STRIDED_MAPS` (each conv's input bytes over the time it adds, the add of its output included)."""
    timer = ChainTimer(backend, runs)
    ns = []  # per output
    for c, side in STREAM_MAPS:
        make = functools.partial(nn.Conv2d, c, c, 3, padding=1, groups=c, bias=False)
        ns.append(timer.per_kernel_ms(make, (1, c, side, side)) * 1e6 / (c * side * side))
    (_, narrow), (_, wide) = STREAM_MAPS
    row_ns = max(0.0, (ns[0] - ns[1]) / (1 / narrow - 1 / wide))
    per_output = ns[1] - row_ns / wide if row_ns else float(np.mean(ns))
    where = f"{probed_on(backend)}: 3x3 depthwise convs at " + " and ".join(
        f"{c}x{side}x{side}, {n:.2f} ns per output" for (c, side), n in zip(STREAM_MAPS, ns, strict=True)
    )
    reads = [
        4 * c * side * side / timer.per_link_ms(functools.partial(StridedFan, c), (1, c, side, side)) / 1e6
        for c, side in STRIDED_MAPS
    ]
    read_where = f"{probed_on(backend)}: stride-2 3x3 depthwise convs at " + " and ".join(
        f"{c}x{side}x{side}, {gbps:.1f} GB/s of input" for (c, side), gbps in zip(STRIDED_MAPS, reads, strict=True)
    )
    return {
        "gouts": sourced(1 / per_output, where),
        "row_ns": sourced(row_ns, where),
        "input_gbps": sourced(float(np.mean(reads)), read_where),
    }


#: (channels, side) of the narrow and the wide 3x3 depthwise convs :func:`probe_wide_depthwise` times: 15 and 77 KB of
#: taps and weights per output pixel (fp32), under and past a first cache level of 32 to 64 KB.
WIDE_MAPS = ((192, 14), (960, 14))
#: A wide depthwise conv this much slower per output than a narrow one re-reads its taps and weights (LiteRT's 1.7).
REREADS = 1.25


def probe_wide_depthwise(backend: str, runs: int = 100) -> dict[str, Any] | None:
    """Where ``backend``'s depthwise convs re-read each output's taps and weights, as a runtime's ``wide_depthwise``
    states it: 3x3 ones on :data:`WIDE_MAPS` (one core); past this CPU's first data cache (sysfs), the wide one's bytes
    per output over its time. None where the wide one keeps up (a channel-blocked runtime's filters are a block's) or
    the cache's size is unknown."""
    timer, l1_mb = ChainTimer(backend, runs), cache_mb(1)
    ns = []
    for c, side in WIDE_MAPS:
        make = functools.partial(nn.Conv2d, c, c, 3, padding=1, groups=c, bias=False)
        ns.append(timer.per_kernel_ms(make, (1, c, side, side)) * 1e6 / (c * side * side))
    if l1_mb is None or ns[1] < REREADS * ns[0]:
        return None
    where = f"{probed_on(backend)}: 3x3 depthwise convs at " + " and ".join(
        f"{c}x{side}x{side}, {n:.2f} ns per output" for (c, side), n in zip(WIDE_MAPS, ns, strict=True)
    )
    return {
        "above_kb": sourced(l1_mb * 1024, "the CPU's first data cache (sysfs)"),
        "gbps": sourced(float(reread_bytes(9, 4.0)) / ns[1], where),  # a 3x3 conv's bytes per output over its time
    }
