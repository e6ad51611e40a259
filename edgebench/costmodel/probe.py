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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgebench.backends import get_backend
from edgebench.benchmark import default_calibration
from edgebench.costmodel.layouts import FILTER_SET
from edgebench.devices.local import cpu_flags, cpu_model, nchwc_block, vector_isa
from edgebench.devices.profile import DeviceProfile
from edgebench.exceptions import BusyMachineError
from edgebench.model import from_module, load_onnx
from edgebench.types import Precision

#: The share of the peak a dense 3x3 conv reaches; the peak is set from it.
CONV_EFFICIENCY = 0.9
CHAIN = 11
#: The share of a link's time an op must add to be timed at all (timings here vary by more than a few per cent): the
#: runtime probes keep their prior for an op under it, the INT8 probe states a bound.
NOISE = 0.1
#: The convs' chains are timed in this many interleaved rounds, the median kept: a busy moment slows one round.
ROUNDS = 3
#: How a profile whose priors were probed on a local CPU names its processor: this, the CPU's model, its vector ISA.
PROBED_ON = "local CPU (probed: "
RELU_MB = (0.25, 1.0, 4.0, 16.0, 64.0)
WEIGHT_CHANNELS = (128, 512, 1024, 2048)


@dataclass(frozen=True)
class Probe:
    """What one probe run measured, per core (one thread): GFLOP/s of convs, GB/s of streams.

    Attributes:
        dense_gflops: a 3x3 conv, 64 channels at 32x32.
        pointwise_gflops: 1x1 convs by channels: as many as one filter set of a blocked runtime (:data:`~edgebench.
            costmodel.layouts.FILTER_SET` blocks, at 64x64) and four times that (at 32x32); both fill whole sets,
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
    timings of each chain, the convs' in :data:`ROUNDS` interleaved rounds; about 40 s with ONNX Runtime at 200 runs).

    Raises:
        BusyMachineError: rates no idle machine gives (a depthwise or 1x1 conv past the dense conv's peak).
    """
    timer = ChainTimer(backend, runs)
    c, hw = 64, 32
    narrow = FILTER_SET * max(4, nchwc_block())
    conv: dict[str | int, tuple[Callable[[], nn.Module], int, int, int]] = {
        "dense": (lambda: nn.Conv2d(c, c, 3, padding=1), c, hw, 9 * c),
        "depthwise": (lambda: nn.Conv2d(c, c, 5, padding=2, groups=c), c, hw, 25),
        narrow: (lambda: nn.Conv2d(narrow, narrow, 1), narrow, 2 * hw, narrow),
        4 * narrow: (lambda: nn.Conv2d(4 * narrow, 4 * narrow, 1), 4 * narrow, hw, 4 * narrow),
    }
    ms: dict[str | int, list[float]] = {name: [] for name in conv}
    for _ in range(ROUNDS):
        for name, (make, ch, side, _) in conv.items():
            ms[name].append(timer.per_kernel_ms(make, (1, ch, side, side)))
    gflops = {
        name: 2 * ch * side * side * depth / float(np.median(ms[name])) / 1e6
        for name, (_, ch, side, depth) in conv.items()
    }
    ch, side = 384, 14
    dw_ms = timer.per_kernel_ms(lambda: nn.Conv2d(ch, ch, 3, padding=1, groups=ch), (1, ch, side, side))
    relu = {mb: relu_gbps(timer, mb) for mb in RELU_MB}
    side = int((min(RELU_MB) * 1e6 / 4 / 16) ** 0.5)
    sigmoid = 16 * side * side / timer.per_kernel_ms(nn.Sigmoid, (1, 16, side, side)) / 1e6
    weights = {CHAIN * ch * ch * 4 / 1e6: weights_gbps(timer, ch) for ch in WEIGHT_CHANNELS}
    return _checked(Probe(
        cpu_model(), backend, datetime.date.today(), gflops["dense"], {narrow: gflops[narrow],
        4 * narrow: gflops[4 * narrow]}, gflops["depthwise"], 2 * 384 * 14 * 14 * 4 / dw_ms / 1e6, relu, sigmoid,
        weights,
    ))  # fmt: skip


