"""The kernel vocabulary of standard edge networks: what each kernel the cost model prices is, in the terms
``predict --json`` names it by (:func:`edgebench.costmodel.kernels.kernels` gives each kernel its role)."""

from __future__ import annotations

from edgebench.types import KernelKind

#: What a kernel that starts with each op is, as the cost model prices it (convolutions, linear layers and multiplies
#: are named more closely where the kernels are read). An op outside it is priced as a plain data stream, a guess that
#: ``predict --json`` flags as ``generic``.
ROLES = {
    "Gemm": "fully connected", "MatMul": "fully connected", "ConvTranspose": "transposed convolution",
    "MaxPool": "max pooling", "AveragePool": "average pooling", "GlobalAveragePool": "global pooling",
    "GlobalMaxPool": "global pooling", "ReduceMean": "global pooling", "ReduceMax": "global pooling",
    "Add": "add", "Sum": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide",
    "Concat": "concatenation", "Split": "channel split", "Slice": "slice", "Transpose": "transpose (channel shuffle)",
    "Resize": "resize", "Upsample": "resize", "Pad": "pad", "BatchNormalization": "batch norm (not folded)",
    "Relu": "relu", "Clip": "clip (relu6)", "LeakyRelu": "leaky relu", "PRelu": "prelu", "Elu": "elu", "Selu": "selu",
    "Sigmoid": "sigmoid", "HardSigmoid": "hard-sigmoid", "HardSwish": "hard-swish", "Tanh": "tanh",
    "Softmax": "softmax", "Gelu": "gelu",
}  # fmt: skip
#: A channel shuffle whose input is a concatenation of conv or pool outputs alone (ShuffleNet V2's strided units'):
#: a runtime keeping those ops channels-last (ONNX Runtime's INT8 graph) transposes the concatenation back to NCHW in
#: the shuffle's own transpose, which then moves the channel axis and gathers element by element.
SHUFFLE_OF_MAPS = "transpose (channel shuffle of concatenated conv or pool outputs)"
#: A 1x1 conv on a one-pixel map, as squeeze-excite blocks run their two layers: its weight reads are its cost.
ONE_PIXEL_CONV = "pointwise convolution on one pixel (squeeze-excite's: a batch-1 GEMV, bound by its weight bytes)"
CONV_ROLES = {
    KernelKind.CONV: "convolution", KernelKind.POINTWISE_CONV: "pointwise convolution",
    KernelKind.DEPTHWISE_CONV: "depthwise convolution", KernelKind.GROUPED_CONV: "grouped convolution",
}  # fmt: skip
#: The kernels a channel-blocked runtime leaves in the plain layout, by kind (ONNX Runtime): convs of channels no
#: multiple of 4, depthwise ones run channel by channel, dense ones reading 16 channels or more as im2col and a GEMM
#: over pixel vectors; window pools of channels no multiple of the block.
PLAIN_ROLES = {
    **{kind: f"{CONV_ROLES[kind]} off the channel block ({how}; a multiple of 4 is blocked)" for kind, how in (
        (KernelKind.DEPTHWISE_CONV, "run channel by channel"), (KernelKind.POINTWISE_CONV, "a GEMM"),
        (KernelKind.CONV, "im2col and a GEMM"))},
    KernelKind.POOLING: "window pooling off the channel block (its channels no multiple of the block)",
}  # fmt: skip
