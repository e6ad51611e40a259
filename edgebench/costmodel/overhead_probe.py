"""Probe what a runtime costs beyond its kernels' work (:class:`~edgebench.devices.overheads.Overheads`): chains of
1x1 convs of 16 channels on a 2x2 map, a few nanoseconds of work a link, timed at two lengths on one thread. With 8
channels ONNX Runtime's FP32 kernels cost 0.64 µs a link, with 16 (a multiple of its channel block) 0.35, as at 1x1
and 4x4 maps and 32 channels."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from edgebench.costmodel.probe import ChainTimer, probed_on, sourced
from edgebench.types import Precision

#: The input of the chains: 16 channels at 2x2.
SHAPE = (1, 16, 2, 2)
#: Rounds of the chains, each figure their median.
ROUNDS = 3


def _chain(links: int) -> nn.Module:
    return nn.Sequential(*(nn.Sequential(nn.Conv2d(16, 16, 1), nn.ReLU()) for _ in range(links)))


def probe_overheads(backend: str, precision: Precision = Precision.FP32, runs: int = 200) -> dict[str, Any]:
    """``backend``'s cost of a kernel and of an inference call at ``precision`` (µs, one thread), each with its
    source: the median over :data:`ROUNDS` rounds of what a link adds to a chain and what a chain takes besides."""
    timer = ChainTimer(backend, runs, precision)
    call_ms, link_ms = np.median([timer.line(_chain, SHAPE) for _ in range(ROUNDS)], axis=0)
    where = f"{probed_on(backend)} at {precision}, chains of 1x1 convs of 16 channels at 2x2"
    return {
        "layer_us": sourced(float(link_ms) * 1e3, f"{where}: what a link adds (a few ns of work)"),
        "call_us": sourced(float(call_ms) * 1e3, f"{where}: their time besides the links"),
    }
