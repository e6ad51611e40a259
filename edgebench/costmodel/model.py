"""Estimate latency from a device profile's roofline cost model, for devices edgebench cannot measure.

Per kernel: ``max(flops / (peak x eff), bytes / (bandwidth x eff)) + overhead_per_layer`` with ``eff = efficiency[kind]
x size_factor[kind][size class]`` (capped at 1); per network, plus ``overhead_per_network``. A profile that lists its
caches and reduction half-depth refines this (see :class:`~edgebench.devices.profile.CostModel`), and so does a per-kind
``stream_ceiling``: a kernel of that kind takes at least its activation bytes over that share of the fastest level's
bandwidth, and ops with a per-element cost of their own (activations, transposes, window pools) are priced at a rate (a
floor for one that runs alone, added to the conv one is fused into): the runtime's own where its profile states one,
else ``exp_gelems`` for the exp-based ones. With caches, a kernel's weights add their read time from the levels the
network's weights and activation traffic fit in (all of it passes through them between two reads of a weight; for a
runtime of :data:`OVERLAPS_WEIGHTS` as a bound beside the compute, not on top of it), the part past the first level at
the runtime's ``weight_share`` of those levels' bandwidth for the kernel's kind where the profile states one (a 1x1 conv
on one pixel, a batch-1 GEMV, at the share for those, else the pointwise share); a conv a runtime computes a tile of
output pixels at a time reads them once a tile, the later passes from the levels its own weights fit in. A depthwise
conv past the runtime's ``large_depthwise`` taps computes at that path's rate, and one a channel-blocked runtime cannot
block at its ``plain_depthwise`` rate and cost per channel (a strided one at least its input at that path's
``input_gbps``: it copies every window out first), and a dense or 1x1 conv the runtime leaves plain at its
``plain_layout`` share of the rate (im2col and a GEMM over whole pixel vectors), as it does a window pool's window
reads. A runtime's ``depthwise_stream`` prices its depthwise convs' outputs and output rows (at least their input at its
``input_gbps``, the bound of strided ones) in place of the depthwise ``stream_ceiling`` (their data then moves at the
caches' bandwidth, not scaled by the fitted efficiency, as does the data of a kernel that runs an op priced at a rate
alone: the rate prices its per-element cost), its ``wide_depthwise`` the re-reads of depthwise convs whose taps and
weights per pixel outgrow the first cache level, its ``large_maps`` the activation bytes of a kernel (of the kinds it
names) past what the caches stream for it (on top of the kernel's time), its ``channel_scale`` its squeeze-excite gates'
multiplies in place of every other price, and its ``cache_gbps`` the activations held in a cache level in place of the
level's bandwidth. The parameters come from the profile: its calibration for the backend and precision when it has one,
else its priors. Every number this module returns is an estimate (``source=estimated``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.kernels import KernelRules
from edgebench.costmodel.quantized import INT8_RULES, Int8Rates, int8_ms, int8_role, int8_rules
from edgebench.costmodel.runtime_rates import (
    activation_gbps,
    channel_scale,
    conv_efficiency,
    depthwise_reads,
    depthwise_stream,
    effective_peak,
    large_depthwise,
    large_maps,
    op_rates,
    overheads,
    plain_depthwise,
    plain_reads,
    thread_share,
    wide_depthwise,
)
from edgebench.devices.profile import Calibration, DeviceProfile
from edgebench.types import PRICED_OPS, KernelKind, Precision, SizeClass, Source, WeightRead

#: Bump when the model's formulas change: every table it priced is priced again.
COST_MODEL_VERSION = "roofline-26"

KINDS = tuple(KernelKind)
PRICED = tuple(sorted(PRICED_OPS))
SIZES = tuple(SizeClass)
READS = tuple(WeightRead)
#: How the kernels of each kind with weights read them (a 1x1 conv on one pixel as its own, ``Kernel.one_pixel``).
KIND_READS = {kind: WeightRead(kind.value) for kind in KernelKind if kind.value in {r.value for r in WeightRead}}
BYTES_PER_ELEM = {Precision.FP32: 4.0, Precision.FP16: 2.0, Precision.INT8: 1.0}
#: Runtimes whose convs read their weights under their multiply-adds (XNNPACK's GEMMs stream packed weights for each
#: tile of output pixels: on a Zen 4, LiteRT's 1x1 convs with 614 KB of weights in L3 ran at their multiply-add rate,
#: where adding the reads priced them 1.45 times their time). ONNX Runtime's and OpenVINO's, priced so, fitted worse.
OVERLAPS_WEIGHTS = frozenset({"tflite"})


@dataclass(frozen=True)
class CostParams:
    """A cost model resolved for one backend, precision and thread count."""

    peak_gflops: float
    bandwidth_gbps: float
    bytes_per_elem: float
    efficiency: Mapping[KernelKind, float]
    size_factor: Mapping[KernelKind, Mapping[SizeClass, float]]
    overhead_per_layer_ms: float
    overhead_per_network_ms: float
    calibration: Calibration | None = None
    threads: int = 1
    precision: Precision = Precision.FP32
    caches: tuple[tuple[float, float], ...] = ()  # (size MB, bandwidth GB/s), smallest first
    activation_gbps: tuple[float, ...] = ()  # per cache level, the runtime's activation stream where it differs
    reduction_half_depth: float = 0.0
    stream_ceiling: Mapping[KernelKind, float] = field(default_factory=dict)  # share of the fastest level's bandwidth
    op_gelems: Mapping[str, float] = field(default_factory=dict)  # elements per ns at these threads, by priced op
    weight_share: Mapping[WeightRead, float] = field(default_factory=dict)  # of the bandwidth past L2, by reads
    large_depthwise: tuple[int, float] | None = None  # (taps past which, GFLOP/s at these threads) of a slower path
    plain_depthwise: tuple[float, float] | None = None  # (GFLOP/s, µs per channel) of unblocked depthwise convs
    plain_reads: float | None = None  # GB/s at these threads at which unblocked strided depthwise convs read input
    plain_layout: Mapping[KernelKind, float] = field(default_factory=dict)  # shares of the rate, kernels off the block
    depthwise_stream: tuple[float, float] | None = None  # (outputs per ns, ns per output row) of depthwise convs
    depthwise_reads: float | None = None  # GB/s at these threads at which depthwise convs read their input at least
    wide_depthwise: tuple[float, float] | None = None  # (KB of a pixel's taps and weights past which, GB/s) re-reads
    large_maps: tuple[float, float] | None = None  # (MB of a kernel's activations past which, GB/s) on top
    large_map_kinds: frozenset[KernelKind] = frozenset()  # the kinds ``large_maps`` holds for (empty: every kind)
    spill_scale: float = 1.0  # a calibration's factor on the time of that spill
    overlaps_weights: bool = False  # its weight reads bound a kernel beside its compute, not on top of it
    channel_scale: tuple[float, float] | None = None  # (outputs per ns, ns per channel) of squeeze-excite gates
    int8: Int8Rates | None = None  # the runtime's INT8 kernels' own rates, at INT8 where its profile states them

    def ns_per_byte(
        self, stream_bytes: np.ndarray, outer_share: np.ndarray | float = 1.0, activations: bool = False
    ) -> np.ndarray:
        """Time to read each byte of a stream of ``stream_bytes``: the share that fits in each cache level at
        that level's bandwidth (the runtime's ``activation_gbps`` for ``activations``), the rest at the memory
        bandwidth; past the first level, at ``outer_share`` of those."""
        cost, covered = np.zeros_like(stream_bytes, dtype=np.float64), 0.0
        levels = self.caches
        if activations and self.activation_gbps:
            levels = tuple((size, gbps) for (size, _), gbps in zip(self.caches, self.activation_gbps, strict=True))
        for level, (size_mb, bandwidth) in enumerate(levels):
            fits = np.minimum(1.0, size_mb * 1e6 / np.maximum(stream_bytes, 1.0))
            cost += (fits - covered) / (bandwidth * (outer_share if level else 1.0))
            covered = fits
        return cost + (1.0 - covered) / (self.bandwidth_gbps * outer_share)

    def read_share(self, reads: WeightRead) -> float:
        """The share of the bandwidth past the first level at which ``reads`` weights are read: the runtime's own,
        else (a one-pixel conv) its pointwise convs', else the full bandwidth."""
        if reads is WeightRead.ONE_PIXEL_CONV and reads not in self.weight_share:
            reads = WeightRead.POINTWISE_CONV
        return self.weight_share.get(reads, 1.0)

    @property
    def provenance(self) -> str:
        """Which numbers these are, and how well they did on held-out networks."""
        c = self.calibration
        fitted = c is not None and c.precision is Precision.INT8
        caveat = f"; {INT8_RULES}" if self.precision is Precision.INT8 and not (self.int8 or fitted) else ""
        if c is None:
            return f"uncalibrated priors (error unknown{caveat})"
        e = c.held_out
        text = (
            f"calibrated on {c.fitted_on} ({c.backend} {c.precision}, {c.threads} thread(s)); held-out error: "
            f"RMSPE {e.rmspe_pct:.1f} %, {e.within_10_pct:.0f} % within ±10 %, Kendall τ {e.kendall_tau:.2f} "
            f"over {e.networks} networks"
        )
        if c.threads != self.threads:
            text += f"; scaled to {self.threads} thread(s) by the profile's parallel_efficiency prior (unchecked)"
        if c.precision is not self.precision:
            text += f"; used for {self.precision} with its peak and byte width (unchecked)"
        return text + caveat


