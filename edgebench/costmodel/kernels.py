"""An ONNX graph as the kernels a runtime executes: fused conv-bn-act, add-act, pooling, linear, and the rest.

Runtimes fold BatchNorm into the convolution before it and run a following activation in the same kernel; shape
arithmetic and reshapes cost nothing (but a channels-last runtime transposes a map a reshape reads); identical nodes
on the same input are computed once; the layouts runtimes keep cost kernels of their own (:mod:`.layouts`).
:func:`kernels` applies those rules so that a cost model prices what the device really runs, node by node.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from math import prod
from pathlib import Path

import onnx
import torch
from onnx import shape_inference

from edgebench.costmodel.graph import GENERIC, Graph, Kernel, ints
from edgebench.costmodel.layouts import (
    FILTER_PASS_COST,
    LAYOUT_SENSITIVE,
    BlockedLayout,
    ChannelsLast,
    lanes_used,
    rows_used,
    weight_passes,
)
from edgebench.costmodel.rewrites import FOLDS_ZEROS, constants, cse, fold_zeros, live
from edgebench.costmodel.roles import CONV_ROLES, ONE_PIXEL_CONV, PLAIN_ROLES, ROLES, SHUFFLE_OF_MAPS
from edgebench.exceptions import ModelLoadError, UnsupportedOpError
from edgebench.model import from_module
from edgebench.types import FUSIBLE_ACTIVATIONS, PRICED_OPS, WINDOW_POOLS, KernelKind

WHERE = "edgebench's cost model"
ADVICE = "it prices the kernels of CNNs; remove the op from the model, or time the model with `edgebench bench`"

#: Ops that move no data (views and metadata) or that a runtime folds away (QDQ pairs around int8 kernels).
FREE = {
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Constant", "ConstantOfShape",
    "QuantizeLinear", "DequantizeLinear",
}  # fmt: skip
#: Ops that can run in the kernel of the conv, linear layer or add before them when they are its only consumer
#: (which of them a runtime does fuse is :data:`FUSES`; every runtime folds BatchNorm).
SWISH = "Swish"
SWISH_OPS = ("Sigmoid", "Mul")  # the ops of a swish that runs as a kernel of its own
FUSABLE = set(FUSIBLE_ACTIVATIONS) - {SWISH} | {"BatchNormalization"}
ACTIVATION = FUSABLE - {"BatchNormalization"} | {"Softmax", "Erf", "Gelu", "Exp", "Log", "Sqrt", "Neg", "Abs"}
#: The activations each runtime runs in the kernel of the conv or linear layer before it, on CPU, by default (a
#: profile's runtime may state its own ``fuses``). ONNX Runtime 1.31: its conv-activation fusion, and its NCHWc
#: conv takes HardSwish too (seen in an optimised MobileNetV3-Large); x * sigmoid(x) becomes a QuickGelu kernel of
#: its own. OpenVINO: post-ops fuse every elementwise activation, Swish included. LiteRT's XNNPACK: only the
#: ReLU and ReLU6 clamps; hard-swish and sigmoid are kernels of their own. TensorRT: pointwise fusion takes all.
FUSES: dict[str, frozenset[str]] = {
    "onnxruntime": frozenset({"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "Tanh", "HardSwish"}),
    "openvino": frozenset(FUSIBLE_ACTIVATIONS),
    "tflite": frozenset({"Relu", "Clip"}),
    "tensorrt": frozenset(FUSIBLE_ACTIVATIONS),
}

POOLING = {"AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"}
ELEMENTWISE = {
    "BatchNormalization", "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Concat", "Split", "Slice", "Pad",
    "Transpose", "Resize", "Upsample", "Cast", "Pow", "Where", "Expand", "Tile", "Gather",
}  # fmt: skip
LINEAR = {"Gemm", "MatMul"}
CONV = {"Conv", "ConvTranspose"}
#: Ops whose kernel also applies a following activation (but, unlike conv and linear, no BatchNorm).
ABSORB_ACT = {"Add", "Sum", "BatchNormalization"}
#: Binary ops that scale or shift a conv's output when their other operand is a constant (:func:`_scales`).
SCALE_OPS = {"Mul", "Add", "Sub", "Div"}
#: Ops a post-op runtime chains into one elementwise kernel (:func:`_snippet_step`).
SNIPPET = SCALE_OPS | (ACTIVATION & FUSABLE)


#: The kinds a runtime with a ``pixel_block`` runs as GEMMs over tiles of output pixels.
TILED = {KernelKind.CONV, KernelKind.POINTWISE_CONV}


def _conv(
    g: Graph, node: onnx.NodeProto, block: int, pass_cost: float, output_block: int, pixel_block: int
) -> tuple[KernelKind, float, int, str, float]:
    x, w, y = g.shape(node.input[0], node), g.shape(node.input[1], node), g.shape(node.output[0], node)
    (groups,) = ints(node, "group", [1])
    cin, cout, window = x[1], w[0], prod(w[2:])
    macs = prod(y) * (cin // groups) * window
    if groups > 1 and groups == cin:
        kind = KernelKind.DEPTHWISE_CONV
    elif groups > 1:
        kind = KernelKind.GROUPED_CONV
    else:
        kind = KernelKind.POINTWISE_CONV if window == 1 else KernelKind.CONV
    stride = ints(node, "strides", [1])[0]
    detail = f"{cin}x{'x'.join(map(str, x[2:]))} -> {cout}x{'x'.join(map(str, y[2:]))} k{w[2]} s{stride} g{groups}"
    lanes = lanes_used(kind, cin, cout, block, pass_cost, output_block)
    if kind in TILED:
        lanes *= rows_used(prod(y[2:]), pixel_block)
    return kind, 2.0 * macs, prod(w), detail, lanes


def _linear(g: Graph, node: onnx.NodeProto) -> tuple[float, int]:
    a, b = g.shape(node.input[0], node), g.shape(node.input[1], node)
    k = a[-2] if ints(node, "transA", [0])[0] else a[-1]
    out = prod(g.shape(node.output[0], node))
    weights = prod(b) if node.input[1] in g.consts else 0
    return 2.0 * out * k, weights


def _flops_per_elem(node: onnx.NodeProto, g: Graph) -> float:
    if node.op_type in ("AveragePool", "MaxPool"):
        return float(prod(ints(node, "kernel_shape", [1])))
    if node.op_type in ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"):
        return prod(g.shape(node.input[0], node)) / max(1, prod(g.shape(node.output[0], node)))
    return 1.0


#: Ops a folding converter still runs on constant inputs (it folds only elementwise ops computed from constants).
RUN_ON_CONSTANTS = CONV | POOLING | LINEAR


@dataclass(frozen=True)
class KernelRules:
    """What a runtime does to a graph before it runs it, as far as the cost model prices it.

    Attributes:
        channel_block: > 1 for a runtime that lays activations out in blocks of that many channels (ONNX Runtime's
            NCHWc on x86: 16 with AVX-512, 8 with AVX2): its convolutions work on channels padded to the block,
            add a residual ``Add`` (and the activation after it) into the conv before it, and a broadcasting binary
            op costs a reorder out of the layout and back. 1: plain NCHW.
        fuses: the activations it runs in the kernel of the conv, linear layer or add before them.
        filter_pass: what a pass of its blocked convs over their input costs, in output blocks' worth of work
            (None: :data:`FILTER_PASS_COST` for its block).
        swish_kernel: it runs an x * sigmoid(x) it does not fuse into the conv before it as one kernel of its own
            (:data:`SWISH_KERNEL`), not as a sigmoid and a multiply.
        folds_zeros: its converter folds multiplies by zero constants and what is computed from constants alone.
        channels_last: it keeps 4-D activations NHWC, transposing what only works on NCHW
            (:class:`~edgebench.costmodel.layouts.ChannelsLast`).
        folds_scales: it folds a multiply, add, subtract or divide by a constant of one value per channel (or one
            in all) that directly follows a conv into the conv's weights (:data:`FOLDS_SCALES`).
        post_ops: its convs apply such constant scales, a batch norm, one residual ``Add`` (accumulated into the
            other operand's buffer, so only where no later node reads it) and activations anywhere in their
            epilogue, and it chains elementwise ops into one kernel (:data:`POST_OPS`).
        output_block: > 1 for a runtime whose convs keep activations channels-last, unblocked, and compute that many
            output channels at a time, padding the last (OpenVINO's oneDNN: the vector width); it reorders inputs.
        pixel_block: > 1 for a runtime whose dense and 1x1 convs compute that many output pixels at a time, padding
            the last tile (XNNPACK's GEMMs, :func:`~edgebench.costmodel.layouts.rows_used`).
        in_place: the ops it runs without a kernel of their own, its producers writing into their output.
    """

    channel_block: int = 1
    fuses: frozenset[str] = frozenset(FUSIBLE_ACTIVATIONS)
    folds_zeros: bool = False
    channels_last: bool = False
    filter_pass: float | None = None
    swish_kernel: bool = False
    folds_scales: bool = False
    post_ops: bool = False
    output_block: int = 1
    in_place: frozenset[str] = frozenset()
    pixel_block: int = 1

    @classmethod
    def of(
        cls,
        backend: str | None,
        channel_block: int = 1,
        fuses: Collection[str] | None = None,
        filter_pass: float | None = None,
        device: str = "CPU",
        output_block: int = 1,
        in_place: Collection[str] | None = None,
        pixel_block: int = 1,
    ) -> KernelRules:
        """The rules of ``backend``'s runtime: ``fuses`` and ``in_place`` when given, else its defaults (:data:`FUSES`,
        every activation for an unnamed one; :data:`IN_PLACE`), its converter's zero folding (:data:`FOLDS_ZEROS`) and
        layout (:data:`CHANNELS_LAST`), its scale folding (:data:`FOLDS_SCALES`), and its post-ops on the ``device``
        they were seen on (:data:`POST_OPS`: OpenVINO's CPU plugin, TensorRT)."""
        fused = frozenset(fuses) if fuses is not None else FUSES.get(backend or "", frozenset(FUSIBLE_ACTIVATIONS))
        kept = frozenset(in_place) if in_place is not None else IN_PLACE.get(backend or "", frozenset())
        return cls(
            channel_block, fused, backend in FOLDS_ZEROS, backend in CHANNELS_LAST, filter_pass,
            backend in SWISH_KERNEL, backend in FOLDS_SCALES, _post_ops(backend, device), output_block, kept,
            pixel_block,
        )  # fmt: skip

    @property
    def pass_cost(self) -> float:
        """What a pass of a blocked conv over its input costs, in output blocks' worth of work."""
        if self.filter_pass is not None:
            return self.filter_pass
        return FILTER_PASS_COST.get(self.channel_block, FILTER_PASS_COST[8])


#: The ops each runtime runs without a kernel of their own by default: TensorRT's builder eliminates concatenations,
#: retargeting their producers' outputs into the concatenated buffer ("Eliminating concatenation ... Retargeting" in
#: its verbose log; a copy only for an input it cannot move, a graph input). ONNX Runtime, LiteRT and OpenVINO's CPU
#: plugin copy them (OpenVINO's DenseNet-121 concatenations ran 6-197 µs each on one Zen 4 core).
IN_PLACE: dict[str, frozenset[str]] = {"tensorrt": frozenset({"Concat"})}
#: Runtimes that keep activations channels-last (NHWC): LiteRT, whose converter transposes the NCHW graph.
CHANNELS_LAST = frozenset({"tflite"})
#: Runtimes that run x * sigmoid(x) as one kernel where they do not fuse it into the conv: ONNX Runtime's QuickGelu
#: (profiled in EfficientNet-B0 on one core: its 49 swishes 2.3 ms, where a sigmoid and a multiply were priced 4.8).
SWISH_KERNEL = frozenset({"onnxruntime"})
#: Runtimes whose graph optimiser folds a constant scale or shift right after a conv into its weights: ONNX Runtime's
#: ConvMulFusion and ConvAddFusion (a NAS-Bench-201 network's stem conv and the five multiplies after it ran as one
#: conv), OpenVINO's (its post-ops take more, :data:`POST_OPS`).
FOLDS_SCALES = frozenset({"onnxruntime", "openvino"})
#: Runtimes whose conv kernels take post-ops anywhere in their epilogue, and the devices they do it on (None: all):
#: OpenVINO's CPU plugin (oneDNN) ran a NAS-Bench-201 network's conv, the residual add after it, five constant
#: multiplies, a batch norm and a ReLU as one node (its executed graph, one thread), and a cell's two adds and the ReLU
#: after them as one elementwise node. TensorRT's builder fuses a conv with the residual sum and activation after it
#: ("conv2 + sum" as one CaskConvolution layer) and chains scales and activations into one kernel.
POST_OPS: dict[str, frozenset[str] | None] = {"openvino": frozenset({"CPU"}), "tensorrt": None}


def _post_ops(backend: str | None, device: str) -> bool:
    devices = POST_OPS.get(backend or "", frozenset())
    return devices is None or device in devices


#: The rules of a runtime not named: plain NCHW, every activation fused, nothing folded.
ANY_RUNTIME = KernelRules()


def kernels(model: onnx.ModelProto, rules: KernelRules = ANY_RUNTIME) -> list[Kernel]:
    """The kernels a runtime following ``rules`` runs for ``model`` (static input shape, batch 1), in graph order.

    Raises:
        UnsupportedOpError: an op the cost model does not know.
        ModelLoadError: shapes that cannot be inferred.
    """
    try:
        model = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # onnx raises InferenceError and friends
        raise ModelLoadError(f"ONNX shape inference failed ({str(e).splitlines()[0][:160]})") from None
    g = Graph(model)
    nodes, static, folded = g.nodes, set(g.consts), set[str]()
    if rules.folds_zeros:
        nodes, folded = fold_zeros(nodes, constants(model.graph), RUN_ON_CONSTANTS)
        nodes = live(nodes, g.inputs, g.outputs)
        static |= folded
    nodes = cse(nodes, g.outputs)
    static |= {o for n in nodes if n.op_type == "Constant" for o in n.output}
    g.consumers = Counter(i for n in nodes for i in n.input if i)
    g.producers = {o: n for n in nodes for o in n.output}
    runs_in, channel_block = rules.fuses | {"BatchNormalization"}, rules.channel_block
    fused: set[int] = set()
    out: list[Kernel] = []
    by_input: dict[str, list[int]] = {}
    for idx, n in enumerate(nodes):
        for i in n.input:
            by_input.setdefault(i, []).append(idx)
    layout = BlockedLayout(g, channel_block)
    nhwc = ChannelsLast(g, rules.channels_last, inputs=rules.output_block > 1)
    out += nhwc.inputs(nodes)
    for idx, node in enumerate(nodes):
        op = node.op_type
        dynamic = [i for i in node.input if i and i not in static]
        if not dynamic and op in RUN_ON_CONSTANTS and node.input[0] in folded:
            dynamic = [node.input[0]]
        if idx in fused:
            continue
        if op in FREE or op in rules.in_place or not dynamic:
            if not dynamic or op in ("Shape", "Constant", "ConstantOfShape"):
                static.update(node.output)
            else:
                out += layout.unblocked(dynamic) + nhwc.relabels(node, dynamic)
            continue
        ops, tail, summed = [op], node, 0
        snippet = (
            rules.post_ops and op in SNIPPET and all(g.shapes.get(i) == g.shapes.get(node.output[0]) for i in dynamic)
        )
        if (
            rules.swish_kernel
            and op == "Sigmoid"
            and _swish(g, node.input[0], [nodes[i] for i in by_input[node.input[0]]])
        ):
            mul = next(i for i in by_input[node.input[0]] if nodes[i].op_type == "Mul")
            fused.add(mul)
            ops, tail = [*SWISH_OPS], nodes[mul]
        while True:
            nxt = by_input.get(tail.output[0], [])
            swish = SWISH in runs_in and op in CONV | LINEAR and _swish(g, tail.output[0], [nodes[i] for i in nxt])
            if swish:
                fused.update(nxt)
                tail = next(nodes[i] for i in nxt if nodes[i].op_type == "Mul")
                ops += ["Sigmoid", "Mul"]
                continue
            if snippet:
                step = _snippet_step(g, tail, nxt, nodes, fused, static)
                if step is None:
                    break
                fused.add(step[0])
                tail, summed = nodes[step[0]], summed + step[1]
                ops.append(tail.op_type)
                continue
            if not g.only_consumer(tail.output[0]) or len(nxt) != 1 or nxt[0] in fused:
                break
            follower = nodes[nxt[0]]
            scales = (
                op in CONV
                and _scales(g, tail, follower, static)
                and (rules.post_ops or (rules.folds_scales and set(ops[1:]) <= {"BatchNormalization"}))
            )
            other = _summed_operand(g, ops, tail, follower, static) if op in CONV and not summed else None
            sums = other is not None and (
                channel_block > 1 or (rules.post_ops and all(i < idx for i in by_input[other] if i != nxt[0]))
            )
            if not (sums or scales) and follower.op_type not in _absorbs(op, ops, rules.post_ops) & runs_in:
                break
            summed += prod(g.shape(tail.output[0], tail)) if sums else 0
            fused.add(nxt[0])
            tail = follower
            if not scales:
                ops.append(tail.op_type)
        blocked = layout.runs_blocked(node, dynamic)
        out += layout.reorders(node, tail, dynamic, blocked)
        out += nhwc.relabels(node, dynamic) if op == "Transpose" else nhwc.reads(dynamic)
        block = (channel_block, rules.pass_cost) if blocked else (1, 0.0)
        off_block = channel_block > 1 and not blocked and op in WINDOW_POOLS | {"Conv"}
        tiles = (rules.output_block, channel_block if off_block else rules.pixel_block)  # a plain GEMM's pixel vectors
        kernel = _kernel(g, node, tail, tuple(ops), dynamic, block, summed, tiles)
        if kernel.kind in TILED and not off_block:
            pixels = prod(g.shape(node.output[0], node)[2:])
            kernel = dataclasses.replace(kernel, weight_passes=weight_passes(pixels, rules.pixel_block))
        if off_block and kernel.kind in PLAIN_ROLES and not kernel.one_pixel:
            kernel = dataclasses.replace(kernel, plain=True, role=PLAIN_ROLES[kernel.kind])
        act = _priced_op(op, ops)
        elems = (round(kernel.flops) if act in WINDOW_POOLS else prod(g.shape(tail.output[0], tail))) if act else 0
        out.append(dataclasses.replace(kernel, priced_op=act, priced_elems=elems) if act else kernel)
    return out + layout.unblocked_outputs()


def _priced_op(op: str, ops: list[str]) -> str:
    """The op of :data:`~edgebench.types.PRICED_OPS` a kernel computes: ``Swish`` for x * sigmoid(x), fused into a
    conv or linear layer or a kernel of its own, else the first such op it runs ("" for none)."""
    if op in CONV | LINEAR | {"Sigmoid"} and "Sigmoid" in ops and "Mul" in ops:
        return SWISH
    return next((o for o in ops if o in PRICED_OPS), "")


def _absorbs(op: str, ops: list[str], post_ops: bool = False) -> set[str]:
    """The ops a kernel that started with ``op`` and has fused ``ops`` so far runs in its own body (a batch norm
    after a residual add only with ``post_ops``)."""
    if op in CONV | LINEAR:
        return ACTIVATION & FUSABLE if "Add" in ops and not post_ops else FUSABLE
    return ACTIVATION & FUSABLE if op in ABSORB_ACT else set()


def _scales(g: Graph, tail: onnx.NodeProto, op: onnx.NodeProto, static: set[str]) -> bool:
    """Whether ``op`` scales or shifts ``tail``'s output by a constant of one value per channel or one in all."""
    x = tail.output[0]
    if op.op_type not in SCALE_OPS or len(op.input) != 2 or (op.op_type in ("Sub", "Div") and op.input[0] != x):
        return False
    other = op.input[1] if op.input[0] == x else op.input[0]
    shape, y = g.shapes.get(other, ()), g.shapes.get(x, ())  # a scalar constant has no recorded shape
    per_channel = len(y) == 4 and len(shape) >= 3 and shape[-2:] == (1, 1) and prod(shape) == y[1]
    return other in static and (prod(shape) == 1 or per_channel)


def _snippet_step(
    g: Graph, tail: onnx.NodeProto, nxt: list[int], nodes: list[onnx.NodeProto], fused: set[int], static: set[str]
) -> tuple[int, int] | None:
    """The node an elementwise kernel of a post-op runtime (OpenVINO's snippets) runs next in its own body, and the
    elements it then reads or writes on top: its one consumer when that is an activation, a constant scale or shift,
    or an add, subtract, multiply or divide of same-shape operands (reading the other one too); else its one
    activation consumer among several, its own output still written out for the rest (None: the kernel ends)."""
    x = tail.output[0]
    if x in g.outputs or not nxt or any(i in fused for i in nxt):
        return None
    shape = g.shapes.get(x, ())
    if len(nxt) == 1:
        follower = nodes[nxt[0]]
        if follower.op_type in ACTIVATION & FUSABLE or _scales(g, tail, follower, static):
            return nxt[0], 0
        same = len(follower.input) == 2 and all(g.shapes.get(i) == shape for i in follower.input)
        return (nxt[0], prod(shape)) if follower.op_type in SCALE_OPS and same else None
    acts = [i for i in nxt if nodes[i].op_type in ACTIVATION & FUSABLE]
    return (acts[0], prod(shape)) if len(acts) == 1 else None


def _swish(g: Graph, x: str, consumers: list[onnx.NodeProto]) -> bool:
    """Whether ``x`` feeds exactly a Sigmoid and a Mul of it with that sigmoid (x * sigmoid(x)), its ``consumers``."""
    if len(consumers) != 2 or x in g.outputs:
        return False
    sig = next((n for n in consumers if n.op_type == "Sigmoid"), None)
    mul = next((n for n in consumers if n.op_type == "Mul"), None)
    return (
        sig is not None and mul is not None and g.consumers[sig.output[0]] == 1
        and sorted(mul.input) == sorted([x, sig.output[0]])
    )  # fmt: skip


def _summed_operand(
    g: Graph, ops: list[str], tail: onnx.NodeProto, add: onnx.NodeProto, static: set[str]
) -> str | None:
    """The operand a conv could add in its own epilogue: the other input of a two-input ``Add`` of same-shape
    activations after it, before any activation (None if ``add`` is not one).

    A blocked-layout conv (ONNX Runtime's NCHWc) does add it; a post-op conv (OpenVINO's) only where it can
    accumulate into that operand's buffer: no later node still reads it (a NAS-Bench-201 cell's node feeding a pool
    after the add stays an add of its own)."""
    if add.op_type != "Add" or set(ops) - {"Conv", "BatchNormalization"} or len(add.input) != 2:
        return None
    other = add.input[1] if add.input[0] == tail.output[0] else add.input[0]
    return other if other not in static and g.shapes.get(other) == g.shapes.get(tail.output[0]) else None


def _kernel(
    g: Graph,
    node: onnx.NodeProto,
    tail: onnx.NodeProto,
    ops: tuple[str, ...],
    dynamic: list[str],
    block: tuple[int, float] = (1, 0.0),
    summed: int = 0,
    tiles: tuple[int, int] = (1, 1),
) -> Kernel:
    op, name = node.op_type, node.name or node.op_type
    out_elems = prod(g.shape(tail.output[0], tail))
    in_elems = sum(prod(g.shape(i, node)) for i in dynamic)
    if op in CONV:
        kind, flops, weights, detail, lanes = _conv(g, node, *block, *tiles)
        depth = round(flops / 2 / out_elems)
        role = CONV_ROLES[kind] if op == "Conv" else ROLES[op]
        y = g.shape(node.output[0], node)
        rows = y[1] * y[2] if kind is KernelKind.DEPTHWISE_CONV and len(y) == 4 else 0
        one_pixel = kind is KernelKind.POINTWISE_CONV and prod(y) == y[1]
        role = ONE_PIXEL_CONV if one_pixel else role
        return Kernel(name, kind, ops, flops, in_elems + out_elems + summed, weights, detail, lanes, depth, role,
                      rows=rows, one_pixel=one_pixel, in_channels=g.shape(node.input[0], node)[1])  # fmt: skip
    if op in LINEAR:
        flops, weights = _linear(g, node)
        depth = round(flops / 2 / out_elems)
        gemv = prod(g.shape(node.output[0], node)[:-1]) == 1
        role = "fully connected (batch-1 GEMV: bound by its weight bytes)" if gemv else ROLES[op]
        return Kernel(name, KernelKind.LINEAR, ops, flops, in_elems + out_elems, weights, reduction_depth=depth,
                      role=role)  # fmt: skip
    if op in POOLING:
        kind = KernelKind.POOLING
    elif op in ELEMENTWISE:
        kind = KernelKind.ELEMENTWISE
    elif op in ACTIVATION:
        kind = KernelKind.ACTIVATION
    else:
        raise UnsupportedOpError(op, name, WHERE, ADVICE)
    per_elem = _flops_per_elem(node, g) if kind is KernelKind.POOLING else max(1, len(dynamic) - 1)
    gated = _gated(g, node, dynamic)
    role = "squeeze-excite gate (a per-channel scale broadcast over the map)" if gated else _role(g, node, dynamic)
    role = "swish (x times its sigmoid, one kernel)" if ops == SWISH_OPS else role
    return Kernel(name, kind, ops, out_elems * per_elem, in_elems + out_elems, 0, role=role, gated=gated)


def _gated(g: Graph, node: onnx.NodeProto, dynamic: list[str]) -> int:
    """The channels a multiply scales by a [1, C, 1, 1] gate computed in the network (squeeze-excite), else 0."""
    if node.op_type != "Mul" or len(dynamic) != 2:
        return 0
    a, b = (g.shape(i, node) for i in dynamic)
    gate, fmap = sorted((a, b), key=prod)
    return fmap[1] if len(a) == len(b) == 4 and gate[2:] == (1, 1) and fmap[2:] != (1, 1) else 0


def _role(g: Graph, node: onnx.NodeProto, dynamic: list[str]) -> str:
    """What a kernel that is not a conv or linear layer is: a multiply is named for the pattern it closes."""
    if node.op_type == "Mul" and len(dynamic) == 2:
        gates = [g.producers.get(i) for i in dynamic]
        if any(p is not None and p.op_type in ("Sigmoid", "HardSigmoid") and p.input[0] in dynamic for p in gates):
            return "swish (x times its sigmoid, unfused)"
    if node.op_type == "Transpose" and _concatenates_maps(g, dynamic[0]):
        return SHUFFLE_OF_MAPS
    return ROLES.get(node.op_type, GENERIC)


def _concatenates_maps(g: Graph, x: str) -> bool:
    """Whether ``x``, through reshapes, is a concatenation of conv or pool outputs alone (through the activations
    and batch norms after them)."""
    concat = g.source(x, FREE)
    inputs = [g.source(i, FREE | FUSABLE) for i in concat.input] if concat and concat.op_type == "Concat" else [None]
    return all(p is not None and p.op_type in LAYOUT_SENSITIVE for p in inputs)


def load_kernels(path: Path, rules: KernelRules = ANY_RUNTIME) -> list[Kernel]:
    """Kernels of an ONNX file as a runtime following ``rules`` runs them; raises ModelLoadError if it is not one."""
    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError and friends for junk files
        raise ModelLoadError(f"{path}: not a valid ONNX model ({str(e).splitlines()[0][:160]})") from None
    return kernels(model, rules)


def module_kernels(
    module: torch.nn.Module, input_shape: tuple[int, ...], rules: KernelRules = ANY_RUNTIME
) -> list[Kernel]:
    """Kernels of a PyTorch module, through the same ONNX export every backend starts from."""
    with tempfile.TemporaryDirectory(prefix="edgebench-kernels-") as tmp:
        return load_kernels(from_module("net", module, input_shape).to_onnx(Path(tmp)), rules)
