"""Probe this machine's CPU for a host profile's cost-model priors: kernel rates and the memory hierarchy.

The machine behind a VM changes (CPU model, clock, neighbours), so priors probed on one are not priors for the
next: :func:`probe` measures them here in seconds and :func:`with_probed_priors` writes them into a profile, each
number's ``source`` naming the CPU, backend and date. Each probe times a chain of n identical kernels and of one,
on one thread, and divides the difference by n - 1, so the per-inference overhead and the first kernel's cold
start cancel.
"""

from __future__ import annotations

import datetime
import functools
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgebench.backends import get_backend
from edgebench.costmodel.kernels import FILTER_SET, KernelRules, module_kernels
from edgebench.costmodel.model import KINDS, KernelTable, params_for, rules_for
from edgebench.devices.local import cpu_flags, cpu_model, nchwc_block
from edgebench.devices.profile import MAX_WEIGHT_SHARE, DeviceProfile, Runtime
from edgebench.exceptions import UnsupportedError
from edgebench.model import from_module, load_onnx
from edgebench.types import KernelKind, Precision

#: The share of the peak a dense 3x3 conv reaches; the peak is set from it.
CONV_EFFICIENCY = 0.9
CHAIN = 11
RELU_MB = (0.25, 1.0, 4.0, 16.0, 64.0)
WEIGHT_CHANNELS = (128, 512, 1024, 2048)


@dataclass(frozen=True)
class WeightProbe:
    """A link of a chain whose weights are read from memory: what it is, how to make one, the input it takes."""

    what: str
    make: Callable[[], nn.Module]
    shape: tuple[int, ...]


#: The layers whose weight reads :func:`probe_weight_shares` times, by kind: a ResNet's last stage at a 128-pixel
#: input (9.4 MB of weights per 3x3 conv), a wide 1x1 conv on as few pixels (4.2 MB), about half of whose time is
#: reading the weights, and a classifier's wide linear layer at batch 1 (16.8 MB), nearly all of whose time is.
WEIGHT_PROBES = {
    KernelKind.CONV: WeightProbe(
        "3x3 convs at 512x4x4", functools.partial(nn.Conv2d, 512, 512, 3, padding=1, bias=False), (1, 512, 4, 4)
    ),
    KernelKind.POINTWISE_CONV: WeightProbe(
        "1x1 convs at 1024x4x4", functools.partial(nn.Conv2d, 1024, 1024, 1, bias=False), (1, 1024, 4, 4)
    ),
    KernelKind.LINEAR: WeightProbe(
        "2048x2048 linear layers", functools.partial(nn.Linear, 2048, 2048, bias=False), (1, 2048)
    ),
}


