"""Probe how each runtime runs what a CPU's priors cannot say: its own rates for ops with a per-element cost
(activations, transposes, window pools), the share of the bandwidth at which it reads weights, its depthwise paths
(:mod:`edgebench.costmodel.depthwise_probe`), where it streams large maps (:mod:`edgebench.costmodel.map_probe`), and
what its squeeze-excite gates cost. Each figure is written into the runtime's entry of a profile with its source; like
:mod:`edgebench.costmodel.probe`, each times chains of identical kernels on one thread.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from scipy.optimize import nnls
from torch import nn

from edgebench.costmodel.depthwise_probe import probe_depthwise_stream, probe_large_depthwise, probe_wide_depthwise
from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.int8_probe import probe_int8
from edgebench.costmodel.kernels import KernelRules, module_kernels
from edgebench.costmodel.layouts import FILTER_SET
from edgebench.costmodel.map_probe import probe_large_maps
from edgebench.costmodel.model import READS, KernelTable, params_for, rules_for
from edgebench.costmodel.overhead_probe import probe_overheads
from edgebench.costmodel.plain_probe import probe_plain_depthwise, probe_plain_layout
from edgebench.costmodel.probe import (
    CHAIN,
    NOISE,
    RELU_MB,
    WEIGHT_CHANNELS,
    ChainTimer,
    SplitUnit,
    probed_on,
    relu_gbps,
    sourced,
    weights_gbps,
)
from edgebench.costmodel.quantized import INT8_PROBED
from edgebench.devices.profile import MAX_WEIGHT_SHARE, DeviceProfile, Runtime
from edgebench.exceptions import UnsupportedError
from edgebench.types import Precision, WeightRead


@dataclass(frozen=True)
class WeightProbe:
    """A link of a chain whose weights are read from memory: what it is, how to make one, the input it takes."""

    what: str
    make: Callable[[], nn.Module]
    shape: tuple[int, ...]


#: The layers whose weight reads :func:`probe_weight_shares` times, by how they read them: a ResNet's last stage at a
#: 128-pixel input (9.4 MB of weights per 3x3 conv), a wide 1x1 conv on as few pixels (4.2 MB), about half of whose
#: time is reading the weights, the same on one pixel (a squeeze-excite layer's shape) and a classifier's wide linear
#: layer at batch 1 (16.8 MB), nearly all of whose time is.
WEIGHT_PROBES = {
    WeightRead.CONV: WeightProbe(
        "3x3 convs at 512x4x4", functools.partial(nn.Conv2d, 512, 512, 3, padding=1, bias=False), (1, 512, 4, 4)
    ),
    WeightRead.POINTWISE_CONV: WeightProbe(
        "1x1 convs at 1024x4x4", functools.partial(nn.Conv2d, 1024, 1024, 1, bias=False), (1, 1024, 4, 4)
    ),
    WeightRead.ONE_PIXEL_CONV: WeightProbe(
        "1x1 convs at 1024x1x1", functools.partial(nn.Conv2d, 1024, 1024, 1, bias=False), (1, 1024, 1, 1)
    ),
    WeightRead.LINEAR: WeightProbe(
        "2048x2048 linear layers", functools.partial(nn.Linear, 2048, 2048, bias=False), (1, 2048)
    ),
}


#: The compute-bound dense conv a runtime's own rate is timed on (:func:`probe_conv_rate`), its input and its FLOPs:
#: 3x3, 64 channels at 32x32.
DENSE_CONV, DENSE = functools.partial(nn.Conv2d, 64, 64, 3, padding=1, bias=False), (1, 64, 32, 32)
DENSE_FLOPS = 2 * 64 * 64 * 9 * 32 * 32

#: The element rates of an ``int8`` entry, by what the summary calls them (a runtime states those it has).
INT8_ELEMENTS = {
    "island_gelems": "float islands", "binary_gelems": "adds", "concat_gelems": "concatenations",
    "shuffle_gelems": "shuffles", "gather_gelems": "shuffles of convs' outputs", "gate_gelems": "squeeze-excite gates",
}  # fmt: skip
#: Rates as a profile's runtime states them: op or kernel kind -> {value, source, note}.
Rates = dict[str, dict[str, Any]]


#: The activations and window pools :func:`probe_op_rates` times after a 1x1 conv, by the name the cost model
#: prices them under (pools as NAS-Bench-201's cells and ResNet's stems run them: 3x3 windows, padded).
PROBED_OPS: dict[str, Callable[[], nn.Module]] = {
    "Sigmoid": nn.Sigmoid, "Swish": nn.SiLU, "HardSwish": nn.Hardswish, "HardSigmoid": nn.Hardsigmoid, "Clip": nn.ReLU6,
    "AveragePool": functools.partial(nn.AvgPool2d, 3, 1, 1, count_include_pad=False),
    "MaxPool": functools.partial(nn.MaxPool2d, 3, 1, 1),
}  # fmt: skip


@dataclass(frozen=True)
class OpLink:
    """How :func:`probe_op_rates` times an op: a chain link with it and one without, given the channels, and what
    the op follows in them."""

    with_op: Callable[[int], nn.Module]
    without: Callable[[int], nn.Module]
    after: str


def _conv(channels: int) -> nn.Module:
    return nn.Conv2d(channels, channels, 1)


def _conv_then(channels: int, act: Callable[[], nn.Module]) -> nn.Module:
    return nn.Sequential(_conv(channels), act())


#: Each probed op's link pair: an activation or pool after a 1x1 conv or the conv alone, a channel shuffle
#: (``Transpose``) closing a :class:`SplitUnit` or the unit without it.
PROBED_LINKS: dict[str, OpLink] = {
    **{name: OpLink(functools.partial(_conv_then, act=op), _conv, "a 1x1 conv") for name, op in PROBED_OPS.items()},
    "Transpose": OpLink(
        functools.partial(SplitUnit, shuffle=True),
        functools.partial(SplitUnit, shuffle=False),
        "a split, a 1x1 conv on one half and a concat",
    ),
}


def probe_op_rates(profile: DeviceProfile, backend: str, runs: int = 200) -> Rates:
    """Billions of elements per second one core of ``backend`` computes of each op of :data:`PROBED_LINKS` as the
    runtime runs it in its link (fused, alone, or as the transposes of a channels-last runtime): the time a chain
    of links with the op takes over a chain of them without, over the elements the op's kernels write (a pool's
    window reads). An op kept only where ``profile``'s rules for ``backend`` price everything it adds to a link by
    that op (LiteRT's swish adds a multiply: it keeps the cost model's rate), where the runtime runs the chain,
    and where it adds more than :data:`NOISE` of the link's time (else it is too cheap to time here: it keeps that
    too)."""
    timer, c, hw = ChainTimer(backend, runs), 32, 56  # few channels: the op's time is not lost in the conv's noise
    rules, shape = rules_for(profile, backend), (1, c, hw, hw)
    without_ms: dict[Callable[[int], nn.Module], float] = {}
    found = {}
    where = f"{probed_on(backend)}: at {c}x{hw}x{hw}"
    for name, link in PROBED_LINKS.items():
        with_op, without = functools.partial(link.with_op, c), functools.partial(link.without, c)
        elems = _elems_per_link(with_op, without, shape, rules, name)
        if elems:
            try:
                ms = timer.per_kernel_ms(with_op, shape)
                if link.without not in without_ms:
                    without_ms[link.without] = timer.per_kernel_ms(without, shape)
            except UnsupportedError:  # LiteRT's converter may lower a chain to ops its interpreter lacks
                continue
            base = without_ms[link.without]
            if ms > base * (1 + NOISE):
                found[name] = sourced(elems / (ms - base) / 1e6, f"{where}, after {link.after}, with and without it")
    return found


def _elems_per_link(
    with_op: Callable[[], nn.Module],
    without: Callable[[], nn.Module],
    shape: tuple[int, ...],
    rules: KernelRules,
    name: str,
) -> float:
    """The elements ``name`` writes per link of a chain of ``with_op()`` links (one more link's, as the timer times
    it), as ``rules`` price the chain; 0 when a link adds kernels other than ``name``'s over a ``without()`` link (a
    kernel it fuses into may change)."""

    def chain(make: Callable[[], nn.Module], links: int) -> list[Kernel]:
        return module_kernels(nn.Sequential(*(make() for _ in range(links))), shape, rules)

    many = chain(with_op, CHAIN)
    ops = [Counter(k.priced_op for k in ks) for ks in (many, chain(without, CHAIN))]
    added, removed = ops[0] - ops[1], ops[1] - ops[0]
    if set(added) != {name} or set(removed) - {""} or removed[""] > added[name]:
        return 0.0
    elems = [sum(k.priced_elems for k in ks if k.priced_op == name) for ks in (chain(with_op, 1), many)]
    return (elems[1] - elems[0]) / (CHAIN - 1)


#: A share under this is no read the probe tells apart (the chain's weights priced as taking far longer than the
#: chain did): LiteRT's 3x3 convs at 512x4x4, whose reads XNNPACK hides under their multiply-adds, once came out under
#: 0.005 on a Zen 5 (three tiles of 7 pixels, each reading the 9.4 MB filter), 0.00 as written, which no profile takes.
MIN_WEIGHT_SHARE = 0.05


def probe_weight_shares(profile: DeviceProfile, backend: str, conv_gflops: float, runs: int = 200) -> Rates:
    """The share of the memory bandwidth at which ``backend`` reads the weights of each of :data:`WEIGHT_PROBES`
    from memory: a chain of its layers (their weights far past the caches) timed on one thread,
    less the rest of their time as ``profile`` prices it, against the memory read time it prices. Both are taken
    against the machine as it runs now: the bandwidth is timed again as :func:`probe` times it (ONNX Runtime's 1x1
    convs on one pixel, the largest chain) and the rest scaled by how the runtime's compute-bound dense conv
    (``conv_gflops``, :func:`probe_conv_rate`) runs against its price, so a VM whose memory or cores run slower than
    when the profile was probed does not read as a different share. The share is of the bandwidth past the first
    cache level (a VM may report a host-wide L3, 480 MiB on one Xeon here, 'half' of which holds every chain); one
    whose chain fits the first level has none to find and is left out, and so is one under :data:`MIN_WEIGHT_SHARE`."""
    timer, rules = ChainTimer(backend, runs), rules_for(profile, backend)
    bandwidth = weights_gbps(ChainTimer("onnxruntime", runs), max(WEIGHT_CHANNELS))
    params = replace(
        params_for(profile, backend, Precision.FP32, threads=1, calibrated=False), bandwidth_gbps=bandwidth
    )
    chains: dict[WeightRead | str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
        reads: (link.make, link.shape) for reads, link in WEIGHT_PROBES.items()
    }
    chains["reference"] = DENSE_CONV, DENSE
    tables = {
        key: KernelTable.of([module_kernels(nn.Sequential(*(make() for _ in range(CHAIN))), shape, rules)])
        for key, (make, shape) in chains.items()
    }

    def priced(key: WeightRead | str, reads: WeightRead, share: float) -> float:
        probed = tables[key].reads == READS.index(reads)  # not a layout transpose around them
        return float(tables[key].kernel_ms(replace(params, weight_share={reads: share}))[probed].mean())

    measured = {reads: timer.per_kernel_ms(link.make, link.shape) for reads, link in WEIGHT_PROBES.items()}
    shares: dict[WeightRead, float] = {}
    for _ in range(2):  # the reference conv's own weights past the first level read at the conv share found
        reference = priced("reference", WeightRead.CONV, shares.get(WeightRead.CONV, 1.0))
        speed = DENSE_FLOPS / conv_gflops / 1e6 / reference
        shares = {}
        for reads in WEIGHT_PROBES:
            full, half = priced(reads, reads, 1.0), priced(reads, reads, 0.5)
            reading = half - full  # the read time past the first level at the full bandwidth: it doubles at half
            if reading > 0:  # else the first level holds the whole chain: no read past it to compare
                share = reading / max(measured[reads] - speed * (full - reading), reading / MAX_WEIGHT_SHARE)
                if share >= MIN_WEIGHT_SHARE:
                    shares[reads] = share
    where = probed_on(backend)
    found = {}
    for reads, share in shares.items():
        what = f"{where}: {WEIGHT_PROBES[reads].what}, {measured[reads]:.2f} ms each, memory at {bandwidth:.1f} GB/s"
        found[str(reads)] = sourced(share, what)
    return found


#: Output blocks of the two 3x3 convs :func:`probe_filter_pass` times at 32x32: one, and a full filter set.
PASS_BLOCKS = (1, FILTER_SET)


def probe_filter_pass(profile: DeviceProfile, backend: str, runs: int = 100) -> dict[str, Any] | None:
    """What a pass of a channel-blocked ``backend``'s conv over its input costs, as a runtime's ``filter_pass``
    states it: 3x3 convs at 32x32 of one channel block and of a filter set's worth (one core), their rates (taken
    past ``profile``'s reduction half-depth) solved for the cost that makes one block's rate that share of the full
    set's; None for a runtime without a channel block."""
    block = profile.channel_block(backend)
    if block <= 1:
        return None
    timer, half_depth = ChainTimer(backend, runs), profile.cost_model.reduction_half_depth
    rates = []
    for c in (block * n for n in PASS_BLOCKS):
        make = functools.partial(nn.Conv2d, c, c, 3, padding=1, bias=False)
        short = 1 + (half_depth.value if half_depth else 0.0) / (9 * c)
        rates.append(2 * c * c * 9 * 32 * 32 * short / timer.per_kernel_ms(make, (1, c, 32, 32)) / 1e6)
    share = min(rates[0] / rates[1], 1.0)  # (cost + set) / (set x (cost + 1)) of one block in a set
    cost = FILTER_SET * (1 - share) / max(FILTER_SET * share - 1, 1e-3)
    where = f"{probed_on(backend)}: 3x3 convs at 32x32 of {block} and {block * FILTER_SET} channels, " + " and ".join(
        f"{r:.0f} GFLOP/s" for r in rates
    )
    return sourced(cost, where)


