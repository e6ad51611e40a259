"""An ONNX graph as the kernels a runtime executes: fused conv-bn-act, add-act, pooling, linear, and the rest.

Runtimes fold BatchNorm into the convolution before it and run a following activation in the same kernel; shape
arithmetic and reshapes cost nothing; identical nodes on the same input are computed once. :func:`kernels` applies
those rules so that a cost model prices what the device really runs, node by node.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from math import prod
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper, shape_inference

from edgebench.exceptions import ModelLoadError, UnsupportedOpError
from edgebench.model import from_module
from edgebench.searching.space import pad_channels
from edgebench.types import KernelKind, SizeClass, size_class

WHERE = "edgebench's cost model"
ADVICE = "it prices the kernels of CNNs; remove the op from the model, or time the model with `edgebench bench`"

#: Ops that move no data (views and metadata) or that a runtime folds away (QDQ pairs around int8 kernels).
FREE = {
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Constant", "ConstantOfShape",
    "QuantizeLinear", "DequantizeLinear",
}  # fmt: skip
#: Ops that run in the kernel of the conv, linear layer or add before them when they are its only consumer.
FUSABLE = {
    "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
    "Selu", "PRelu",
}  # fmt: skip
ACTIVATION = FUSABLE - {"BatchNormalization"} | {"Softmax", "Erf", "Gelu", "Exp", "Log", "Sqrt", "Neg", "Abs"}
POOLING = {"AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"}
ELEMENTWISE = {
    "BatchNormalization", "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Concat", "Split", "Slice", "Pad",
    "Transpose", "Resize", "Upsample", "Cast", "Pow", "Where", "Expand", "Tile", "Gather",
}  # fmt: skip
LINEAR = {"Gemm", "MatMul"}
CONV = {"Conv", "ConvTranspose"}
#: Ops whose kernel also applies a following activation (but, unlike conv and linear, no BatchNorm).
ABSORB_ACT = {"Add", "Sum", "BatchNormalization"}


@dataclass(frozen=True)
class Kernel:
    """One kernel the runtime launches: its kind, the ONNX ops it fuses, its work and the data it touches."""

    name: str  # the first fused node's name
    kind: KernelKind
    ops: tuple[str, ...]
    flops: float  # 2 x multiply-adds for conv and linear; one op per element (per window tap) otherwise
    activation_elems: int  # elements read from and written to activations
    weight_elems: int
    detail: str = ""
    lanes_used: float = 1.0  # share of the vector lanes doing useful work when channels are padded to a block
    reduction_depth: int = 0  # multiply-adds per output element of a conv or linear layer (cin/groups x window)

    @property
    def size(self) -> SizeClass:
        return size_class(self.flops)

    def bytes(self, bytes_per_elem: float) -> float:
        return (self.activation_elems + self.weight_elems) * bytes_per_elem


class _Graph:
    """Shapes, constants and consumers of one shape-inferred ONNX graph."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = model.graph
        self.nodes = list(graph.node)
        self.consts = {i.name: tuple(i.dims) for i in graph.initializer}
        self.shapes: dict[str, tuple[int, ...]] = dict(self.consts)
        for vi in [*graph.input, *graph.value_info, *graph.output]:
            dims = vi.type.tensor_type.shape.dim
            if dims and all(d.dim_value > 0 for d in dims):
                self.shapes[vi.name] = tuple(d.dim_value for d in dims)
        self.outputs = {o.name for o in graph.output}
        self.consumers: Counter[str] = Counter()  # set by kernels() once the nodes that really run are known

    def shape(self, name: str, node: onnx.NodeProto) -> tuple[int, ...]:
        if name not in self.shapes:
            raise ModelLoadError(
                f"cannot tell the shape of '{name}' (input of node '{node.name or node.op_type}'); give the model "
                "static input shapes"
            )
        return self.shapes[name]

    def only_consumer(self, name: str) -> bool:
        return self.consumers[name] == 1 and name not in self.outputs