@dataclass(frozen=True)
class Probe:
    """What one probe run measured, per core (one thread): GFLOP/s of convs, GB/s of streams.

    Attributes:
        dense_gflops: a 3x3 conv, 64 channels at 32x32.
        pointwise_gflops: 1x1 convs by channels: as many as one filter set of a blocked runtime (:data:`~edgebench.
            costmodel.kernels.FILTER_SET` blocks, at 64x64) and four times that (at 32x32); both fill whole sets,
            so they differ by their reduction depth alone (the reduction half-depth).
        depthwise_gflops: a 5x5 depthwise conv, 64 channels at 32x32 (compute-bound).
        depthwise_stream_gbps: activations a 3x3 depthwise conv at 384x14x14 reads and writes (bound by its
            per-output cost: MobileNet's middle).
        relu_gbps: a ReLU's bytes read and written per second, by tensor size in MB.
        sigmoid_gelems: billions of elements a sigmoid computes per second, on the smallest ReLU's tensor (in
            cache, so its exponential bounds it).
        weights_gbps: weights read per second by chains of 1x1 convs on 1x1 pixels, by the chain's weight MB.
    """

    cpu: str
    backend: str
    date: datetime.date
    dense_gflops: float
    pointwise_gflops: dict[int, float]
    depthwise_gflops: float
    depthwise_stream_gbps: float
    relu_gbps: dict[float, float]
    sigmoid_gelems: float
    weights_gbps: dict[float, float]

    @property
    def core_peak_gflops(self) -> float:
        return self.dense_gflops / CONV_EFFICIENCY

    @property
    def reduction_half_depth(self) -> float:
        """K0 of rate = R x K / (K + K0), solved from the two 1x1 convs (K: their channels)."""
        (kn, rn), (kw, rw) = sorted(self.pointwise_gflops.items())
        return max(0.0, (rw - rn) / (rn / kn - rw / kw))

    @property
    def pointwise_efficiency(self) -> float:
        """The wide 1x1 conv's share of the peak, its reduction depth's cost taken out (the model adds it back)."""
        k, rate = max(self.pointwise_gflops.items())
        return rate / self.core_peak_gflops * (k + self.reduction_half_depth) / k

    @property
    def cache_gbps(self) -> float:
        """The fastest stream: a ReLU on the smallest tensor (in the per-core cache)."""
        return self.relu_gbps[min(self.relu_gbps)]

    def summary(self) -> str:
        lines = [f"{self.cpu}, {self.backend}, 1 thread, {self.date}"]
        lines += [f"  {name:34} {value:7.1f} GFLOP/s" for name, value in (
            ("dense 3x3 conv 64x32x32", self.dense_gflops), ("depthwise 5x5 conv 64x32x32", self.depthwise_gflops),
            *((f"1x1 conv {k} channels", rate) for k, rate in self.pointwise_gflops.items()),
        )]  # fmt: skip
        lines.append(f"  {'reduction half-depth K0':34} {self.reduction_half_depth:7.1f}")
        lines.append(f"  {'depthwise 3x3 conv 384x14x14':34} {self.depthwise_stream_gbps:7.1f} GB/s of activations")
        lines += [f"  {f'ReLU on {mb:g} MB':34} {gbps:7.1f} GB/s" for mb, gbps in self.relu_gbps.items()]
        lines.append(f"  {f'sigmoid on {min(self.relu_gbps):g} MB':34} {self.sigmoid_gelems:7.2f} Gelem/s")
        lines += [
            f"  {f'weights of a {mb:.1f} MB chain':34} {gbps:7.1f} GB/s" for mb, gbps in self.weights_gbps.items()
        ]
        return "\n".join(lines)


def probe(backend: str = "onnxruntime", runs: int = 200) -> Probe:
    """Measure this CPU's kernel rates and stream bandwidths with ``backend`` on one thread (p25 of ``runs``
    timings of each chain; about 30 s with ONNX Runtime at 200 runs)."""
    timer = _Timer(backend, runs)
    c, hw = 64, 32
    narrow = FILTER_SET * max(4, nchwc_block())
    conv = {
        "dense": (lambda: nn.Conv2d(c, c, 3, padding=1), c, hw, 9 * c),
        "depthwise": (lambda: nn.Conv2d(c, c, 5, padding=2, groups=c), c, hw, 25),
        narrow: (lambda: nn.Conv2d(narrow, narrow, 1), narrow, 2 * hw, narrow),
        4 * narrow: (lambda: nn.Conv2d(4 * narrow, 4 * narrow, 1), 4 * narrow, hw, 4 * narrow),
    }
    gflops = {
        name: 2 * ch * side * side * depth / timer.per_kernel_ms(make, (1, ch, side, side)) / 1e6
        for name, (make, ch, side, depth) in conv.items()
    }
    ch, side = 384, 14
    dw_ms = timer.per_kernel_ms(lambda: nn.Conv2d(ch, ch, 3, padding=1, groups=ch), (1, ch, side, side))
    relu = {}
    for mb in RELU_MB:
        side = int((mb * 1e6 / 4 / 16) ** 0.5)
        relu[mb] = 2 * 16 * side * side * 4 / timer.per_kernel_ms(nn.ReLU, (1, 16, side, side)) / 1e6
    side = int((min(RELU_MB) * 1e6 / 4 / 16) ** 0.5)
    sigmoid = 16 * side * side / timer.per_kernel_ms(nn.Sigmoid, (1, 16, side, side)) / 1e6
    weights = {CHAIN * ch * ch * 4 / 1e6: _weights_gbps(timer, ch) for ch in WEIGHT_CHANNELS}
    return Probe(
        cpu_model(), backend, datetime.date.today(), gflops["dense"], {narrow: gflops[narrow],
        4 * narrow: gflops[4 * narrow]}, gflops["depthwise"], 2 * 384 * 14 * 14 * 4 / dw_ms / 1e6, relu, sigmoid,
        weights,
    )  # fmt: skip


#: Rates as a profile's runtime states them: op or kernel kind -> {value, source, note}.
Rates = dict[str, dict[str, Any]]


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle of two groups: a reshape, a transpose and a reshape back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