def probe_conv_rate(backend: str, runs: int = 100) -> dict[str, Any]:
    """The rate one core of ``backend`` computes the dense 3x3 conv :data:`DENSE_CONV` at, as a runtime's
    ``conv_gflops`` states it (the priors' conv efficiency is ONNX Runtime's: LiteRT's ran at 0.7 of it on an AVX-512
    Xeon)."""
    gflops = DENSE_FLOPS / ChainTimer(backend, runs).per_kernel_ms(DENSE_CONV, DENSE) / 1e6
    return sourced(gflops, f"{probed_on(backend)}: 3x3 convs at 64x32x32")


class GatedChain(nn.Module):
    """A squeeze-excite gate computed once from the input (the sigmoid of its channel means) scaling the map
    ``links`` times: each link one gate multiply, which no converter folds (the gate is not a constant)."""

    def __init__(self, links: int) -> None:
        super().__init__()
        self.links = links

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(x.mean((2, 3), keepdim=True))
        for _ in range(self.links):
            x = x * gate
        return x


#: (channels, side) of the maps :func:`probe_channel_scale` times gate multiplies on: squeeze-excite blocks' maps
#: from an early stage's to a late stage's, all in the caches.
GATE_MAPS = ((96, 56), (240, 28), (672, 14), (960, 7), (192, 8), (960, 4))
#: A chain of gate multiplies faster than this many times the first cache level's stream (4 bytes read and 4
#: written an output) was fused into one kernel (OpenVINO's snippets).
GATE_FUSED = 4.0