def calibration_for(profile: DeviceProfile, backend: str, precision: Precision) -> Calibration | None:
    """The profile's calibration for this backend at this precision, else at any precision, else none."""
    own = [c for c in profile.cost_model.calibrations if c.backend == backend]
    exact = [c for c in own if c.precision is precision]
    return next(iter(exact or own), None)


def rules_for(profile: DeviceProfile, backend: str, precision: Precision = Precision.FP32) -> KernelRules:
    """What ``backend``'s runtime on ``profile``'s device does to a graph: its channel block and what a pass of its
    blocked convs costs, the activations it fuses and the ops it runs in place (the profile's, else the runtime's
    defaults), its converter's zero folding and layout, what else it runs in a conv's epilogue on the runtime's device,
    and its output and pixel blocks; at INT8, its INT8 graph's where the profile states its ``int8`` rates."""
    rules = KernelRules.of(
        backend, profile.channel_block(backend), profile.fuses(backend), profile.filter_pass(backend),
        profile.runtime(backend).device, profile.output_block(backend), profile.in_place(backend),
        profile.pixel_block(backend),
    )  # fmt: skip
    int8 = precision is Precision.INT8 and profile.runtime(backend).int8 is not None
    return int8_rules(rules, backend) if int8 else rules


def params_for(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    threads: int | None = None,
    calibrated: bool = True,
) -> CostParams:
    """Resolve the profile's cost model for a backend, precision and thread count: its calibration for them when
    it has one (and ``calibrated``), else its priors (the runtime's own rates and fixed costs where it states them)."""
    profile.check_supports(backend, precision)
    cm = profile.cost_model
    cal = calibration_for(profile, backend, precision) if calibrated else None
    efficiency = {k: s.value for k, s in cm.efficiency.items()} | conv_efficiency(profile, backend)
    size_factor = {k: dict.fromkeys(SizeClass, 1.0) for k in KernelKind}
    (per_layer, per_network), spill = overheads(profile, backend, precision), 1.0
    if cal is not None:
        efficiency.update(cal.efficiency)
        for kind, factors in cal.size_factor.items():
            size_factor[kind].update(factors)
        per_layer, per_network, spill = cal.overhead_per_layer_ms, cal.overhead_per_network_ms, cal.spill_scale
    threads = threads or profile.threads
    int8 = Int8Rates.at(profile.runtime(backend).int8, precision, thread_share(profile, threads))
    half_depth = cm.reduction_half_depth.value if cm.reduction_half_depth else 0.0
    return CostParams(
        peak_gflops=effective_peak(profile, precision, threads),
        bandwidth_gbps=cm.memory_bandwidth_gbps.value,
        bytes_per_elem=BYTES_PER_ELEM[precision],
        efficiency=efficiency,
        size_factor=size_factor,
        overhead_per_layer_ms=per_layer,
        overhead_per_network_ms=per_network,
        calibration=cal,
        threads=threads,
        precision=precision,
        caches=tuple((c.size_mb.value, c.bandwidth_gbps.value) for c in cm.caches),
        activation_gbps=activation_gbps(profile, backend),
        reduction_half_depth=int8.reduction_half_depth if int8 else half_depth,
        stream_ceiling={k: s.value for k, s in cm.stream_ceiling.items()},
        op_gelems=op_rates(profile, backend, threads),
        weight_share={kind: share.value for kind, share in profile.runtime(backend).weight_share.items()},
        large_depthwise=large_depthwise(profile, backend, threads),
        plain_depthwise=plain_depthwise(profile, backend, threads),
        plain_reads=plain_reads(profile, backend, threads),
        plain_layout={kind: share.value for kind, share in profile.runtime(backend).plain_layout.items()},
        depthwise_stream=depthwise_stream(profile, backend, threads),
        depthwise_reads=depthwise_reads(profile, backend, threads),
        wide_depthwise=wide_depthwise(profile, backend, threads),
        large_maps=large_maps(profile, backend, threads),
        large_map_kinds=frozenset(large.kinds) if (large := profile.runtime(backend).large_maps) else frozenset(),
        spill_scale=spill,
        overlaps_weights=backend in OVERLAPS_WEIGHTS,
        channel_scale=channel_scale(profile, backend, threads),
        int8=int8,
    )


