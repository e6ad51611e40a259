"""INT8 as a runtime runs it: the graph rules of its quantized kernels, and the prices of the kernels that its FP32
ones at the INT8 peak misprice, at the runtime's probed ``int8`` rates (:class:`~edgebench.devices.int8.Int8Kernels`).

Without those rates an INT8 estimate is the FP32 rules at the INT8 peak and byte width, which put ONNX Runtime's
standard families at 224 px at 0.34-0.97 of their INT8 time (one AVX-512 Zen 4 core): its depthwise convs are no
faster at INT8, its 3-channel stems and average pools far slower, and its adds and float ops kernels of their own.
OpenVINO's at 0.43-1.04 (one Zen 5 core): its graph stays its FP32 one, but its depthwise convs run in float between
reorders, its shallow convs slow down, and its squeeze-excite gates reorder their maps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import numpy as np

from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.kernels import KernelRules
from edgebench.costmodel.roles import SHUFFLE_OF_MAPS
from edgebench.devices.int8 import Int8Kernels
from edgebench.devices.sourced import PositiveSourced
from edgebench.types import KernelKind, Precision

#: What an INT8 estimate says of itself when neither fitted on INT8 measurements nor priced at the runtime's ``int8``
#: rates: on the host (session 36) the FP32 rules put the three runtimes' INT8 standard families at 224 px at
#: 0.13-1.06 of their time, 17-42 % within +-10 % after a fit.
INT8_RULES = "INT8 priced with the FP32 kernel rules, no quantize or dequantize kernels: expect it too fast"
#: A conv with at most this many input channels is a stem (an image's): INT8 runtimes gather its windows value by value.
STEM_CHANNELS = 4
#: Ops that an INT8 graph runs in float, between a dequantize and a quantize, where they are kernels of their own: the
#: activations ONNX Runtime's quantizer has no INT8 kernel for (its MobileNetV3s' 28-36 hard sigmoids ran so), and a
#: ReLU or clip not applied by the kernel before it (one whose input other kernels read too, a NAS-Bench-201 cell's,
#: became a dequantize and a quantize: a requantized copy).
ISLAND_OPS = frozenset({"HardSigmoid", "HardSwish", "Relu", "Clip", "LeakyRelu", "BatchNormalization", "Tanh"})
#: Elementwise ops of two maps, which an INT8 graph runs as kernels of their own (QLinearAdd, QLinearMul).
BINARY_OPS = frozenset({"Add", "Sub", "Mul", "Sum"})
#: The activations a runtime's INT8 convs apply as they requantize their output, by runtime, where its INT8 graph
#: differs from its FP32 one: ONNX Runtime's QLinearConv clamps a ReLU or clip into its output range, runs
#: channels-last (its input transposed into NHWC, no channel blocks, so a residual add is a kernel of its own), and
#: runs a swish as a sigmoid and a multiply.
INT8_FUSES = {"onnxruntime": frozenset({"Relu", "Clip"})}
#: The runtimes whose INT8 kernels :mod:`~edgebench.costmodel.int8_probe` times: ONNX Runtime's, and OpenVINO's CPU
#: plugin's, whose INT8 graph is its FP32 one (post-ops, elementwise chains, copies) but whose depthwise convs ran in
#: float between reorders and whose stems and shallow 1x1 convs took 2.5-6.6x what the INT8 peak prices (a Zen 5 core).
INT8_PROBED = frozenset({"onnxruntime", "openvino"})


class Int8Role(IntEnum):
    """What prices a kernel at INT8 where the runtime states ``int8`` rates."""

    OTHER = 0  # the FP32 rules at the INT8 peak and byte width
    STEM = 1
    DEPTHWISE = 2
    POOL = 3  # an average pool's window reads
    ISLAND = 4
    BINARY = 5
    CONCAT = 6
    SHUFFLE = 7  # a transpose: a channel shuffle's, or the layout's
    # ONNX Runtime's quantizer runs a hard swish as a hard sigmoid in float and an INT8 multiply: its MobileNetV3-Small
    # ran 28 hard sigmoids in float (9 gates, 19 from its hard swishes) and 19 INT8 multiplies besides its 9 gates'.
    HARD_SWISH = 8  # an island and a multiply
    GATE = 9  # a squeeze-excite gate's multiply: a binary op's, or its own where the runtime states one
    GATHER = 10  # a channel shuffle of channels-last maps (roles.SHUFFLE_OF_MAPS): its own rate, or a shuffle's


def int8_role(kernel: Kernel) -> Int8Role:
    """How ``kernel`` is priced at INT8 (:class:`Int8Role`)."""
    if kernel.kind is KernelKind.DEPTHWISE_CONV:
        return Int8Role.DEPTHWISE
    if kernel.kind in (KernelKind.CONV, KernelKind.POINTWISE_CONV) and 0 < kernel.in_channels <= STEM_CHANNELS:
        return Int8Role.STEM
    if kernel.priced_op == "AveragePool" and kernel.alone:
        return Int8Role.POOL
    if kernel.kind in (KernelKind.ACTIVATION, KernelKind.ELEMENTWISE) and kernel.ops[0] in ISLAND_OPS:
        return Int8Role.HARD_SWISH if kernel.ops[0] == "HardSwish" else Int8Role.ISLAND
    if kernel.kind is KernelKind.ELEMENTWISE and kernel.gated > 0:
        return Int8Role.GATE
    if kernel.kind is KernelKind.ELEMENTWISE and kernel.ops[0] in BINARY_OPS:
        return Int8Role.BINARY
    if kernel.kind is KernelKind.ELEMENTWISE and kernel.ops[0] == "Concat":
        return Int8Role.CONCAT
    if kernel.priced_op == "Transpose" and kernel.alone:
        return Int8Role.GATHER if kernel.role == SHUFFLE_OF_MAPS else Int8Role.SHUFFLE
    return Int8Role.OTHER


def int8_rules(rules: KernelRules, backend: str) -> KernelRules:
    """``rules`` (``backend``'s FP32 ones) as the runtime runs an INT8 graph (:data:`INT8_FUSES`)."""
    if backend not in INT8_FUSES:
        return rules
    return dataclasses.replace(
        rules, channel_block=1, channels_last=True, fuses=INT8_FUSES[backend], swish_kernel=False
    )


@dataclass(frozen=True)
class Int8Rates:
    """A runtime's ``int8`` rates at some number of threads (:class:`~edgebench.devices.int8.Int8Kernels`)."""

    depthwise_gflops: float
    odd_depthwise_gflops: float
    channel_multiple: int
    stem_ns: float
    pool_gelems: float
    island_gelems: float | None
    binary_gelems: float | None
    concat_gelems: float | None
    shuffle_gelems: float | None
    gate_gelems: float | None
    reduction_half_depth: float
    gather_gelems: float | None = None
    stem_pixel_ns: float = 0.0

    @classmethod
    def at(cls, stated: Int8Kernels | None, precision: Precision, cores: float) -> Int8Rates | None:
        """The stated rates (one core's) on ``cores`` cores' worth of threads, at INT8 where the runtime states
        them (else None)."""
        if stated is None or precision is not Precision.INT8:
            return None

        def rate(figure: PositiveSourced | None) -> float | None:
            return None if figure is None else figure.value * cores

        return cls(
            stated.depthwise_gflops.value * cores, stated.odd_depthwise_gflops.value * cores,
            stated.channel_multiple, stated.stem_ns.value / cores, stated.pool_gelems.value * cores,
            rate(stated.island_gelems), rate(stated.binary_gelems), rate(stated.concat_gelems),
            rate(stated.shuffle_gelems), rate(stated.gate_gelems), stated.reduction_half_depth.value,
            rate(stated.gather_gelems), stated.stem_pixel_ns.value / cores if stated.stem_pixel_ns else 0.0,
        )  # fmt: skip


class Kernels(Protocol):
    """The columns of a table of kernels the INT8 prices read (:class:`~edgebench.costmodel.model.KernelTable`)."""

    @property
    def int8_role(self) -> np.ndarray: ...
    @property
    def flops(self) -> np.ndarray: ...
    @property
    def depth(self) -> np.ndarray: ...
    @property
    def weights(self) -> np.ndarray: ...
    @property
    def activations(self) -> np.ndarray: ...
    @property
    def priced(self) -> np.ndarray: ...
    @property
    def gated(self) -> np.ndarray: ...


def int8_ms(table: Kernels, ms: np.ndarray, rates: Int8Rates) -> np.ndarray:
    """``ms`` (each kernel's FP32-rule price at INT8) with the INT8 rates in place of it: a depthwise conv's taps at
    its channels' rate, a stem's gather (by value and pixel) on top of its multiply-adds, an average pool's window
    reads, and where the runtime states their rates an island's, a binary op's or a gate's outputs, a
    concatenation's or a transpose's elements (a shuffle of channels-last maps at its own rate where stated; at
    least their price)."""
    role = table.int8_role
    taps = np.maximum(table.depth, 1.0)
    channels = table.weights / taps  # a depthwise filter: one window per channel
    odd = np.mod(np.round(channels), rates.channel_multiple) > 0
    pixels = table.flops / (2 * np.maximum(table.weights, 1.0))  # a conv's output pixels
    gathered = pixels * taps  # x input channels x window
    priced = {
        Int8Role.DEPTHWISE: table.flops / (np.where(odd, rates.odd_depthwise_gflops, rates.depthwise_gflops) * 1e6),
        Int8Role.STEM: ms + (gathered * rates.stem_ns + pixels * rates.stem_pixel_ns) / 1e6,
        Int8Role.POOL: table.priced / (rates.pool_gelems * 1e6),
    }
    half = table.activations / 2
    outputs = np.where(table.gated > 0, (table.activations - table.gated) / 2, table.activations / 3)  # of two maps
    elementwise = {  # each role's rate, and the elements it is paid on
        Int8Role.ISLAND: (rates.island_gelems, half),
        Int8Role.BINARY: (rates.binary_gelems, outputs),
        Int8Role.GATE: (rates.gate_gelems or rates.binary_gelems, outputs),
        Int8Role.CONCAT: (rates.concat_gelems, half),
        Int8Role.SHUFFLE: (rates.shuffle_gelems, table.priced),
        Int8Role.GATHER: (rates.gather_gelems or rates.shuffle_gelems, table.priced),
    }
    for kind, (rate, elems) in elementwise.items():
        if rate is not None:
            priced[kind] = np.maximum(ms, elems / (rate * 1e6))
    if rates.island_gelems is not None and rates.binary_gelems is not None:
        swish = half / (rates.island_gelems * 1e6) + half / (rates.binary_gelems * 1e6)
        priced[Int8Role.HARD_SWISH] = np.maximum(ms, swish)
    for kind, price in priced.items():
        ms = np.where(role == kind, price, ms)
    return ms