def probe_channel_scale(profile: DeviceProfile, backend: str, runs: int = 100) -> dict[str, Any] | None:
    """What ``backend``'s squeeze-excite gate multiplies cost per output and per channel, as a runtime's
    ``channel_scale`` states it: chains of them on :data:`GATE_MAPS` (one core), both costs fitted (non-negative)
    to the relative times; None for a runtime that fuses the chain."""
    timer = ChainTimer(backend, runs)
    shapes = [(1, c, side, side) for c, side in GATE_MAPS]
    us = np.array([timer.per_link_ms(GatedChain, shape) * 1e3 for shape in shapes])
    outputs = np.array([c * side * side for c, side in GATE_MAPS], dtype=np.float64)
    channels = np.array([c for c, _ in GATE_MAPS], dtype=np.float64)
    caches = profile.cost_model.caches
    first = caches[0].bandwidth_gbps.value if caches else profile.cost_model.memory_bandwidth_gbps.value
    if 8 * outputs[0] / us[0] / 1e3 > GATE_FUSED * first:
        return None
    (us_per_output, us_per_channel), _ = nnls(np.stack([outputs, channels], axis=1) / us[:, None], np.ones(len(us)))
    where = f"{probed_on(backend)}: gate multiplies at " + ", ".join(
        f"{c}x{side}x{side} {t:.1f} µs" for (c, side), t in zip(GATE_MAPS, us, strict=True)
    )
    gouts, channel_ns = float(1e-3 / us_per_output), float(us_per_channel * 1e3)
    return {"gouts": sourced(gouts, where), "channel_ns": sourced(channel_ns, where)}