def _ints(node: onnx.NodeProto, name: str, default: list[int]) -> list[int]:
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]
    return default


def _lanes_used(kind: KernelKind, cin: int, cout: int, block: int) -> float:
    """Share of the work on real channels when a blocked layout pads them to multiples of ``block``. A dense conv
    reading fewer channels than one block (a stem) reads them unpadded; grouped convs are left unblocked."""
    if block <= 1 or kind is KernelKind.GROUPED_CONV:
        return 1.0
    if kind is KernelKind.DEPTHWISE_CONV:
        return cin / pad_channels(cin, block)
    read = 1.0 if cin < block else cin / pad_channels(cin, block)
    return read * cout / pad_channels(cout, block)


def _conv(g: _Graph, node: onnx.NodeProto, block: int) -> tuple[KernelKind, float, int, str, float]:
    x, w, y = g.shape(node.input[0], node), g.shape(node.input[1], node), g.shape(node.output[0], node)
    (groups,) = _ints(node, "group", [1])
    cin, cout, window = x[1], w[0], prod(w[2:])
    macs = prod(y) * (cin // groups) * window
    if groups > 1 and groups == cin:
        kind = KernelKind.DEPTHWISE_CONV
    elif groups > 1:
        kind = KernelKind.GROUPED_CONV
    else:
        kind = KernelKind.POINTWISE_CONV if window == 1 else KernelKind.CONV
    stride = _ints(node, "strides", [1])[0]
    detail = f"{cin}x{'x'.join(map(str, x[2:]))} -> {cout}x{'x'.join(map(str, y[2:]))} k{w[2]} s{stride} g{groups}"
    return kind, 2.0 * macs, prod(w), detail, _lanes_used(kind, cin, cout, block)


def _linear(g: _Graph, node: onnx.NodeProto) -> tuple[float, int]:
    a, b = g.shape(node.input[0], node), g.shape(node.input[1], node)
    k = a[-2] if _ints(node, "transA", [0])[0] else a[-1]
    out = prod(g.shape(node.output[0], node))
    weights = prod(b) if node.input[1] in g.consts else 0
    return 2.0 * out * k, weights


def _flops_per_elem(node: onnx.NodeProto, g: _Graph) -> float:
    if node.op_type in ("AveragePool", "MaxPool"):
        return float(prod(_ints(node, "kernel_shape", [1])))
    if node.op_type in ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"):
        return prod(g.shape(node.input[0], node)) / max(1, prod(g.shape(node.output[0], node)))
    return 1.0


def _rewire(node: onnx.NodeProto, alias: dict[str, str]) -> list[str]:
    """Point the node's inputs at the names ``alias`` maps them to; returns the new inputs."""
    inputs = [alias.get(i, i) for i in node.input]
    del node.input[:]
    node.input.extend(inputs)
    return inputs


def _cse(nodes: Iterable[onnx.NodeProto], keep: set[str]) -> list[onnx.NodeProto]:
    """Drop nodes that repeat an earlier node's op, inputs and attributes (as runtimes do), rewiring their
    consumers to the first; nodes writing a name in ``keep`` (graph outputs) stay."""
    seen: dict[tuple[object, ...], onnx.NodeProto] = {}
    alias: dict[str, str] = {}
    kept = []
    for node in nodes:
        inputs = tuple(_rewire(node, alias))
        key = (node.op_type, node.domain, inputs, tuple(a.SerializeToString() for a in node.attribute))
        if key in seen and len(node.output) == 1 and node.output[0] not in keep:
            alias[node.output[0]] = seen[key].output[0]
            continue
        seen[key] = node
        kept.append(node)
    return kept


#: Backends whose converter folds a multiply by a zero constant and the elementwise ops computed from zeros alone
#: (LiteRT's converter does; ONNX Runtime and OpenVINO run the multiply). Convolutions, pooling and linear
#: layers have no constant folder there: they still run, on a zero input.
FOLDS_ZEROS = {"tflite"}
RUN_ON_CONSTANTS = CONV | POOLING | LINEAR


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _fold_zeros(nodes: list[onnx.NodeProto], values: dict[str, np.ndarray]) -> tuple[list[onnx.NodeProto], set[str]]:
    """Drop what a folding converter removes: multiplies by zero, the zero terms of sums, and every op but
    convolution, pooling and linear layers whose inputs are all constants. Returns the nodes left and the names
    that became constants."""
    zero = {n for n, v in values.items() if v.size and not np.any(v)}
    const: set[str] = set(values)
    alias: dict[str, str] = {}
    kept = []
    for node in nodes:
        inputs = _rewire(node, alias)
        dynamic = [i for i in inputs if i and i not in const and i not in zero]
        if node.op_type == "Mul" and any(i in zero for i in inputs):
            zero.update(node.output)
        elif node.op_type in ("Add", "Sum") and any(i in zero for i in inputs):
            rest = [i for i in inputs if i not in zero]
            if not rest:
                zero.update(node.output)
            elif len(rest) == 1:
                alias[node.output[0]] = rest[0]
            else:
                del node.input[:]
                node.input.extend(rest)
                kept.append(node)
        elif not dynamic and node.op_type not in RUN_ON_CONSTANTS:
            const.update(node.output)
        else:
            kept.append(node)
    return kept, const | zero


#: Binary ops a blocked layout runs in place when both operands have the same shape; with a broadcast operand
#: the runtime reorders the full operand out of the blocked layout and the result back into it.
BINARY = {"Add", "Sub", "Mul", "Div"}


def kernels(model: onnx.ModelProto, backend: str | None = None, channel_block: int = 1) -> list[Kernel]:
    """The kernels ``backend``'s runtime runs for ``model`` (static input shape, batch 1), in graph order.

    ``channel_block`` > 1 is a runtime that lays activations out in blocks of that many channels (ONNX Runtime's
    NCHWc on x86: 16 with AVX-512, 8 with AVX2): its convolutions work on channels padded to the block, add a
    residual ``Add`` (and the activation after it) into the conv before it, and a broadcasting binary op costs a
    reorder out of the layout and back.

    Raises:
        UnsupportedOpError: an op the cost model does not know.
        ModelLoadError: shapes that cannot be inferred.
    """
    try:
        model = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # onnx raises InferenceError and friends
        raise ModelLoadError(f"ONNX shape inference failed ({str(e).splitlines()[0][:160]})") from None
    g = _Graph(model)
    nodes, static, folded = g.nodes, set(g.consts), set[str]()
    if backend in FOLDS_ZEROS:
        nodes, folded = _fold_zeros(nodes, _constants(model.graph))
        static |= folded
    nodes = _cse(nodes, g.outputs)
    g.consumers = Counter(i for n in nodes for i in n.input if i)
    fused: set[int] = set()
    out: list[Kernel] = []
    by_input: dict[str, list[int]] = {}
    for idx, n in enumerate(nodes):
        for i in n.input:
            by_input.setdefault(i, []).append(idx)
    for idx, node in enumerate(nodes):
        op = node.op_type
        dynamic = [i for i in node.input if i and i not in static]
        if not dynamic and op in RUN_ON_CONSTANTS and node.input[0] in folded:
            dynamic = [node.input[0]]
        if idx in fused:
            continue
        if op in FREE or not dynamic:
            if not dynamic or op in ("Shape", "Constant", "ConstantOfShape"):
                static.update(node.output)
            continue
        ops, tail, summed = [op], node, 0
        while g.only_consumer(tail.output[0]):
            nxt = by_input.get(tail.output[0], [])
            if len(nxt) != 1:
                break
            follower = nodes[nxt[0]]
            sums = channel_block > 1 and op in CONV and _sums_into(g, ops, tail, follower, static)
            if not sums and follower.op_type not in _absorbs(op, ops):
                break
            summed += prod(g.shape(tail.output[0], tail)) if sums else 0
            fused.add(nxt[0])
            tail = follower
            ops.append(tail.op_type)
        out.append(_kernel(g, node, tail, tuple(ops), dynamic, channel_block, summed))
    return out


def _absorbs(op: str, ops: list[str]) -> set[str]:
    """The ops a kernel that started with ``op`` and has fused ``ops`` so far runs in its own body."""
    if op in CONV | LINEAR:
        return ACTIVATION & FUSABLE if "Add" in ops else FUSABLE
    return ACTIVATION & FUSABLE if op in ABSORB_ACT else set()


def _sums_into(g: _Graph, ops: list[str], tail: onnx.NodeProto, add: onnx.NodeProto, static: set[str]) -> bool:
    """Whether a blocked-layout conv adds ``add``'s other operand in its own epilogue: a two-input ``Add`` of
    same-shape activations, before any activation."""
    if add.op_type != "Add" or set(ops) - {"Conv", "BatchNormalization"} or len(add.input) != 2:
        return False
    other = add.input[1] if add.input[0] == tail.output[0] else add.input[0]
    return other not in static and g.shapes.get(other) == g.shapes.get(tail.output[0])


def _kernel(
    g: _Graph,
    node: onnx.NodeProto,
    tail: onnx.NodeProto,
    ops: tuple[str, ...],
    dynamic: list[str],
    channel_block: int = 1,
    summed: int = 0,
) -> Kernel:
    op, name = node.op_type, node.name or node.op_type
    out_elems = prod(g.shape(tail.output[0], tail))
    in_elems = sum(prod(g.shape(i, node)) for i in dynamic)
    if op in CONV:
        kind, flops, weights, detail, lanes = _conv(g, node, channel_block)
        depth = round(flops / 2 / out_elems)
        return Kernel(name, kind, ops, flops, in_elems + out_elems + summed, weights, detail, lanes, depth)
    if op in LINEAR:
        flops, weights = _linear(g, node)
        depth = round(flops / 2 / out_elems)
        return Kernel(name, KernelKind.LINEAR, ops, flops, in_elems + out_elems, weights, reduction_depth=depth)
    if op in POOLING:
        kind = KernelKind.POOLING
    elif op in ELEMENTWISE:
        kind = KernelKind.ELEMENTWISE
    elif op in ACTIVATION:
        kind = KernelKind.ACTIVATION
    else:
        raise UnsupportedOpError(op, name, WHERE, ADVICE)
    per_elem = _flops_per_elem(node, g) if kind is KernelKind.POOLING else max(1, len(dynamic) - 1)
    detail = ""
    if channel_block > 1 and op in BINARY and len({g.shape(i, node) for i in dynamic}) > 1:
        in_elems += 4 * out_elems  # the full operand reordered out of the layout, the result back into it
        detail = "broadcast: reordered out of and back into the blocked layout"
    return Kernel(name, kind, ops, out_elems * per_elem, in_elems + out_elems, 0, detail)


def load_kernels(path: Path, backend: str | None = None, channel_block: int = 1) -> list[Kernel]:
    """Kernels of an ONNX file as ``backend`` runs them; raises ModelLoadError if it is not one."""
    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError and friends for junk files
        raise ModelLoadError(f"{path}: not a valid ONNX model ({str(e).splitlines()[0][:160]})") from None
    return kernels(model, backend, channel_block)


def module_kernels(
    module: torch.nn.Module, input_shape: tuple[int, ...], backend: str | None = None, channel_block: int = 1
) -> list[Kernel]:
    """Kernels of a PyTorch module, through the same ONNX export every backend starts from."""
    with tempfile.TemporaryDirectory(prefix="edgebench-kernels-") as tmp:
        return load_kernels(from_module("net", module, input_shape).to_onnx(Path(tmp)), backend, channel_block)