#: The share of a conv's time an op must add to be timed at all (timings here vary by more than a few per cent).
NOISE = 0.1
#: The ops :func:`probe_op_rates` times after a 1x1 conv, by the name the cost model prices them under (pools as
#: NAS-Bench-201's cells and ResNet's stems run them: 3x3 windows, padded).
PROBED_OPS: dict[str, Callable[[], nn.Module]] = {
    "Sigmoid": nn.Sigmoid, "Swish": nn.SiLU, "HardSwish": nn.Hardswish, "HardSigmoid": nn.Hardsigmoid,
    "Transpose": ChannelShuffle, "AveragePool": functools.partial(nn.AvgPool2d, 3, 1, 1, count_include_pad=False),
    "MaxPool": functools.partial(nn.MaxPool2d, 3, 1, 1),
}  # fmt: skip


def probe_op_rates(profile: DeviceProfile, backend: str, runs: int = 200) -> Rates:
    """Billions of elements per second one core of ``backend`` computes of each op of :data:`PROBED_OPS` as the
    runtime runs it after a 1x1 conv (fused, alone, or as the transposes of a channels-last runtime): the time a
    chain of conv + op takes over a chain of the convs alone, over the elements the op's kernels write (a pool's
    window reads). An op kept only where ``profile``'s rules for ``backend`` price everything the chain adds but its
    convs by that op (ONNX Runtime's swish adds a multiply, its shuffle layout reorders: they keep the cost model's
    rates), where the runtime runs the chain, and where it adds more than :data:`NOISE` of the conv's time (else it
    is too cheap to time here: it keeps them too)."""
    timer, c, hw = _Timer(backend, runs), 32, 56  # few channels: the op's time is not lost in the conv's noise
    rules, shape = rules_for(profile, backend), (1, c, hw, hw)
    conv_ms = timer.per_kernel_ms(functools.partial(nn.Conv2d, c, c, 1), shape)
    found = {}
    where = f"probed on {cpu_model()} ({backend}, 1 thread, {datetime.date.today()}): a 1x1 conv at {c}x{hw}x{hw}"
    for name, op in PROBED_OPS.items():
        elems = _elems_per_link(functools.partial(_conv_then, c, op), shape, rules, name)
        if elems:
            try:
                ms = timer.per_kernel_ms(functools.partial(_conv_then, c, op), shape)
            except UnsupportedError:  # LiteRT's converter may lower a chain to ops its interpreter lacks
                continue
            if ms > conv_ms * (1 + NOISE):
                found[name] = _sourced(elems / (ms - conv_ms) / 1e6, f"{where} with and without it")
    return found


def _elems_per_link(make: Callable[[], nn.Module], shape: tuple[int, ...], rules: KernelRules, name: str) -> float:
    """The elements ``name`` writes per link of a chain of ``make()``, as ``rules`` price the chain; 0 when a link
    adds kernels other than its conv and ``name``'s."""
    one, many = (module_kernels(nn.Sequential(*(make() for _ in range(n))), shape, rules) for n in (1, CHAIN))
    added = Counter(k.priced_op for k in many) - Counter(k.priced_op for k in one)
    if set(added) - {"", name} or added[""] > CHAIN - 1 or not added[name]:
        return 0.0
    priced = [sum(k.priced_elems for k in ks if k.priced_op == name) for ks in (one, many)]
    return (priced[1] - priced[0]) / (CHAIN - 1)


def _conv_then(channels: int, act: Callable[[], nn.Module]) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, channels, 1), act())