#: A chain of ReLUs that streams faster than this many times the first cache level's bandwidth was fused.
FUSED = 1.5


def probe_cache_streams(profile: DeviceProfile, backend: str, runs: int = 100) -> Rates:
    """The bandwidth at which ``backend`` streams activations held in each cache level past the first, as a
    runtime's ``cache_gbps`` states it: a chain of ReLUs (one core) on the largest of the probe's tensors that
    fits the level with its output; none for a runtime that fuses the chain (it streams faster than
    :data:`FUSED` times the first level allows)."""
    caches = profile.cost_model.caches
    timer, rates = ChainTimer(backend, runs), {}
    for inner, level in itertools.pairwise(caches):
        mb = max((m for m in RELU_MB if inner.size_mb.value < 2 * m <= level.size_mb.value), default=None)
        if mb is None:
            continue
        gbps = relu_gbps(timer, mb)
        if gbps > FUSED * caches[0].bandwidth_gbps.value:
            return {}
        where = f"{probed_on(backend)}: a chain of ReLUs on {mb:g} MB"
        rates[level.name] = sourced(gbps, where)
    return rates


@dataclass(frozen=True)
class RuntimeRates:
    """What the probes measured of one runtime, as its entry in a profile states it (each figure with its source,
    one core's): its op rates, weight shares, depthwise paths and gate multiplies (None where it has no such path
    or fuses them)."""

    backend: str
    op_gelems: Rates
    weight_share: Rates
    large_depthwise: dict[str, Any] | None = None
    plain_depthwise: dict[str, Any] | None = None
    depthwise_stream: dict[str, Any] | None = None
    cache_gbps: Rates = field(default_factory=dict)
    channel_scale: dict[str, Any] | None = None
    filter_pass: dict[str, Any] | None = None
    conv_gflops: dict[str, Any] | None = None
    wide_depthwise: dict[str, Any] | None = None
    large_maps: dict[str, Any] | None = None
    plain_layout: Rates = field(default_factory=dict)
    int8: dict[str, Any] | None = None
    overheads: dict[str, Any] | None = None

    def summary(self) -> str:
        """The figures on one line."""
        parts = [
            f"{self.backend} ops as networks have them, Gelem/s: "
            + ", ".join(f"{name} {rate['value']:.2f}" for name, rate in self.op_gelems.items()),
            "weights read at "
            + ", ".join(f"{share['value']:.2f} of the bandwidth by {kind}" for kind, share in self.weight_share.items())
            if self.weight_share
            else "no weight share probed (the first cache level holds every chain)",
        ]
        if self.large_depthwise:
            slow = self.large_depthwise
            parts.append(f"depthwise convs past {slow['above_taps']} taps at {slow['gflops']['value']:.1f} GFLOP/s")
        if self.plain_depthwise:
            plain = self.plain_depthwise
            parts.append(f"unblocked depthwise convs at {plain['gflops']['value']:.1f} GFLOP/s + "
                         f"{plain['group_us']['value']:.2f} µs per channel")  # fmt: skip
            if "input_gbps" in plain:
                parts[-1] += f", strided ones reading their input at {plain['input_gbps']['value']:.1f} GB/s at least"
        if self.plain_layout:
            parts.append(
                "unblocked kernels at "
                + ", ".join(
                    f"{share['value']:.2f} of the blocked rate ({kind})" for kind, share in self.plain_layout.items()
                )
            )
        if self.depthwise_stream:
            stream = self.depthwise_stream
            parts.append(f"depthwise convs at {stream['gouts']['value']:.2f} G outputs/s + "
                         f"{stream['row_ns']['value']:.2f} ns per row")  # fmt: skip
            if "input_gbps" in stream:
                parts[-1] += f", reading their input at {stream['input_gbps']['value']:.1f} GB/s at least"
        if self.wide_depthwise:
            wide = self.wide_depthwise
            parts.append(f"depthwise convs past {wide['above_kb']['value']:.0f} KB of taps and weights a pixel "
                         f"re-read them at {wide['gbps']['value']:.0f} GB/s")  # fmt: skip
        if self.large_maps:
            large = self.large_maps
            parts.append(f"activations past {large['above_mb']['value']:.0f} MB a kernel streamed at "
                         f"{large['gbps']['value']:.1f} GB/s")  # fmt: skip
            if "kinds" in large:
                parts[-1] += f" ({', '.join(large['kinds'])} kernels)"
        if self.channel_scale:
            scale = self.channel_scale
            parts.append(f"squeeze-excite gates at {scale['gouts']['value']:.2f} G outputs/s + "
                         f"{scale['channel_ns']['value']:.2f} ns per channel")  # fmt: skip
        if self.conv_gflops:
            parts.append(f"dense 3x3 convs at {self.conv_gflops['value']:.1f} GFLOP/s")
        if self.filter_pass:
            parts.append(f"a blocked conv's pass over its input costs {self.filter_pass['value']:.1f} blocks")
        parts += [f"activations from {name} at {rate['value']:.1f} GB/s" for name, rate in self.cache_gbps.items()]
        if self.int8:
            q = {
                name: figure["value"]
                for name, figure in self.int8.items()
                if isinstance(figure, dict) and "value" in figure
            }
            elements = ", ".join(f"{name} {q[key]:.2f}" for key, name in INT8_ELEMENTS.items() if key in q)
            multiple = self.int8["channel_multiple"]
            odd = f" ({q['odd_depthwise_gflops']:.1f} off {multiple} channels)" if multiple > 1 else ""
            pixel = f" and {q['stem_pixel_ns']:.1f} a pixel" if "stem_pixel_ns" in q else ""
            parts.append(
                f"INT8 depthwise convs at {q['depthwise_gflops']:.1f} GFLOP/s{odd}, stems {q['stem_ns']:.2f} ns a "
                f"value{pixel}, average pools {q['pool_gelems']:.2f} G reads/s, {elements} G elements/s, convs' "
                f"reduction half-depth {q['reduction_half_depth']:.0f}"
            )
        fixed = [(at, o) for at, o in (("", self.overheads), (" at INT8", (self.int8 or {}).get("overheads"))) if o]
        parts += [f"kernels{at} {o['layer_us']['value']:.2f} µs and calls {o['call_us']['value']:.1f} µs besides their "
                  "work" for at, o in fixed]  # fmt: skip
        return "; ".join(parts)