def reread_bytes(taps: np.ndarray | float, bytes_per_elem: float) -> np.ndarray | float:
    """What a depthwise conv past its runtime's ``wide_depthwise`` reads again for each output: its window, its filter
    and its bias."""
    return (2 * taps + 1) * bytes_per_elem


def _index(priced_op: str) -> int:
    return PRICED.index(priced_op) if priced_op else -1


def _reads(kernel: Kernel) -> int:
    """The index into :data:`READS` of how ``kernel`` reads its weights (-1: a kind without weights)."""
    if kernel.one_pixel:
        return READS.index(WeightRead.ONE_PIXEL_CONV)
    return READS.index(KIND_READS[kernel.kind]) if kernel.kind in KIND_READS else -1


@dataclass(frozen=True)
class KernelTable:
    """The kernels of many networks as flat arrays, so estimates over a whole data set are one numpy pass."""

    network: np.ndarray  # index of the network each kernel belongs to
    kind: np.ndarray  # index into KINDS
    size: np.ndarray  # index into SIZES
    flops: np.ndarray
    lanes: np.ndarray  # share of the vector lanes on real channels
    depth: np.ndarray  # reduction depth of conv and linear kernels, 0 for the rest
    activations: np.ndarray  # activation elements read and written
    weights: np.ndarray  # weight elements read
    priced_op: np.ndarray  # index into PRICED of the op it computes at a rate of its own, -1 for none
    priced: np.ndarray  # that op's outputs (a window pool's window reads)
    alone: np.ndarray  # whether that op runs as a kernel of its own
    plain: np.ndarray  # a depthwise conv a channel-blocked runtime runs outside its blocked layout
    rows: np.ndarray  # output rows of a depthwise conv, 0 for the rest
    gated: np.ndarray  # channels a squeeze-excite gate's multiply scales, 0 for the rest
    reads: np.ndarray  # index into READS of how it reads its weights, -1 for a kernel without
    passes: np.ndarray  # times it reads its whole weights
    int8_role: np.ndarray  # what prices it at INT8 (quantized.Int8Role)
    networks: int

    @classmethod
    def of(cls, networks: Sequence[Sequence[Kernel]]) -> KernelTable:
        flat = [(i, k) for i, ks in enumerate(networks) for k in ks]
        return cls(
            network=np.array([i for i, _ in flat], dtype=np.int64),
            kind=np.array([KINDS.index(k.kind) for _, k in flat], dtype=np.int64),
            size=np.array([SIZES.index(k.size) for _, k in flat], dtype=np.int64),
            flops=np.array([k.flops for _, k in flat], dtype=np.float64),
            lanes=np.array([k.lanes_used for _, k in flat], dtype=np.float64),
            depth=np.array([k.reduction_depth for _, k in flat], dtype=np.float64),
            activations=np.array([k.activation_elems for _, k in flat], dtype=np.float64),
            weights=np.array([k.weight_elems for _, k in flat], dtype=np.float64),
            priced_op=np.array([_index(k.priced_op) for _, k in flat], dtype=np.int64),
            priced=np.array([k.priced_elems for _, k in flat], dtype=np.float64),
            alone=np.array([k.alone for _, k in flat], dtype=bool),
            plain=np.array([k.plain for _, k in flat], dtype=bool),
            rows=np.array([k.rows for _, k in flat], dtype=np.float64),
            gated=np.array([k.gated for _, k in flat], dtype=np.float64),
            reads=np.array([_reads(k) for _, k in flat], dtype=np.int64),
            passes=np.array([k.weight_passes for _, k in flat], dtype=np.float64),
            int8_role=np.array([int8_role(k) for _, k in flat], dtype=np.int64),
            networks=len(networks),
        )

    def kernel_ms(self, p: CostParams) -> np.ndarray:
        """Each kernel's estimated milliseconds, its per-layer overhead included."""
        factor = np.array([[p.size_factor[k][s] for s in SIZES] for k in KINDS])
        eff = np.array([p.efficiency[k] for k in KINDS])[self.kind] * factor[self.kind, self.size]
        eff = np.clip(eff, 1e-9, 1.0)
        short = 1.0 + p.reduction_half_depth / np.maximum(self.depth, 1.0) * (self.depth > 0)
        compute = self.flops * short / (p.peak_gflops * eff * self.lanes * self._plain_share(p) * 1e6)
        depthwise = self.kind == KINDS.index(KernelKind.DEPTHWISE_CONV)
        outputs = self.flops / (2 * np.maximum(self.depth, 1.0))  # a depthwise conv's (its taps are its depth)
        act_bytes, weight_bytes = self.activations * p.bytes_per_elem, self.weights * p.bytes_per_elem
        if p.large_depthwise:
            taps, gflops = p.large_depthwise
            compute = np.where(depthwise & (self.depth > taps), self.flops / (gflops * 1e6), compute)
        if p.plain_depthwise:
            gflops, group_us = p.plain_depthwise
            channels = self.weights / np.maximum(self.depth, 1.0)  # a depthwise filter: one window per channel
            own = self.flops / (gflops * 1e6) + channels * group_us / 1e3
            if p.plain_reads:  # at least its input's read time: the bound of strided ones
                own = np.maximum(own, (self.activations - outputs) * p.bytes_per_elem / (p.plain_reads * 1e6))
            compute = np.where(self.plain & depthwise, own, compute)
        moves = np.where(self.alone & (self._rates(p) > 0), 1.0, eff)  # a rate prices an op alone's per-element cost
        fastest = p.caches[0][1] if p.caches else p.bandwidth_gbps
        ceiling = np.array([p.stream_ceiling.get(k, np.inf) for k in KINDS])[self.kind] * fastest
        issue = act_bytes / (ceiling * 1e6)  # a per-output cost, wherever the data sits
        if p.depthwise_stream:
            gouts, row_ns = p.depthwise_stream
            own = outputs / (gouts * 1e6) + self.rows * row_ns / 1e6
            if p.depthwise_reads:  # at least its input's read time: the bound of strided ones
                own = np.maximum(own, (self.activations - outputs) * p.bytes_per_elem / (p.depthwise_reads * 1e6))
            issue = np.where(depthwise, own, issue)
            moves = np.where(depthwise, 1.0, moves)  # the stream prices their per-output cost: data at full bandwidth
        if p.wide_depthwise:
            above_kb, gbps = p.wide_depthwise
            taps = np.maximum(self.depth, 1.0)
            per_output = reread_bytes(taps, p.bytes_per_elem)
            wide = depthwise & (self.weights / taps * (per_output + p.bytes_per_elem) > above_kb * 1024)  # + its output
            issue = np.where(wide, np.maximum(issue, outputs * per_output / (gbps * 1e6)), issue)
        fixed = p.overhead_per_layer_ms + self._spilled_ms(act_bytes, p)
        if not p.caches:
            memory = (act_bytes + weight_bytes) / (p.bandwidth_gbps * moves * 1e6)
            return self._priced(np.maximum.reduce([compute, memory, issue]), p) + fixed
        # between two reads of a weight, the network's weights and activation traffic pass through the caches
        passing = np.bincount(self.network, weights=weight_bytes + act_bytes, minlength=self.networks)
        memory = act_bytes * p.ns_per_byte(act_bytes, activations=True) / (moves * 1e6)
        share = np.array([*(p.read_share(r) for r in READS), 1.0])[self.reads]
        first, again = p.ns_per_byte(passing[self.network], share), p.ns_per_byte(weight_bytes, share)
        weights = weight_bytes * (first + (self.passes - 1) * again) / 1e6
        if p.overlaps_weights:
            return self._priced(np.maximum.reduce([compute, memory, issue, weights]), p) + fixed
        return self._priced(np.maximum.reduce([compute, memory, issue]), p) + weights + fixed

    def _spilled_ms(self, act_bytes: np.ndarray, p: CostParams) -> np.ndarray | float:
        """What a kernel's activations past the runtime's ``large_maps`` add: their bytes at its rate (for the kinds
        it names, where it names some)."""
        if not p.large_maps:
            return 0.0
        above_mb, gbps = p.large_maps
        spilled = np.maximum(0.0, act_bytes - above_mb * 1e6) / (gbps * 1e6) * p.spill_scale
        if not p.large_map_kinds:
            return spilled
        return np.where(np.isin(self.kind, [KINDS.index(k) for k in p.large_map_kinds]), spilled, 0.0)

    def _priced(self, ms: np.ndarray, p: CostParams) -> np.ndarray:
        """``ms`` with the runtime's own prices: its squeeze-excite gates' in place of it, its rated ops' on top, and
        its INT8 kernels' at INT8 in place of those."""
        if p.channel_scale:
            gouts, channel_ns = p.channel_scale
            ms = np.where(self.gated > 0, self.flops / (gouts * 1e6) + self.gated * channel_ns / 1e6, ms)
        ms = self._with_priced_ops(ms, p)
        return int8_ms(self, ms, p.int8) if p.int8 else ms

    def _with_priced_ops(self, ms: np.ndarray, p: CostParams) -> np.ndarray:
        """``ms`` with the cost of the ops priced at a rate: a floor for one that runs alone, added to the time of
        the kernel one is fused into."""
        rates = self._rates(p)
        cost = np.divide(self.priced, rates * 1e6, out=np.zeros_like(ms), where=rates > 0)
        return np.where(self.alone, np.maximum(ms, cost), ms + cost)

    def _rates(self, p: CostParams) -> np.ndarray:
        """Each kernel's rate for the op it prices at a rate of its own, in elements per ns (0: none); a window pool
        off the channel block's at the runtime's share for those."""
        known = [p.op_gelems.get(name, 0.0) for name in PRICED]
        pools = self.kind == KINDS.index(KernelKind.POOLING)
        return np.array([*known, 0.0])[self.priced_op] * np.where(pools, self._plain_share(p), 1.0)  # -1: no rate

    def _plain_share(self, p: CostParams) -> np.ndarray:
        """Each kernel's share of its rate: the runtime's ``plain_layout`` share for its kind off the channel block,
        else 1."""
        return np.where(self.plain, np.array([p.plain_layout.get(k, 1.0) for k in KINDS])[self.kind], 1.0)

    def gmacs(self) -> np.ndarray:
        """Each network's multiply-adds, in billions."""
        return np.bincount(self.network, weights=self.flops, minlength=self.networks) / 2e9

    def network_ms(self, p: CostParams) -> np.ndarray:
        """Each network's estimated milliseconds."""
        per_net = np.bincount(self.network, weights=self.kernel_ms(p), minlength=self.networks)
        return per_net + p.overhead_per_network_ms


@dataclass(frozen=True)
class Estimate:
    """A cost-model latency with its parts and the provenance of its parameters."""

    latency_ms: float
    kernels: tuple[tuple[Kernel, float], ...]  # (kernel, ms) in graph order
    overhead_ms: float
    provenance: str
    source: Source = Source.ESTIMATED


def estimate(kernels: Sequence[Kernel], params: CostParams) -> Estimate:
    """Estimate one network from its kernels."""
    per_kernel = KernelTable.of([kernels]).kernel_ms(params)
    total = float(per_kernel.sum()) + params.overhead_per_network_ms
    parts = tuple(zip(kernels, (float(ms) for ms in per_kernel), strict=True))
    return Estimate(total, parts, params.overhead_per_network_ms, params.provenance)