def probe_weight_shares(profile: DeviceProfile, backend: str, runs: int = 200) -> Rates:
    """The share of the memory bandwidth at which ``backend`` reads the weights of each kind of
    :data:`WEIGHT_PROBES` from memory: a chain of its layers (their weights far past the caches) timed on one thread,
    less the rest of their time as ``profile`` prices it, against the memory read time it prices. Both are taken
    against the machine as it runs now: the bandwidth is timed again as :func:`probe` times it (ONNX Runtime's 1x1
    convs on one pixel, the largest chain) and the rest scaled by how a compute-bound 3x3 conv times against its
    price, so a VM whose memory or cores run slower than when the profile was probed does not read as a different
    share."""
    timer, rules = _Timer(backend, runs), rules_for(profile, backend)
    bandwidth = _weights_gbps(_Timer("onnxruntime", runs), max(WEIGHT_CHANNELS))
    params = replace(
        params_for(profile, backend, Precision.FP32, threads=1, calibrated=False), bandwidth_gbps=bandwidth
    )

    def priced(make: Callable[[], nn.Module], shape: tuple[int, ...], kind: KernelKind, share: float) -> float:
        table = KernelTable.of([module_kernels(nn.Sequential(*(make() for _ in range(CHAIN))), shape, rules)])
        of_kind = table.kind == KINDS.index(kind)  # not a layout transpose around them
        return float(table.kernel_ms(replace(params, weight_share={kind: share}))[of_kind].mean())

    dense, dense_shape = functools.partial(nn.Conv2d, 64, 64, 3, padding=1), (1, 64, 32, 32)
    speed = timer.per_kernel_ms(dense, dense_shape) / priced(dense, dense_shape, KernelKind.CONV, 1.0)
    where = f"probed on {cpu_model()} ({backend}, 1 thread, {datetime.date.today()})"
    found = {}
    for kind, link in WEIGHT_PROBES.items():
        measured = timer.per_kernel_ms(link.make, link.shape)
        full, half = (priced(link.make, link.shape, kind, share) for share in (1.0, 0.5))
        reading = half - full  # the memory read time at the full bandwidth: it doubles at half of it
        share = reading / max(measured - speed * (full - reading), reading / MAX_WEIGHT_SHARE)
        found[str(kind)] = _sourced(
            share, f"{where}: {link.what}, {measured:.2f} ms each, memory at {bandwidth:.1f} GB/s"
        )
    return found


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
    timer, (c, hw) = _Timer(backend, runs), DEPTHWISE_MAP
    rates = {}
    for k in DEPTHWISE_SIDES:
        make = functools.partial(nn.Conv2d, c, c, k, padding=k // 2, groups=c, bias=False)
        rates[k] = 2 * c * hw * hw * k * k / timer.per_kernel_ms(make, (1, c, hw, hw)) / 1e6
    slow = [k for k in DEPTHWISE_SIDES if rates[k] < SLOW_PATH * rates[DEPTHWISE_SIDES[0]]]
    if not slow:  # (never the 3x3: the share is of its own rate)
        return None
    fast = DEPTHWISE_SIDES[DEPTHWISE_SIDES.index(slow[0]) - 1]
    timed = ", ".join(f"{k}x{k} {rates[k]:.1f}" for k in DEPTHWISE_SIDES)
    where = f"probed on {cpu_model()} ({backend}, 1 thread, {datetime.date.today()}): depthwise convs at {c}x{hw}x{hw}"
    gflops = float(np.mean([rates[k] for k in slow]))
    return {"above_taps": fast * fast, "gflops": _sourced(gflops, f"{where}, GFLOP/s {timed}")}


#: Channels no channel block divides (nor the 4 ONNX Runtime reorders by), and the two map sides
#: :func:`probe_plain_depthwise` times them at: ShuffleNetV2-1.0's first stage (58-channel branches at 28x28).
PLAIN_CHANNELS, PLAIN_SIDES = 58, (28, 56)


def probe_plain_depthwise(profile: DeviceProfile, backend: str, runs: int = 100) -> dict[str, Any] | None:
    """How a channel-blocked ``backend`` runs the depthwise convs it cannot block, as a runtime's
    ``plain_depthwise`` states it: 3x3 depthwise convs of :data:`PLAIN_CHANNELS` channels timed at two map sizes
    (one core), solved for a cost per channel and a rate of the taps; None for a runtime without a channel block."""
    rules, c = rules_for(profile, backend), PLAIN_CHANNELS
    make = functools.partial(nn.Conv2d, c, c, 3, padding=1, groups=c, bias=False)
    if not any(k.plain for k in module_kernels(make(), (1, c, PLAIN_SIDES[0], PLAIN_SIDES[0]), rules)):
        return None
    timer = _Timer(backend, runs)
    pixels = [side * side for side in PLAIN_SIDES]
    per_channel_us = [1e3 * timer.per_kernel_ms(make, (1, c, side, side)) / c for side in PLAIN_SIDES]
    us_per_pixel = max((per_channel_us[1] - per_channel_us[0]) / (pixels[1] - pixels[0]), 1e-6)
    group_us = max(0.0, per_channel_us[0] - pixels[0] * us_per_pixel)
    where = (
        f"probed on {cpu_model()} ({backend}, 1 thread, {datetime.date.today()}): 3x3 depthwise convs of {c} "
        f"channels at {' and '.join(f'{s}x{s}' for s in PLAIN_SIDES)}, "
        + " and ".join(f"{us * c:.0f} µs" for us in per_channel_us)
    )
    return {"gflops": _sourced(18 / us_per_pixel / 1e3, where), "group_us": _sourced(group_us, where)}


def with_runtime_rates(
    profile: DeviceProfile,
    backend: str,
    op_gelems: Rates,
    weight_share: Rates,
    large_depthwise: dict[str, Any] | None = None,
    plain_depthwise: dict[str, Any] | None = None,
) -> DeviceProfile:
    """``profile`` with ``backend``'s ``op_gelems``, ``weight_share``, ``large_depthwise`` and ``plain_depthwise``
    set to these (one core's, with their sources)."""
    rates = {
        "op_gelems": op_gelems, "weight_share": weight_share, "large_depthwise": large_depthwise,
        "plain_depthwise": plain_depthwise,
    }  # fmt: skip
    runtimes = [
        Runtime.model_validate({**r.model_dump(), **rates}) if r.backend == backend else r for r in profile.runtimes
    ]
    return profile.model_copy(update={"runtimes": tuple(runtimes)})


def op_rates_summary(
    backend: str,
    rates: Rates,
    shares: Rates,
    large_depthwise: dict[str, Any] | None = None,
    plain_depthwise: dict[str, Any] | None = None,
) -> str:
    """One line of :func:`probe_op_rates`', :func:`probe_weight_shares`', :func:`probe_large_depthwise`'s and
    :func:`probe_plain_depthwise`'s figures."""
    slow = large_depthwise and (
        f"; depthwise convs past {large_depthwise['above_taps']} taps at {large_depthwise['gflops']['value']:.1f} "
        "GFLOP/s"
    )
    plain = plain_depthwise and (
        f"; unblocked depthwise convs at {plain_depthwise['gflops']['value']:.1f} GFLOP/s + "
        f"{plain_depthwise['group_us']['value']:.2f} µs per channel"
    )
    return (
        f"{backend} ops after a 1x1 conv, Gelem/s: "
        + ", ".join(f"{name} {rate['value']:.2f}" for name, rate in rates.items())
        + "; weights read at "
        + ", ".join(f"{share['value']:.2f} of the bandwidth by {kind}" for kind, share in shares.items())
        + (slow or "")
        + (plain or "")
    )


class _Timer:
    def __init__(self, backend: str, runs: int) -> None:
        self.backend, self.runs = get_backend(backend), runs

    def per_kernel_ms(self, make: Callable[[], nn.Module], shape: tuple[int, ...]) -> float:
        """Milliseconds one more kernel of a chain adds."""
        with tempfile.TemporaryDirectory(prefix="edgebench-probe-") as tmp:
            one = self._ms(nn.Sequential(make()), shape, Path(tmp), "one")
            many = self._ms(nn.Sequential(*(make() for _ in range(CHAIN))), shape, Path(tmp), "chain")
        return max(many - one, 1e-6) / (CHAIN - 1)

    def _ms(self, module: nn.Module, shape: tuple[int, ...], out: Path, name: str) -> float:
        onnx_path = from_module(name, module.eval(), shape).to_onnx(out)
        artifact = self.backend.export(load_onnx(onnx_path), Precision.FP32, out / name)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        with self.backend.open(artifact, threads=1) as session:
            return float(np.percentile(session.measure(x, warmup=20, repeats=self.runs).samples_ms, 25))


def _weights_gbps(timer: _Timer, channels: int) -> float:
    """GB/s at which a chain of 1x1 convs on one pixel, ``channels`` in and out, reads its weights."""
    ms = timer.per_kernel_ms(functools.partial(nn.Conv2d, channels, channels, 1, bias=False), (1, channels, 1, 1))
    return channels * channels * 4 / ms / 1e6


def with_probed_priors(profile: DeviceProfile, found: Probe) -> DeviceProfile:
    """``profile`` (a local CPU's) with the cost-model priors ``found`` measures in place of its own; calibrations
    are dropped (they were fitted against the old priors) and the rest (grouped conv, pooling, linear, overheads,
    parallel efficiency) is kept as it was."""
    cost = profile.cost_model.model_dump(mode="json")
    where = f"probed on {found.cpu} ({found.backend}, 1 thread, {found.date})"
    core, cores = found.core_peak_gflops, cost["cores"]
    cost["peak_gflops"] = _peaks(core * cores, f"{where}: dense 3x3 conv at {found.dense_gflops:.1f} GFLOP/s per "
                                 f"core, taken as {CONV_EFFICIENCY} of peak; x {cores} cores")  # fmt: skip
    big = max(found.weights_gbps)
    cost["memory_bandwidth_gbps"] = _sourced(
        found.weights_gbps[big], f"{where}: weights read from a {big:.0f} MB chain"
    )
    cost["caches"] = _caches(found, where) or cost["caches"]
    cost["reduction_half_depth"] = _sourced(found.reduction_half_depth, f"{where}: 1x1 convs at 16 and 64 channels")
    (wide, pointwise), depthwise = max(found.pointwise_gflops.items()), found.depthwise_gflops
    cost["efficiency"].update(
        conv=_sourced(CONV_EFFICIENCY, f"{where}: the peak is set from it"),
        pointwise_conv=_sourced(found.pointwise_efficiency, f"{where}: {pointwise:.1f} GFLOP/s at {wide} channels"),
        depthwise_conv=_sourced(depthwise / core, f"{where}: {depthwise:.1f} GFLOP/s, 5x5 at 64 channels"),
        activation=_sourced(1.0, f"{where}: the L2 figure is a ReLU's stream"),
    )
    stream = found.depthwise_stream_gbps
    cost["stream_ceiling"]["depthwise_conv"] = _sourced(
        stream / found.cache_gbps, f"{where}: a 3x3 depthwise conv at 384x14x14 moves {stream:.1f} GB/s"
    )
    cost["exp_gelems"] = _sourced(found.sigmoid_gelems, f"{where}: a sigmoid on {min(found.relu_gbps):g} MB")
    cost["calibrations"] = []
    flags = cpu_flags()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    data = {**profile.model_dump(mode="json"), "processor": f"local CPU (probed: {found.cpu}, {vector})"}
    return DeviceProfile.model_validate({**data, "cost_model": cost})


def _peaks(fp32: float, source: str) -> dict[str, Any]:
    """Peaks per precision: fp32 as probed, fp16 and int8 from the vector extensions the CPU has."""
    flags = cpu_flags()
    fp16 = (2, "AVX512_FP16: twice the fp32 rate") if "avx512_fp16" in flags else (1, "no AVX512_FP16: fp32 rate")
    vnni = bool(flags & {"avx512_vnni", "avx_vnni"})
    int8 = (4, "VNNI: 4 int8 MACs per 32-bit lane per FMA") if vnni else (2, "no VNNI: AVX2 int8 multiply-add pairs")
    return {
        "fp32": _sourced(fp32, source),
        "fp16": _sourced(fp32 * fp16[0], fp16[1], "derived"),
        "int8": _sourced(fp32 * int8[0], f"{int8[1]}: {int8[0]}x the fp32 peak", "derived"),
    }


def _caches(found: Probe, where: str) -> list[dict[str, Any]]:
    """L2 (per core, read at a small ReLU's rate) and L3 (half of it: the VM shares it; read at the rate of the
    largest weight chain that fits), as sysfs sizes them; empty where it does not."""
    caches = []
    l2_mb, l3_mb = _cache_mb(2), _cache_mb(3)
    if l2_mb:
        small = min(found.relu_gbps)
        caches.append(
            _cache("L2", l2_mb, "sysfs: the per-core L2", found.cache_gbps, f"{where}: a ReLU on {small:g} MB")
        )
    if l3_mb:
        fits = max([mb for mb in found.weights_gbps if mb <= l3_mb / 2] or [min(found.weights_gbps)])
        caches.append(_cache("L3", l3_mb / 2, "sysfs: half the L3 (the VM shares it)", found.weights_gbps[fits],
                             f"{where}: weights read from a {fits:.1f} MB chain"))  # fmt: skip
    return caches


def _cache(name: str, size_mb: float, size_source: str, gbps: float, source: str) -> dict[str, Any]:
    return {"name": name, "size_mb": _sourced(size_mb, size_source, ""), "bandwidth_gbps": _sourced(gbps, source)}


def _sourced(value: float, source: str, note: str = "measured") -> dict[str, Any]:
    return {"value": round(value, 2), "source": source, "note": note}


def _cache_mb(level: int) -> float | None:
    """The size in MB of the first CPU's cache at ``level`` (Linux sysfs), None where it is not there."""
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            if int((index / "level").read_text()) == level and (index / "type").read_text().strip() != "Instruction":
                size = (index / "size").read_text().strip()
                return int(size.rstrip("KM")) / (1024 if size.endswith("K") else 1)
        except (OSError, ValueError):
            continue
    return None