def probe_runtime(profile: DeviceProfile, backend: str, runs: int = 200) -> RuntimeRates:
    """Every probe of this module on ``backend``, with ``profile``'s priors (a CPU's, probed): a minute or two.
    ``runs`` timed runs per chain of the op-rate and weight probes, half that (at least 10) for the others.

    The gate multiplies are stated for a channel-blocked runtime only (ONNX Runtime on x86), the one where pricing
    them held up on networks: LiteRT's run 4x faster than the stream price at large maps, and stating that removed an
    overprice that offset its large maps' underpricing (priors on 3x224x224 networks -12 -> -15 %)."""
    half = max(10, runs // 2)
    conv = probe_conv_rate(backend, half)
    return RuntimeRates(
        backend, probe_op_rates(profile, backend, runs), probe_weight_shares(profile, backend, conv["value"], runs),
        probe_large_depthwise(backend, half), probe_plain_depthwise(profile, backend, half),
        probe_depthwise_stream(backend, half), probe_cache_streams(profile, backend, half),
        probe_channel_scale(profile, backend, half) if profile.channel_block(backend) > 1 else None,
        probe_filter_pass(profile, backend, half), conv, probe_wide_depthwise(backend, half),
        probe_large_maps(backend, half), probe_plain_layout(profile, backend, half),
        probe_int8(backend, half) if _quantized(profile, backend) else None, probe_overheads(backend, runs=runs),
    )  # fmt: skip


def _quantized(profile: DeviceProfile, backend: str) -> bool:
    """Whether ``backend``'s INT8 kernels are probed: it runs INT8 and is one of :data:`INT8_PROBED`."""
    return Precision.INT8 in profile.runtime(backend).precisions and backend in INT8_PROBED


def with_runtime_rates(profile: DeviceProfile, found: RuntimeRates) -> DeviceProfile:
    """``profile`` with ``found.backend``'s rates, shares and depthwise paths set to ``found``'s."""
    rates = {
        "op_gelems": found.op_gelems, "weight_share": found.weight_share, "large_depthwise": found.large_depthwise,
        "plain_depthwise": found.plain_depthwise, "depthwise_stream": found.depthwise_stream,
        "cache_gbps": found.cache_gbps, "channel_scale": found.channel_scale, "filter_pass": found.filter_pass,
        "conv_gflops": found.conv_gflops, "wide_depthwise": found.wide_depthwise, "large_maps": found.large_maps,
        "plain_layout": found.plain_layout, "int8": found.int8, "overheads": found.overheads,
    }  # fmt: skip
    runtimes = [
        Runtime.model_validate({**r.model_dump(), **rates}) if r.backend == found.backend else r
        for r in profile.runtimes
    ]
    return profile.model_copy(update={"runtimes": tuple(runtimes)})
