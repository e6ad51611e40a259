"""Enumerations shared across edgebench: precisions, and where a latency or an accuracy came from."""

from __future__ import annotations

from enum import Enum


class Precision(str, Enum):
    """Numeric precision of a converted artifact."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"

    def __str__(self) -> str:
        return self.value


def precision_label(precision: str, compute: str = "") -> str:
    """``precision``, with what the runtime computed it at where that differs ("fp16, computed fp32")."""
    return f"{precision}, computed {compute}" if compute not in ("", precision) else precision


class Source(str, Enum):
    """Where a latency figure came from; every latency edgebench shows carries one."""

    MEASURED = "measured"  # timed on this machine by a real backend
    AGENT = "agent"  # timed on the device through the remote agent
    PREDICTED = "predicted"  # summed from a table of blocks or layers that were timed (measured or agent)
    ESTIMATED = "estimated"  # computed by the device profile's cost model

    @classmethod
    def of_sum(cls, table_source: str) -> Source:
        """What a latency summed from a table of ``table_source`` rows is: predicted from timed rows, else still
        the cost model's estimate."""
        return cls.ESTIMATED if table_source == cls.ESTIMATED.value else cls.PREDICTED

    def __str__(self) -> str:
        return self.value


class AccuracySource(str, Enum):
    """What an accuracy figure is the top-1 of; every accuracy edgebench shows carries one."""

    CONVERTED = "converted"  # the converted artifact, run by its backend (``edgebench run``)
    TRAINED = "trained"  # the PyTorch network after a full training (the final recipe or the given one)
    PROXY = "proxy"  # the PyTorch network after the proxy search's short training (a few epochs at low resolution)
    INHERITED = "inherited"  # the PyTorch network with weights inherited from the supernet, BatchNorm recalibrated
    FINETUNED = "fine-tuned"  # the PyTorch network fine-tuned from inherited or pruned weights
    ESTIMATED = "estimated"  # the accuracy predictor's, fitted on scored sub-networks: no network was scored

    def __str__(self) -> str:
        return self.value


class SearchMethod(str, Enum):
    """How a search estimates the accuracy of the architectures it weighs."""

    PROXY = "proxy"  # each candidate distilled for a few epochs at low resolution (NSGA-II, Optuna study)
    ONESHOT = "oneshot"  # the space's weight-sharing estimator, trained once and cached (once-for-all)

    def __str__(self) -> str:
        return self.value


class Status(str, Enum):
    """Outcome of one unit of work (a benchmark row, a candidate)."""

    COMPLETE = "COMPLETE"
    FAILED = "FAILED"  # with its reason
    INFEASIBLE = "INFEASIBLE"  # a search candidate predicted over budget, rejected before any training
    DUPLICATE = "DUPLICATE"  # a search candidate already trained in the study

    def __str__(self) -> str:
        return self.value


def parse_precision(value: str) -> Precision:
    """Parse 'fp32' / 'FP16' / 'int8' into a Precision, or raise UnknownNameError."""
    from edgebench.exceptions import UnknownNameError

    try:
        return Precision(value.lower())
    except ValueError:
        raise UnknownNameError("precision", value, [p.value for p in Precision]) from None


class KernelKind(str, Enum):
    """Kernel families a device cost model distinguishes (fused conv-bn-act counts as its conv)."""

    CONV = "conv"
    DEPTHWISE_CONV = "depthwise_conv"
    POINTWISE_CONV = "pointwise_conv"
    GROUPED_CONV = "grouped_conv"
    POOLING = "pooling"
    ELEMENTWISE = "elementwise"
    LINEAR = "linear"
    ACTIVATION = "activation"

    def __str__(self) -> str:
        return self.value


class WeightRead(str, Enum):
    """The kernels whose weight reads a runtime's ``weight_share`` prices: the kinds with weights, and 1x1 convs on a
    one-pixel map (squeeze-excite's layers), batch-1 GEMVs with no compute to hide their reads behind."""

    CONV = "conv"
    DEPTHWISE_CONV = "depthwise_conv"
    POINTWISE_CONV = "pointwise_conv"
    ONE_PIXEL_CONV = "one_pixel_conv"
    GROUPED_CONV = "grouped_conv"
    LINEAR = "linear"

    def __str__(self) -> str:
        return self.value


#: Activations a runtime may run in the kernel of the conv or linear layer before them (a profile's runtime lists
#: those it does as ``fuses``); ``Swish`` is x * sigmoid(x), a Sigmoid and a Mul, fused whole.
FUSIBLE_ACTIVATIONS = (
    "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "PRelu", "Swish",
)  # fmt: skip
#: Data-movement ops a runtime may run without a kernel of their own, its producers writing into their output (a
#: profile's runtime lists those it does as ``in_place``).
IN_PLACE_OPS = ("Concat",)
#: Activations that evaluate an exponential per element (a range reduction and a polynomial: tens of vector ops),
#: compute-bound on CPUs whether they run on their own or fused into a conv.
EXP_BASED = frozenset({"Sigmoid", "Tanh", "Elu", "Selu", "Softmax", "Gelu", "Erf", "Exp", "Swish"})
#: Ops with a per-element cost of their own that a cost model may price at a rate (a profile's runtime may state
#: its own rates for them): the exp-based activations, the piecewise-linear hard ones and the ReLU6 clamp (ONNX
#: Runtime's convs apply a fused Clip in a pass of their own, a fused Relu for free), fused into a conv or alone,
#: transposes (a strided gather, not a stream: a channel shuffle, a channels-last runtime's layout) and window pools
#: (a reduction over each output's window: their elements are the window reads, outputs x taps).
WINDOW_POOLS = frozenset({"AveragePool", "MaxPool"})
PRICED_OPS = EXP_BASED | WINDOW_POOLS | {"HardSwish", "HardSigmoid", "Transpose", "Clip"}


class SizeClass(str, Enum):
    """How much work a kernel does: small ones cannot fill the machine, large ones amortise their set-up."""

    SMALL = "small"  # under 2 MFLOP (1 M multiply-adds)
    MEDIUM = "medium"  # under 20 MFLOP
    LARGE = "large"

    def __str__(self) -> str:
        return self.value


#: Upper FLOP bounds of the small and medium classes (2 MFLOP = 1 M multiply-adds, 20 MFLOP = 10 M).
SIZE_BOUNDS = (2e6, 2e7)


def size_class(flops: float) -> SizeClass:
    if flops < SIZE_BOUNDS[0]:
        return SizeClass.SMALL
    return SizeClass.MEDIUM if flops < SIZE_BOUNDS[1] else SizeClass.LARGE