def _checked(found: Probe) -> Probe:
    """``found``, unless a conv outran the peak its dense conv sets (a busy moment slowed the dense one).

    Raises:
        BusyMachineError: naming the rates.
    """
    over = {"a depthwise conv": found.depthwise_gflops / found.core_peak_gflops,
            "a 1x1 conv": found.pointwise_efficiency}  # fmt: skip
    if fast := [f"{name} at {share:.2f}x" for name, share in over.items() if share > 1]:
        raise BusyMachineError(
            f"the probe timed {' and '.join(fast)} the {found.core_peak_gflops:.1f} GFLOP/s peak its dense conv "
            f"({found.dense_gflops:.1f} GFLOP/s) sets: the machine was busy; probe again with nothing else running"
        )
    return found


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle of two groups: a reshape, a transpose and a reshape back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


class SplitUnit(nn.Module):
    """A ShuffleNet V2 unit with a 1x1 conv for its branch: split the channels, transform one half, concatenate,
    then shuffle (``shuffle``) or not: a channel shuffle as standard networks have it. After a conv alone, LiteRT ran
    the same transposes in half the time they took in ShuffleNet V2's units (OpenVINO and ONNX Runtime alike)."""

    def __init__(self, channels: int, shuffle: bool) -> None:
        super().__init__()
        self.split_at, self.shuffle = channels // 2, shuffle
        self.conv = nn.Conv2d(self.split_at, self.split_at, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, x = x.split(self.split_at, 1)
        y = torch.cat((kept, self.conv(x)), 1)
        return ChannelShuffle()(y) if self.shuffle else y


class ChainTimer:
    """Times chains of kernels on one thread of a backend, at a precision (INT8 quantized on ``bench``'s inputs)."""

    def __init__(self, backend: str, runs: int, precision: Precision = Precision.FP32) -> None:
        self.backend, self.runs, self.precision = get_backend(backend), runs, precision

    def per_kernel_ms(self, make: Callable[[], nn.Module], shape: tuple[int, ...]) -> float:
        """Milliseconds one more kernel of a chain adds."""
        return self.per_link_ms(lambda links: nn.Sequential(*(make() for _ in range(links))), shape)

    def per_link_ms(self, chain: Callable[[int], nn.Module], shape: tuple[int, ...]) -> float:
        """Milliseconds one more link adds to ``chain(links)``: a module of that many links."""
        return self.line(chain, shape)[1]

    def line(self, chain: Callable[[int], nn.Module], shape: tuple[int, ...]) -> tuple[float, float]:
        """Milliseconds ``chain(links)`` takes besides its links (an inference call's), and one more link adds."""
        with tempfile.TemporaryDirectory(prefix="edgebench-probe-") as tmp:
            one = self._ms(chain(1), shape, Path(tmp), "one")
            many = self._ms(chain(CHAIN), shape, Path(tmp), "chain")
        link = max(many - one, 1e-6) / (CHAIN - 1)
        return max(one - link, 0.0), link

    def _ms(self, module: nn.Module, shape: tuple[int, ...], out: Path, name: str) -> float:
        onnx_path = from_module(name, module.eval(), shape).to_onnx(out)
        calibration = default_calibration(shape) if self.precision is Precision.INT8 else None
        artifact = self.backend.export(load_onnx(onnx_path), self.precision, out / name, calibration)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        with self.backend.open(artifact, threads=1) as session:
            return float(np.percentile(session.measure(x, warmup=20, repeats=self.runs).samples_ms, 25))


def relu_gbps(timer: ChainTimer, mb: float) -> float:
    """GB/s a chain of ReLUs on a tensor of ``mb`` MB reads and writes."""
    side = int((mb * 1e6 / 4 / 16) ** 0.5)
    return 2 * 16 * side * side * 4 / timer.per_kernel_ms(nn.ReLU, (1, 16, side, side)) / 1e6


def weights_gbps(timer: ChainTimer, channels: int) -> float:
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
    cost["memory_bandwidth_gbps"] = sourced(found.weights_gbps[big], f"{where}: weights read from a {big:.0f} MB chain")
    cost["caches"] = _caches(found, where) or cost["caches"]
    cost["reduction_half_depth"] = sourced(found.reduction_half_depth, f"{where}: 1x1 convs at 16 and 64 channels")
    (wide, pointwise), depthwise = max(found.pointwise_gflops.items()), found.depthwise_gflops
    cost["efficiency"].update(
        conv=sourced(CONV_EFFICIENCY, f"{where}: the peak is set from it"),
        pointwise_conv=sourced(found.pointwise_efficiency, f"{where}: {pointwise:.1f} GFLOP/s at {wide} channels"),
        depthwise_conv=sourced(depthwise / core, f"{where}: {depthwise:.1f} GFLOP/s, 5x5 at 64 channels"),
        activation=sourced(1.0, f"{where}: the L2 figure is a ReLU's stream"),
    )
    stream = found.depthwise_stream_gbps
    cost["stream_ceiling"]["depthwise_conv"] = sourced(
        stream / found.cache_gbps, f"{where}: a 3x3 depthwise conv at 384x14x14 moves {stream:.1f} GB/s"
    )
    cost["exp_gelems"] = sourced(found.sigmoid_gelems, f"{where}: a sigmoid on {min(found.relu_gbps):g} MB")
    cost["calibrations"] = []
    data = {**profile.model_dump(mode="json"), "processor": f"{PROBED_ON}{found.cpu}, {vector_isa()})"}
    return DeviceProfile.model_validate({**data, "cost_model": cost})


def _peaks(fp32: float, source: str) -> dict[str, Any]:
    """Peaks per precision: fp32 as probed, fp16 and int8 from the vector extensions the CPU has."""
    flags = cpu_flags()
    fp16 = (2, "AVX512_FP16: twice the fp32 rate") if "avx512_fp16" in flags else (1, "no AVX512_FP16: fp32 rate")
    vnni = bool(flags & {"avx512_vnni", "avx_vnni"})
    int8 = (4, "VNNI: 4 int8 MACs per 32-bit lane per FMA") if vnni else (2, "no VNNI: AVX2 int8 multiply-add pairs")
    return {
        "fp32": sourced(fp32, source),
        "fp16": sourced(fp32 * fp16[0], fp16[1], "derived"),
        "int8": sourced(fp32 * int8[0], f"{int8[1]}: {int8[0]}x the fp32 peak", "derived"),
    }


def _caches(found: Probe, where: str) -> list[dict[str, Any]]:
    """L2 (per core, read at a small ReLU's rate) and L3 (half of it: the VM shares it; read at the rate of the
    largest weight chain that fits), as sysfs sizes them; empty where it does not."""
    caches = []
    l2_mb, l3_mb = cache_mb(2), cache_mb(3)
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
    return {"name": name, "size_mb": sourced(size_mb, size_source, ""), "bandwidth_gbps": sourced(gbps, source)}


def probed_on(backend: str) -> str:
    """Where and when a probe ran, for its figures' ``note``."""
    return f"probed on {cpu_model()} ({backend}, 1 thread, {datetime.date.today()})"


def sourced(value: float, source: str, note: str = "measured") -> dict[str, Any]:
    return {"value": round(value, 2), "source": source, "note": note}


def cache_mb(level: int) -> float | None:
    """The size in MB of the first CPU's cache at ``level`` (Linux sysfs), None where it is not there."""
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            if int((index / "level").read_text()) == level and (index / "type").read_text().strip() != "Instruction":
                size = (index / "size").read_text().strip()
                return int(size.rstrip("KM")) / (1024 if size.endswith("K") else 1)
        except (OSError, ValueError):
            continue
    return None
