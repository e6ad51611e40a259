"""What a runtime costs beyond its kernels' work: each kernel it launches, and each inference call."""

from __future__ import annotations

from edgebench.devices.sourced import Sourced, Strict


class Overheads(Strict):
    """A runtime's fixed costs on one core, in place of the cost model's ``overhead_per_layer_ms`` and
    ``overhead_per_network_ms`` priors, as :mod:`edgebench.costmodel.overhead_probe` times them. ``layer_us``: what
    each kernel costs beyond its work; ``call_us``: what an inference call costs beyond its kernels. On one Zen 5
    core, LiteRT's kernels cost 0.05 µs, ONNX Runtime's 0.35 (0.5 at INT8) and OpenVINO's 0.55 (0.75-0.9 at INT8),
    where the prior says 0.5 for all; a call 0.5, 2.2-2.6 and 8 µs, where it says 5."""

    layer_us: Sourced
    call_us: Sourced
