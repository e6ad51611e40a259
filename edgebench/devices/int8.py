"""What a runtime's INT8 kernels cost where its FP32 kernels at the INT8 peak do not say (a profile's ``int8``)."""

from __future__ import annotations

from pydantic import Field

from edgebench.devices.overheads import Overheads
from edgebench.devices.sourced import PositiveSourced, Sourced, Strict


class Int8Kernels(Strict):
    """A runtime's INT8 kernels that its FP32 ones at the INT8 peak misprice, each rate one core's, as
    :mod:`edgebench.costmodel.int8_probe` times them. On one AVX-512 Zen 4 core, ONNX Runtime 1.x ran its INT8 dense
    and 1x1 convs at 0.24-0.34 of their FP32 time, as the INT8 peak says, and the rest as follows.

    ``depthwise_gflops``: depthwise convs whose channels are a multiple of ``channel_multiple`` (32-52 GFLOP/s, no
    faster than at FP32); ``odd_depthwise_gflops``: the others (72-136 channels, 8 past a multiple of 16: 14-28
    GFLOP/s, 1.7-3x the time of the next multiple's). ``stem_ns``: nanoseconds per value a conv with at most
    :data:`~edgebench.costmodel.quantized.STEM_CHANNELS` input channels gathers (output pixels x input channels x
    taps), on top of its multiply-adds (a 3->16 3x3 stem at 224 px took 299 µs, 2.9 times its FP32 time);
    ``stem_pixel_ns``: nanoseconds per output pixel on top of that (ONNX Runtime's on a Zen 5 core: 11 a pixel and
    0.19 a value, so a 7x7 stem costs 2.4x a 3x3 one, not 5.4x; None where ``stem_ns`` alone was probed).
    ``pool_gelems``: window reads of an average pool (3x3: 0.63-0.73 ns each, 20-25 times FP32's). ``island_gelems``:
    elements of an op without an INT8 kernel, run in float between a dequantize and a quantize (a hard sigmoid; a
    ReLU whose input other kernels read too becomes a requantized copy). ``binary_gelems``: outputs of an INT8 add
    or multiply of two maps, a kernel of its own (the FP32 rules add a residual into the conv before it).
    ``concat_gelems``: outputs of a concatenation (0.15-0.3 ns each, as long as at FP32). ``shuffle_gelems``: elements
    of a transpose, a channel shuffle's or into the channels-last layout (0.4-0.5 ns each, 3x FP32's).
    ``reduction_half_depth``: K0 of its dense and 1x1 convs' rate R x K / (K + K0) by their reduction depth K, which
    INT8 convs depend on where FP32 ones did not (1x1 convs at 16 input channels 154 GOP/s, at 256 425; FP32 107-113
    at every depth).

    The four element rates (islands to shuffles) are stated for a runtime whose INT8 graph has kernels of its own
    there (ONNX Runtime's); None for one that keeps its FP32 graph's post-ops and copies, which the FP32 rules price
    (OpenVINO's CPU plugin: DenseNet-121's 56 concatenations took 0.2 ms, 2.5 at a rate probed as ONNX Runtime's is).
    ``gate_gelems``: elements of a squeeze-excite gate's multiply where the runtime runs it on a planar map between
    two reorders (OpenVINO's CPU plugin on one Zen 5 core: a gate added 0.8-1 ns an element after a depthwise conv,
    as standard networks place it, and 0.18-0.24 after a 1x1 conv); None where the adds' rate prices it.
    ``gather_gelems``: elements of a channel shuffle of concatenated conv outputs, which ONNX Runtime's INT8 graph
    keeps channels-last and transposes back to NCHW in the shuffle's own transpose, element by element (one Zen 5
    core: 2.3-2.5 ns an element, 0.05-0.2 for a shuffle after a split; ShuffleNet V2's three strided units' shuffles
    took 0.35 ms of its 1.7); None where ``shuffle_gelems`` prices them. ``overheads``: its fixed costs at INT8
    (:class:`~edgebench.devices.overheads.Overheads`; None: the runtime's FP32 ones)."""

    depthwise_gflops: PositiveSourced
    odd_depthwise_gflops: PositiveSourced
    channel_multiple: int = Field(ge=1)
    stem_ns: PositiveSourced
    stem_pixel_ns: Sourced | None = None
    pool_gelems: PositiveSourced
    island_gelems: PositiveSourced | None = None
    binary_gelems: PositiveSourced | None = None
    concat_gelems: PositiveSourced | None = None
    shuffle_gelems: PositiveSourced | None = None
    gate_gelems: PositiveSourced | None = None
    reduction_half_depth: Sourced
    gather_gelems: PositiveSourced | None = None
    overheads: Overheads | None = None
