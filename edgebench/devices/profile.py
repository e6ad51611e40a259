"""DeviceProfile: what a device runs, how to reach it, and its cost-model parameters with provenance."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from itertools import pairwise
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from edgebench.devices.int8 import Int8Kernels
from edgebench.devices.local import gemm_rows, nchwc_block
from edgebench.devices.overheads import Overheads
from edgebench.devices.sourced import PositiveSourced, Sourced, Strict
from edgebench.exceptions import UnsupportedError
from edgebench.spelling import option
from edgebench.types import FUSIBLE_ACTIVATIONS, IN_PLACE_OPS, PRICED_OPS, KernelKind, Precision, SizeClass, WeightRead

#: Runtimes a profile may name. TensorRT is a real Jetson runtime edgebench estimates but does not drive.
KNOWN_RUNTIMES = ("onnxruntime", "openvino", "tflite", "tensorrt")


#: A runtime may read a kind's weights faster than the probed stream (a cache-friendlier order), but not by more.
MAX_WEIGHT_SHARE = 4.0


class LargeDepthwise(Strict):
    """Where a runtime's fast depthwise kernels stop: one over ``above_taps`` taps (kernel height x width) runs on a
    slower path, at ``gflops`` on one core (LiteRT 2.x on an AVX2 CPU: 3x3 and 5x5 depthwise convs at 26-41 GFLOP/s,
    7x7 and 9x9 at 3.4-3.6)."""

    above_taps: int = Field(ge=1)
    gflops: PositiveSourced


class WideDepthwise(Strict):
    """Where a channels-last runtime's depthwise convs outgrow the first cache level: past ``above_kb`` KB of taps and
    weights per output pixel (channels x (2 x taps + 2) x element bytes: a pixel's window, its filters and biases), each
    output re-reads its taps and weights, at ``gbps`` on one core (LiteRT 2 on an AVX-512 Zen 4, 32 KB of L1 data
    cache: 3x3 depthwise convs at 0.44-0.46 ns an output to 384 channels, 0.55 at 480, 0.66-0.83 from 576; 5x5 ones at
    1.2-1.3 ns to 144 channels, 1.55-1.85 from 240)."""

    above_kb: PositiveSourced
    gbps: PositiveSourced


class LargeMaps(Strict):
    """Where a runtime's kernels stream their activations slower than the caches allow: the bytes a kernel reads and
    writes past ``above_mb`` MB come at ``gbps`` on one core, on top of its time, not under its compute (on an AVX-512
    Zen 4 with 16 MB of L3 a VM, 16 -> 96 -> 16 1x1 conv pairs ran 60 ns a pixel to 112x112 and 120 at 224x224 on
    OpenVINO, 58 and 84 on LiteRT: about 10 and 21 GB/s past 8 MB). ``kinds``: the kernel kinds that stream so, where
    not all do (ONNX Runtime's channel-blocked 1x1 convs kept 56-57 ns a pixel to 256x256 where its 3x3 depthwise convs
    of 48 channels went from 9-12 up to 160x160 to 14-32 at 224x224 and 256x256: the memory-bound kinds); empty for
    every kind."""

    above_mb: PositiveSourced
    gbps: PositiveSourced
    kinds: tuple[KernelKind, ...] = ()


class DepthwiseStream(Strict):
    """What a runtime's depthwise convs cost per output, where it differs from the stream ceiling the device's probe
    sets: ``gouts`` billions of outputs a second on one core, plus ``row_ns`` nanoseconds per output row (channel x
    height) of setting up the row's edges and loop (ONNX Runtime 1.x on an AVX2 CPU: 3x3 depthwise convs ran at
    0.8 billion outputs a second on 4x4 maps and 2.7 on 112x112 ones; LiteRT and OpenVINO at 1.9-2.3 at every
    width). ``input_gbps``, where stated: the GB/s of one core at which they read their input at the least, the
    bound of strided ones, which read four inputs an output at stride 2 (on an AMD EPYC, Zen 4: ONNX Runtime's read
    50-53 GB/s of input from 28x28 to 112x112 maps, 1.6 times their stride-1 cost per output; OpenVINO's 40-43)."""

    gouts: PositiveSourced
    row_ns: Sourced
    input_gbps: PositiveSourced | None = None


class PlainDepthwise(Strict):
    """How a channel-blocked runtime runs a depthwise conv outside its blocked layout (channels it cannot block):
    channel by channel, ``group_us`` microseconds each plus the taps at ``gflops``, on one core (ONNX Runtime 1.x on
    an AVX2 CPU: 58 channels at 28x28 took 119 µs, 5.6 times the 56-channel conv's 21 µs on its blocked kernel).
    ``input_gbps``, where stated: the GB/s at which a strided one reads its input at the least (ONNX Runtime 1.31 on
    an AVX-512 Zen 4 copies every window out before a GEMM: 58 channels at stride 2 from 112x112, 56x56 and 28x28 read
    3.6-4.1 GB/s of input, 0.31-0.69 of the stride-1 price of their outputs)."""

    gflops: PositiveSourced
    group_us: Sourced
    input_gbps: PositiveSourced | None = None


class ChannelScale(Strict):
    """What a runtime's multiply of a map by a per-channel gate the network computes (a squeeze-excite gate, [1, C,
    1, 1] broadcast over the map) costs on one core: ``gouts`` billions of outputs a second plus ``channel_ns``
    nanoseconds per channel (ONNX Runtime 1.x on an AVX2 CPU: 8.0 G outputs/s + 15.7 ns a channel, 15 µs for a
    960x4x4 gate where the stream price said 2)."""

    gouts: PositiveSourced
    channel_ns: Sourced


#: The kinds a runtime's ``plain_layout`` prices (its depthwise convs have ``plain_depthwise``).
PLAIN_KINDS = frozenset({KernelKind.CONV, KernelKind.POINTWISE_CONV, KernelKind.POOLING})
#: The ops a runtime's ``fuses`` and ``in_place`` may name, and how a profile naming another is refused.
_OP_LISTS = {
    "fuses": (FUSIBLE_ACTIVATIONS, "cannot fuse {}; fusible: {}"),
    "in_place": (IN_PLACE_OPS, "cannot run {} in place; can: {}"),
}


class Runtime(Strict):
    """A backend the device really runs, at which precisions, and in which activation layout.

    ``channel_block`` > 1 is a runtime that keeps activations in blocks of that many channels (ONNX Runtime's NCHWc on
    x86); ``auto`` takes the block this machine's CPU gets (only for the local host). ``output_block`` > 1 is one that
    keeps them channels-last, reorders NCHW graph inputs into that layout, and computes a conv's output channels that
    many at a time, the vector width (OpenVINO's oneDNN convs on x86: ``auto``, 16 with AVX-512; on one Zen 4, a 1x1
    conv to 24 channels took as long as one to 32, and a 3x224x224 input's reorder 0.11 ms; XNNPACK's GEMM convs, 16 on
    x86 and 8 on Arm). ``pixel_block`` > 1 is one whose dense and 1x1 convs compute that many output pixels at a time,
    padding the last tile (XNNPACK's ``mr``: 7 with AVX-512, 5 with FMA3, 6 on a Cortex-A76, 4 on a Cortex-A72; ``auto``
    on the local host; :func:`~edgebench.costmodel.layouts.rows_used`).
    ``device`` is the runtime's
    own name for the processor (OpenVINO: CPU, MYRIAD, GPU); only CPU is timed here, others through the device's agent.
    ``op_gelems``: billions of elements per second one core computes of an op of ``PRICED_OPS`` as this runtime runs it
    (an activation fused or alone, a transpose; a window pool's window reads), in place of the cost model's
    ``exp_gelems`` and stream price (OpenVINO's fused swish ran at 0.9 and its channel shuffle at 0.6 against ONNX
    Runtime's sigmoid's 2.2 on one AVX2 CPU; 3x3 pools read about 20 billion window taps a second where the stream price
    allowed twice that). ``weight_share``: the share of the bandwidth at which this runtime's kernels of a kind read the
    weights that do not fit the first cache level, from the levels past it and memory (on one AVX2 CPU, ONNX Runtime's
    blocked 3x3 conv read a 9.4 MB filter at 0.43 of the memory's, LiteRT's 3x3 and 1x1 convs at about half; on an
    AVX-512 Xeon, ONNX Runtime's 1x1 convs at 3.2 times it: their reads hide behind the compute); ``one_pixel_conv`` is
    1x1 convs on a one-pixel map, squeeze-excite's layers, batch-1 GEMVs with no compute to hide behind (on an AVX-512
    Zen 4, OpenVINO's streamed 15-16 GB/s where its linear layers of the same shapes streamed 22-23: a share of 0.44).
    ``large_depthwise``: the kernel area past which its depthwise convs run on a slower path, and that path's rate.
    ``plain_depthwise``: how a runtime with a ``channel_block`` runs the depthwise convs it cannot block.
    ``plain_layout``: by kind (``conv``, ``pointwise_conv``, ``pooling``), the share of its blocked rate at which such
    a runtime runs the kernels it leaves in the plain layout: dense convs as im2col and a GEMM whose output pixels pad
    to whole vectors of ``channel_block`` floats (ONNX Runtime 1.31 on an AVX-512 Zen 4, with a bias and a ReLU: 1x1
    convs of 58, 118 and 234 channels at 0.77-0.85, 0.88-0.94 and 0.92-1.0 of the price of blocked ones from 7x7 to
    56x56 maps, pixels padded, where it was 0.59-0.93 without; 3x3 ones at 0.7-0.86), window pools' window reads (3x3
    max pools of 24, 30 and 58 channels at 0.34-0.35 of the price of 32- and 64-channel ones, which kept 0.98-1.02).
    ``depthwise_stream``: its depthwise convs' cost per output and per output row, in place of the device's depthwise
    ``stream_ceiling``. ``wide_depthwise``: where its depthwise convs re-read each output's taps and weights.
    ``large_maps``: where its kernels' activations outgrow the caches it streams them from.
    ``filter_pass``: what one pass of a ``channel_block`` runtime's conv over its input costs, in output blocks' worth
    of work (ONNX Runtime's NCHWc kernels compute four output blocks a pass: 6 on an AVX2 Zen 2, whose 16-channel convs
    ran at 0.35 of a 64-channel conv's rate; 0.5 on an AVX-512 Xeon, 0.76). ``conv_gflops``: the rate one core of this
    runtime computes a dense 3x3 conv at (64 channels at 32x32), in place of the device's conv efficiency (on an AVX-512
    Xeon, LiteRT's ran at 128 GFLOP/s where ONNX Runtime's, which sets the peak, ran at 179). ``channel_scale``: what
    its squeeze-excite gates cost, in place of the stream price. ``cache_gbps``: by the name of a cache level past the
    first, the bandwidth at which this runtime streams activations held there, in place of the level's (which its weight
    reads set: ONNX Runtime on one AVX2 CPU streamed a 4 MB ReLU through L3 at 68 GB/s, where weights came from it at
    40). ``in_place``: the ops of ``IN_PLACE_OPS`` it runs without a kernel of their own, their producers writing
    straight into their output (TensorRT eliminates concatenations so; ONNX Runtime, LiteRT and OpenVINO's CPU plugin
    copy them). ``int8``: its INT8 kernels that the FP32 ones at the INT8 peak misprice (:class:`Int8Kernels`).
    ``overheads``: what its kernels and inference calls cost beyond their work (:class:`Overheads`)."""

    backend: str
    precisions: tuple[Precision, ...] = Field(min_length=1)
    channel_block: int | Literal["auto"] = 1
    output_block: int | Literal["auto"] = 1
    pixel_block: int | Literal["auto"] = 1
    device: str = Field(default="CPU", pattern=r"^[A-Z][A-Z0-9_.]{0,31}$")
    fuses: tuple[str, ...] | None = None  # activations run in the conv before them (default: the runtime's own)
    in_place: tuple[str, ...] | None = None  # ops run without a kernel of their own (default: the runtime's own)
    op_gelems: dict[str, Sourced] = Field(default_factory=dict)
    weight_share: dict[WeightRead, Sourced] = Field(default_factory=dict)
    large_depthwise: LargeDepthwise | None = None
    plain_depthwise: PlainDepthwise | None = None
    plain_layout: dict[KernelKind, PositiveSourced] = Field(default_factory=dict)
    depthwise_stream: DepthwiseStream | None = None
    wide_depthwise: WideDepthwise | None = None
    large_maps: LargeMaps | None = None
    filter_pass: Sourced | None = None
    conv_gflops: PositiveSourced | None = None
    channel_scale: ChannelScale | None = None
    cache_gbps: dict[str, PositiveSourced] = Field(default_factory=dict)
    int8: Int8Kernels | None = None
    overheads: Overheads | None = None

    @field_validator("op_gelems")
    @classmethod
    def _rates(cls, v: dict[str, Sourced]) -> dict[str, Sourced]:
        unknown = sorted(set(v) - PRICED_OPS)
        if unknown or any(r.value <= 0 for r in v.values()):
            raise ValueError(
                f"op_gelems maps ops ({', '.join(sorted(PRICED_OPS))}) to positive rates"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        return v

    @field_validator("weight_share")
    @classmethod
    def _shares(cls, v: dict[WeightRead, Sourced]) -> dict[WeightRead, Sourced]:
        if any(not 0 < r.value <= MAX_WEIGHT_SHARE for r in v.values()):
            raise ValueError(f"weight_share maps kernel kinds to shares in (0, {MAX_WEIGHT_SHARE:g}]")
        return v

    @field_validator("plain_layout")
    @classmethod
    def _plain_kinds(cls, v: dict[KernelKind, PositiveSourced]) -> dict[KernelKind, PositiveSourced]:
        other = sorted(k.value for k in set(v) - PLAIN_KINDS)
        if other:
            raise ValueError(f"plain_layout maps {', '.join(sorted(k.value for k in PLAIN_KINDS))} to shares; "
                             f"unknown: {', '.join(other)}")  # fmt: skip
        return v

    @field_validator("fuses", "in_place")
    @classmethod
    def _known_ops(cls, v: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        known, refusal = _OP_LISTS[str(info.field_name)]
        unknown = sorted(set(v or ()) - set(known))
        if unknown:
            raise ValueError(refusal.format(", ".join(unknown), ", ".join(known)))
        return v

    @field_validator("channel_block", "output_block", "pixel_block")
    @classmethod
    def _positive(cls, v: int | str, info: ValidationInfo) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"{info.field_name} must be 'auto' or an integer >= 1")
        return v

    @model_validator(mode="after")
    def _blocked_only(self) -> Runtime:
        for name in ("plain_depthwise", "plain_layout", "filter_pass"):
            if getattr(self, name) not in (None, {}) and self.channel_block == 1:
                raise ValueError(f"{name} is for a runtime with a channel_block (> 1 or auto); remove it")
        return self

    @field_validator("backend")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in KNOWN_RUNTIMES:
            raise ValueError(f"unknown runtime '{v}', expected one of {', '.join(KNOWN_RUNTIMES)}")
        return v


class AgentConnection(Strict):
    """A remote measurement agent running on the device."""

    agent: str = Field(pattern=r"^https?://")
    token_env: str = "EDGEBENCH_AGENT_TOKEN"
    timeout_s: float = Field(default=600.0, gt=0)  # one request, including the agent's timing
    retries: int = Field(default=5, ge=0)  # while the agent is down or busy, with doubling waits from 1 s


#: A runtime's blocks, each with how ``auto`` reads this machine's CPU.
BLOCKS: dict[str, Callable[[], int]] = {"channel_block": nchwc_block, "output_block": nchwc_block,
                                        "pixel_block": gemm_rows}  # fmt: skip


def _fractions(v: dict[KernelKind, float]) -> dict[KernelKind, float]:
    bad = [str(k) for k, e in v.items() if not 0 < e <= 1]
    if bad:
        raise ValueError(f"efficiency must be in (0, 1] for {', '.join(bad)}")
    return v


class FitError(Strict):
    """How well a calibration predicts networks it was not fitted on (nn-Meter's metrics)."""

    networks: int = Field(ge=1)
    rmspe_pct: float = Field(ge=0)
    within_10_pct: float = Field(ge=0, le=100)
    kendall_tau: float = Field(ge=-1, le=1)


class Calibration(Strict):
    """Cost-model parameters fitted on end-to-end measurements of one backend at one precision."""

    backend: str
    precision: Precision
    threads: int = Field(ge=1)
    fitted_on: str = Field(min_length=1)
    date: datetime.date
    efficiency: dict[KernelKind, float] = Field(min_length=1)
    size_factor: dict[KernelKind, dict[SizeClass, float]] = Field(default_factory=dict)
    overhead_per_layer_ms: float = Field(ge=0)
    overhead_per_network_ms: float = Field(ge=0)
    spill_scale: float = Field(default=1.0, gt=0)  # the runtime's ``large_maps`` spill, slower over 1 (1: none seen)
    held_out: FitError

    @field_validator("efficiency")
    @classmethod
    def _fractions(cls, v: dict[KernelKind, float]) -> dict[KernelKind, float]:
        return _fractions(v)


class CacheLevel(Strict):
    """An on-chip cache as the cost model sees it: a stream that fits in it is read at its bandwidth."""

    name: str
    size_mb: PositiveSourced
    bandwidth_gbps: PositiveSourced


class CostModel(Strict):
    """Roofline priors with provenance: a kernel takes max(flops / (peak x eff), bytes / (bandwidth x eff)) plus a
    fixed per-layer overhead, where eff = efficiency[kind] (times a per-kind size-class factor that calibration
    fits, 1 before it); a network adds a fixed per-network overhead. ``peak_gflops`` is the whole device's (all
    ``cores``); at fewer threads it is scaled down, each thread past the first adding ``parallel_efficiency`` of a
    core. ``calibrations`` hold parameters fitted on measurements, per backend and precision.

    Optional refinements, for devices whose caches and vector units have been probed:

    - ``caches`` (smallest first): a kernel's activations are read at the bandwidth of the level they fit in,
      and its weights, which a network cycles through once per inference, at the level the network's whole
      weights and activation traffic fit in (all of it passes through the caches between two reads of a weight:
      MobileNetV3-Large's squeeze-excite weights were read at memory speed in ONNX Runtime's per-node profile,
      its 22 MB of weights alone would have put two thirds of them in a 16 MB L3), added to the kernel's time
      rather than overlapped with it (as ONNX Runtime's per-node profiles of large-weight layers show). Without
      caches, all bytes are read at ``memory_bandwidth_gbps``.
    - ``reduction_half_depth`` K0: a conv or linear kernel of reduction depth K (multiply-adds per output) runs
      at K / (K + K0) of its efficiency, since short reductions spend more of their time loading and storing
      accumulators.
    - ``stream_ceiling`` per kind: the share of the fastest level's bandwidth (the first cache's, else memory's)
      at which the kind's kernels move their activations at best, wherever the data sits; a floor for kernels
      bound by a per-output cost rather than by FLOPs or bandwidth (ONNX Runtime's 3x3 depthwise conv, while its
      5x5 one is compute-bound). Calibration does not fit it.
    - ``exp_gelems``: billions of elements per second one core computes of an exp-based activation (sigmoid,
      tanh, swish, softmax, ELU, GELU): a standalone one takes at least its elements at this rate, and one fused
      into a conv adds them to the conv's time (ONNX Runtime's sigmoid ran at a quarter of its ReLU's rate on an
      AVX2 CPU). Without it they cost what their bytes do. Calibration does not fit it."""

    peak_gflops: dict[Precision, Sourced] = Field(min_length=1)
    memory_bandwidth_gbps: PositiveSourced
    caches: tuple[CacheLevel, ...] = ()
    reduction_half_depth: Sourced | None = None
    exp_gelems: Sourced | None = None
    efficiency: dict[KernelKind, Sourced] = Field(min_length=1)
    stream_ceiling: dict[KernelKind, Sourced] = Field(default_factory=dict)
    overhead_per_layer_ms: Sourced
    overhead_per_network_ms: Sourced
    cores: int = Field(default=1, ge=1)
    parallel_efficiency: Sourced | None = None
    calibrations: tuple[Calibration, ...] = ()

    @field_validator("peak_gflops")
    @classmethod
    def _peaks(cls, v: dict[Precision, Sourced]) -> dict[Precision, Sourced]:
        for precision, peak in v.items():
            if peak.value <= 0:
                raise ValueError(f"the {precision} peak must be > 0 GFLOP/s, not {peak.value}")
        return v

    @field_validator("efficiency", "stream_ceiling")
    @classmethod
    def _fractions(cls, v: dict[KernelKind, Sourced]) -> dict[KernelKind, Sourced]:
        _fractions({k: s.value for k, s in v.items()})
        return v

    @model_validator(mode="after")
    def _complete(self) -> CostModel:
        missing = [str(k) for k in KernelKind if k not in self.efficiency]
        if missing:
            raise ValueError(f"efficiency needs every kernel kind; missing: {', '.join(missing)}")
        if self.cores > 1 and self.parallel_efficiency is None:
            raise ValueError("parallel_efficiency is required when cores > 1")
        sizes = [c.size_mb.value for c in self.caches]
        if any(b <= a for a, b in pairwise(sizes)) or 0 in sizes:
            raise ValueError(f"caches must be listed smallest first with growing, non-zero sizes; got {sizes} MB")
        return self


class DeviceProfile(Strict):
    """One edge device as edgebench knows it, parsed strictly from ``devices/NAME.yaml``."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    kind: Literal["vpu", "cpu", "gpu"]
    processor: str
    runtimes: tuple[Runtime, ...] = Field(min_length=1)
    threads: int = Field(ge=1)
    channel_multiple: int = Field(default=1, ge=1)
    connection: Literal["local", "none"] | AgentConnection
    cost_model: CostModel

    @model_validator(mode="after")
    def _unique_runtimes(self) -> DeviceProfile:
        names = [r.backend for r in self.runtimes]
        if len(names) != len(set(names)):
            raise ValueError(f"runtimes lists a backend twice: {names}")
        return self

    @model_validator(mode="after")
    def _auto_block_here_only(self) -> DeviceProfile:
        auto = [r.backend for r in self.runtimes if any(getattr(r, name) == "auto" for name in BLOCKS)]
        if auto and self.connection != "local":
            raise ValueError(
                f"runtimes {', '.join(auto)}: a block of 'auto' reads this machine's CPU, not the device's; write "
                "the device's block (16 on AVX-512 x86, 8 on AVX2 x86, 1 on ARM and accelerators)"
            )
        return self

    @model_validator(mode="after")
    def _streams_name_caches(self) -> DeviceProfile:
        later = [c.name for c in self.cost_model.caches[1:]]
        for r in self.runtimes:
            unknown = sorted(set(r.cache_gbps) - set(later))
            if unknown:
                raise ValueError(
                    f"runtime {r.backend}: cache_gbps names {', '.join(unknown)}, not a cache level past the first of "
                    f"cost_model.caches ({', '.join(later) or 'none'})"
                )
        return self

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(r.backend for r in self.runtimes)

    def runtime(self, backend: str) -> Runtime:
        """The device's entry for ``backend``; raise UnsupportedError if it does not run it."""
        for r in self.runtimes:
            if r.backend == backend:
                return r
        raise UnsupportedError(
            f"device '{self.name}' does not run backend '{backend}'; it runs: {', '.join(self.backends)}"
        )

    def precisions(self, backend: str) -> tuple[Precision, ...]:
        """Precisions the device runs on ``backend``; raise UnsupportedError if it does not run it."""
        return self.runtime(backend).precisions

    def blocks(self, backend: str) -> dict[str, int]:
        """``backend``'s channel, output and pixel blocks on this device, ``auto`` as this machine's CPU gets them."""
        runtime = self.runtime(backend)
        return {name: auto() if getattr(runtime, name) == "auto" else getattr(runtime, name)
                for name, auto in BLOCKS.items()}  # fmt: skip

    def channel_block(self, backend: str) -> int:
        """The channel block ``backend``'s activation layout uses on this device (1: plain NCHW)."""
        return self.blocks(backend)["channel_block"]

    def output_block(self, backend: str) -> int:
        """The output channels ``backend``'s channels-last convs compute at once on this device (1: no such block)."""
        return self.blocks(backend)["output_block"]

    def pixel_block(self, backend: str) -> int:
        """The output pixels ``backend``'s GEMM convs compute at once on this device (1: no such tile)."""
        return self.blocks(backend)["pixel_block"]

    def filter_pass(self, backend: str) -> float | None:
        """What a pass of ``backend``'s blocked convs over their input costs on this device, where the profile says."""
        cost = self.runtime(backend).filter_pass
        return cost.value if cost else None

    def fuses(self, backend: str) -> tuple[str, ...] | None:
        """The activations ``backend`` runs in the conv before them on this device, if the profile states them."""
        return self.runtime(backend).fuses

    def in_place(self, backend: str) -> tuple[str, ...] | None:
        """The ops ``backend`` runs without a kernel of their own on this device, if the profile states them."""
        return self.runtime(backend).in_place

    def check_supports(self, backend: str, precision: Precision) -> None:
        """Raise UnsupportedError unless the device runs ``backend`` at ``precision``."""
        allowed = self.precisions(backend)
        if precision not in allowed:
            raise UnsupportedError(
                f"device '{self.name}' runs {backend} only at {', '.join(map(str, allowed))}, "
                f"not {precision}; choose {option('precision', allowed[0])}"
            )
