"""ONNX -> PyTorch importer for CNN graphs, so a user's .onnx file can reach the PyTorch-based TFLite converter.

The graph is walked once at build time with an example input: constants, initializers and shape arithmetic
(``Shape -> Gather -> Concat -> Reshape``) are folded into Python values, and every remaining node becomes a
small module. The result traces cleanly with ``torch.export`` because nothing shape-dependent is left at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import Tensor, nn

from edgebench.exceptions import ModelLoadError, UnsupportedOpError

WHERE = "edgebench's ONNX importer"

Static = np.ndarray | None  # a build-time constant, or None for a tensor known only at run time
Builder = Callable[[onnx.NodeProto, dict[str, Any], list[Static]], nn.Module]
#: Builds one module per output of an op with several, from its node, attributes, static inputs and data input.
PartsBuilder = Callable[[onnx.NodeProto, dict[str, Any], list[Static], Tensor], list[nn.Module]]


class _Fn(nn.Module):
    """Applies ``fn`` to the node's inputs, constant inputs held as buffers and merged back in place."""

    def __init__(self, fn: Callable[..., Tensor], statics: Sequence[Static] = ()) -> None:
        super().__init__()
        self.fn = fn
        self.static_positions = [i for i, s in enumerate(statics) if s is not None]
        self.arity = len(statics)
        for i in self.static_positions:
            arr = statics[i]
            assert arr is not None
            self.register_buffer(f"c{i}", torch.from_numpy(np.array(arr, copy=True)))

    def forward(self, *dynamic: Tensor) -> Tensor:
        it = iter(dynamic)
        args = [getattr(self, f"c{i}") if i in self.static_positions else next(it) for i in range(self.arity)]
        args.extend(it)  # nodes built with no statics list take their inputs as they come
        return self.fn(*args)


class _Node(nn.Module):
    """One graph node: which named values it reads (run-time ones only) and which it writes."""

    def __init__(self, op: nn.Module, inputs: list[str], output: str) -> None:
        super().__init__()
        self.op, self.inputs, self.output = op, inputs, output


class OnnxModule(nn.Module):
    """A converted ONNX graph with one input and one output."""

    def __init__(self, nodes: list[_Node], input_name: str, output_name: str) -> None:
        super().__init__()
        self.nodes = nn.ModuleList(nodes)
        self.input_name, self.output_name = input_name, output_name

    def forward(self, x: Tensor) -> Tensor:
        env = {self.input_name: x}
        for node in self.nodes:
            assert isinstance(node, _Node)
            env[node.output] = node.op(*(env[name] for name in node.inputs))
        return env[self.output_name]


# ---- helpers ------------------------------------------------------------------------------------


def _need_static(node: onnx.NodeProto, statics: list[Static], index: int, what: str) -> np.ndarray:
    value = statics[index] if index < len(statics) else None
    if value is None:
        raise UnsupportedOpError(f"{node.op_type} with a run-time '{what}' input", node.name, WHERE)
    return value


def _ints(values: Any) -> list[int]:
    return [int(v) for v in np.asarray(values).reshape(-1)]


def _torch_pads(onnx_pads: list[int]) -> list[int]:
    """ONNX pads [x1_begin, x2_begin, ..., x1_end, x2_end, ...] -> F.pad order (last axis first)."""
    half = len(onnx_pads) // 2
    out: list[int] = []
    for axis in reversed(range(half)):
        out += [onnx_pads[axis], onnx_pads[axis + half]]
    return out


def _spatial_pads(node: onnx.NodeProto, attrs: dict[str, Any], kernel: list[int]) -> list[int]:
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("NOTSET", "VALID"):
        return list(attrs.get("pads", [0] * 2 * len(kernel))) if auto_pad == "NOTSET" else [0] * 2 * len(kernel)
    raise UnsupportedOpError(f"{node.op_type} with auto_pad={auto_pad}", node.name, WHERE)


class _Padded(nn.Module):
    """Explicit padding before a layer when ONNX pads are asymmetric (torch layers only pad symmetrically)."""

    def __init__(self, pads: list[int], layer: nn.Module, value: float = 0.0) -> None:
        super().__init__()
        self.pads, self.layer, self.value = _torch_pads(pads), layer, value

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(F.pad(x, self.pads, value=self.value))


def _split_pads(pads: list[int]) -> tuple[list[int] | None, list[int]]:
    """Symmetric pads go to the layer; asymmetric ones become an explicit pad (returned first)."""
    half = len(pads) // 2
    if pads[:half] == pads[half:]:
        return None, pads[:half]
    return pads, [0] * half


# ---- layer builders --------------------------------------------------------------------------------


def _conv(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    weight = _need_static(node, statics, 1, "weight")
    if weight.ndim != 4:
        raise UnsupportedOpError(f"Conv with {weight.ndim - 2}-d kernel", node.name, WHERE)
    kernel = list(weight.shape[2:])
    explicit, pad = _split_pads(_spatial_pads(node, attrs, kernel))
    groups = int(attrs.get("group", 1))
    bias = statics[2] if len(statics) > 2 else None
    conv = nn.Conv2d(
        weight.shape[1] * groups,
        weight.shape[0],
        tuple(kernel),
        stride=tuple(attrs.get("strides", [1, 1])),
        padding=(pad[0], pad[1]),
        dilation=tuple(attrs.get("dilations", [1, 1])),
        groups=groups,
        bias=bias is not None,
    )
    conv.weight.data = torch.from_numpy(weight.copy())
    if bias is not None:
        assert conv.bias is not None
        conv.bias.data = torch.from_numpy(bias.copy())
    return conv if explicit is None else _Padded(explicit, conv)


def _batchnorm(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    for index, name in ((1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")):
        _need_static(node, statics, index, name)
    eps = float(attrs.get("epsilon", 1e-5))
    return _Fn(lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias, False, 0.0, eps), statics[:5])


def _gemm(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    weight = _need_static(node, statics, 1, "B")
    if attrs.get("transA", 0):
        raise UnsupportedOpError("Gemm with transA=1", node.name, WHERE)
    weight = weight if attrs.get("transB", 0) else weight.T
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    bias = statics[2] if len(statics) > 2 else None
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    linear.weight.data = torch.from_numpy((alpha * weight).astype(np.float32).copy())
    if bias is not None:
        assert linear.bias is not None
        linear.bias.data = torch.from_numpy(np.broadcast_to(beta * bias, (weight.shape[0],)).astype(np.float32))
    return linear


def _pool(kind: str) -> Builder:
    def build(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
        kernel = list(attrs["kernel_shape"])
        if len(kernel) != 2:
            raise UnsupportedOpError(f"{node.op_type} over {len(kernel)} dims", node.name, WHERE)
        explicit, pad = _split_pads(_spatial_pads(node, attrs, kernel))
        common = {"kernel_size": kernel, "stride": attrs.get("strides", [1, 1]), "padding": pad}
        common["ceil_mode"] = bool(attrs.get("ceil_mode", 0))
        if kind == "max":
            layer: nn.Module = nn.MaxPool2d(dilation=attrs.get("dilations", [1, 1]), **common)
            return layer if explicit is None else _Padded(explicit, layer, value=float("-inf"))
        include = bool(attrs.get("count_include_pad", 0))
        if explicit is not None and not include:
            raise UnsupportedOpError("AveragePool with asymmetric pads excluded from the count", node.name, WHERE)
        layer = nn.AvgPool2d(count_include_pad=include, **common)
        return layer if explicit is None else _Padded(explicit, layer)

    return build


# ---- elementwise and shape builders -------------------------------------------------------------------


def _fn(fn: Callable[..., Tensor]) -> Builder:
    """An op whose inputs all flow through ``fn`` unchanged (constants included)."""
    return lambda node, attrs, statics: _Fn(fn, statics)


def _clip(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    low = statics[1] if len(statics) > 1 and node.input[1] else attrs.get("min")
    high = statics[2] if len(statics) > 2 and node.input[2] else attrs.get("max")
    if (len(statics) > 1 and node.input[1] and low is None) or (len(statics) > 2 and node.input[2] and high is None):
        raise UnsupportedOpError("Clip with run-time bounds", node.name, WHERE)
    lo = None if low is None else float(np.asarray(low))
    hi = None if high is None else float(np.asarray(high))
    return _Fn(lambda x: torch.clamp(x, lo, hi), statics[:1])


def _axes(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static], input_index: int) -> list[int] | None:
    if "axes" in attrs:
        return list(attrs["axes"])
    if len(statics) > input_index and node.input[input_index]:
        return _ints(_need_static(node, statics, input_index, "axes"))
    return None


def _reshape(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    shape = _ints(_need_static(node, statics, 1, "shape"))
    allow_zero = bool(attrs.get("allowzero", 0))

    def reshape(x: Tensor) -> Tensor:
        target = [x.shape[i] if d == 0 and not allow_zero else d for i, d in enumerate(shape)]
        return torch.reshape(x, target)

    return _Fn(reshape, statics[:1])


def _squeeze(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axes = _axes(node, attrs, statics, 1)
    if axes is None:
        return _Fn(torch.squeeze, statics[:1])
    return _Fn(lambda x: torch.squeeze(x, [a % x.dim() for a in axes]), statics[:1])


def _unsqueeze(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axes = _axes(node, attrs, statics, 1)
    assert axes is not None

    def unsqueeze(x: Tensor) -> Tensor:
        rank = x.dim() + len(axes)
        for axis in sorted(a % rank for a in axes):
            x = torch.unsqueeze(x, axis)
        return x

    return _Fn(unsqueeze, statics[:1])


def _reduce_mean(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axes = _axes(node, attrs, statics, 1)
    keep = bool(attrs.get("keepdims", 1))
    return _Fn(
        lambda x: torch.mean(x, dim=axes if axes is not None else list(range(x.dim())), keepdim=keep), statics[:1]
    )


def _pad(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        raise UnsupportedOpError(f"Pad with mode={mode}", node.name, WHERE)
    pads = list(attrs["pads"]) if "pads" in attrs else _ints(_need_static(node, statics, 1, "pads"))
    value = float(np.asarray(statics[2])) if len(statics) > 2 and statics[2] is not None else 0.0
    torch_pads = _torch_pads(pads)
    return _Fn(lambda x: F.pad(x, torch_pads, value=value), statics[:1])


def _slice(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    starts, ends = (_ints(_need_static(node, statics, i, n)) for i, n in ((1, "starts"), (2, "ends")))
    axes = _axes(node, {}, statics, 3) or list(range(len(starts)))
    steps = _ints(statics[4]) if len(statics) > 4 and statics[4] is not None else [1] * len(starts)

    def slice_(x: Tensor) -> Tensor:
        index = [slice(None)] * x.dim()
        for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
            if step < 1:
                raise UnsupportedOpError("Slice with a negative step", node.name, WHERE)
            size = x.shape[axis]
            index[axis % x.dim()] = slice(max(min(start, size), -size), max(min(end, size), -size), step)
        return x[tuple(index)]

    return _Fn(slice_, statics[:1])


def _gather(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    indices = _need_static(node, statics, 1, "indices").astype(np.int64)
    flat = torch.from_numpy(indices.reshape(-1).copy())
    axis = int(attrs.get("axis", 0))

    def gather(x: Tensor) -> Tensor:
        a = axis % x.dim()
        return torch.index_select(x, a, flat % x.shape[a]).reshape((*x.shape[:a], *indices.shape, *x.shape[a + 1 :]))

    return _Fn(gather, statics[:1])


def _softmax(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axis = int(attrs.get("axis", -1))
    return _Fn(lambda x: torch.softmax(x, dim=axis), statics[:1])


def _flatten(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axis = int(attrs.get("axis", 1))
    return _Fn(lambda x: torch.reshape(x, (int(np.prod(x.shape[:axis])), -1)), statics[:1])


def _transpose(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    perm = attrs.get("perm")
    return _Fn(lambda x: x.permute(perm if perm is not None else list(reversed(range(x.dim())))), statics[:1])


def _concat(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    axis = int(attrs["axis"])
    return _Fn(lambda *xs: torch.cat(xs, dim=axis), statics)


def _cast(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    dtype = torch.from_numpy(np.zeros(0, dtype=onnx.helper.tensor_dtype_to_np_dtype(attrs["to"]))).dtype
    return _Fn(lambda x: x.to(dtype), statics[:1])


def _hard_sigmoid(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    return _Fn(lambda x: torch.clamp(alpha * x + beta, 0.0, 1.0), statics[:1])


def _leaky_relu(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    slope = float(attrs.get("alpha", 0.01))
    return _Fn(lambda x: F.leaky_relu(x, slope), statics[:1])


def _matmul(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static]) -> nn.Module:
    return _Fn(torch.matmul, statics)


def _split(node: onnx.NodeProto, attrs: dict[str, Any], statics: list[Static], x: Tensor) -> list[nn.Module]:
    """One module per output of a ``Split``: each narrows its input to its own part along the axis."""
    axis = int(attrs.get("axis", 0)) % x.dim()
    given = statics[1] if len(statics) > 1 else attrs.get("split")
    if given is not None:
        sizes = _ints(given)
    else:  # equal parts (the last one smaller when the axis does not divide)
        part = -(-x.shape[axis] // len(node.output))
        sizes = [min(part, x.shape[axis] - i * part) for i in range(len(node.output))]
    starts = np.cumsum([0, *sizes[:-1]])
    return [
        _Fn(lambda t, a=int(a), n=int(n): t.narrow(axis, a, n), statics[:1]) for a, n in zip(starts, sizes, strict=True)
    ]


#: Ops with several outputs, each its own module reading the op's first input.
PARTS_BUILDERS: dict[str, PartsBuilder] = {"Split": _split}

BUILDERS: dict[str, Builder] = {
    "Conv": _conv,
    "BatchNormalization": _batchnorm,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "GlobalAveragePool": _fn(lambda x: torch.mean(x, dim=(2, 3), keepdim=True)),
    "GlobalMaxPool": _fn(lambda x: torch.amax(x, dim=(2, 3), keepdim=True)),
    "Relu": _fn(torch.relu),
    "Sigmoid": _fn(torch.sigmoid),
    "Tanh": _fn(torch.tanh),
    "HardSwish": _fn(F.hardswish),
    "HardSigmoid": _hard_sigmoid,
    "LeakyRelu": _leaky_relu,
    "Clip": _clip,
    "Add": _fn(torch.add),
    "Sub": _fn(torch.sub),
    "Mul": _fn(torch.mul),
    "Div": _fn(torch.div),
    "Identity": _fn(lambda x: x),
    "Dropout": _fn(lambda x, *_: x),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "ReduceMean": _reduce_mean,
    "Pad": _pad,
    "Softmax": _softmax,
    "Slice": _slice,
    "Gather": _gather,
    "Cast": _cast,
}


# ---- graph walk -------------------------------------------------------------------------------------


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _static_value(node: onnx.NodeProto, attrs: dict[str, Any]) -> np.ndarray:
    """The value of a ``Constant`` node."""
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attrs:
            return np.asarray(attrs[key], dtype=dtype)
    raise UnsupportedOpError("Constant with a sparse or string value", node.name, WHERE)


def _graph_input(graph: onnx.GraphProto) -> onnx.ValueInfoProto:
    init_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelLoadError(
            f"the ONNX importer takes one input and one output, not {len(inputs)} and {len(graph.output)}"
        )
    return inputs[0]


def _parts(node: onnx.NodeProto, attrs: dict[str, Any], inputs: list[Static], examples: dict[str, Tensor]
           ) -> list[_Node]:  # fmt: skip
    """The nodes of an op with several outputs, each output's example computed into ``examples``."""
    source = node.input[0]
    if source not in examples:
        raise UnsupportedOpError(f"{node.op_type} of a constant", node.name, WHERE)
    parts = PARTS_BUILDERS[node.op_type](node, attrs, inputs, examples[source])
    for part, name in zip(parts, node.output, strict=True):
        examples[name] = part(examples[source])
    return [_Node(part, [source], name) for part, name in zip(parts, node.output, strict=True)]


def onnx_to_torch(model: onnx.ModelProto) -> nn.Module:
    """Convert a single-input, single-output ONNX CNN into an eval-mode PyTorch module.

    Raises:
        ModelLoadError: the graph has not exactly one input and one output.
        UnsupportedOpError: an op outside :data:`BUILDERS` and :data:`PARTS_BUILDERS`, or one whose shape-like
            inputs are only known at run time; the message names the op and the node.
    """
    graph = model.graph
    statics: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    graph_input = _graph_input(graph)
    shape = tuple(d.dim_value if d.dim_value > 0 else 1 for d in graph_input.type.tensor_type.shape.dim)
    examples: dict[str, Tensor] = {graph_input.name: torch.zeros(shape)}
    nodes: list[_Node] = []
    with torch.no_grad():  # not inference_mode: its tensors could not become parameters that torch.export traces
        for node in graph.node:
            attrs = _attributes(node)
            if node.op_type == "Constant":
                statics[node.output[0]] = _static_value(node, attrs)
                continue
            if node.op_type == "Shape" and node.input[0] in examples:
                statics[node.output[0]] = np.asarray(examples[node.input[0]].shape, dtype=np.int64)
                continue
            if node.op_type not in BUILDERS and node.op_type not in PARTS_BUILDERS:
                raise UnsupportedOpError(node.op_type, node.name, WHERE)
            inputs: list[Static] = [statics.get(name) if name else None for name in node.input]
            missing = [n for n in node.input if n and n not in statics and n not in examples]
            if missing:
                raise UnsupportedOpError(f"{node.op_type} reading unconverted value '{missing[0]}'", node.name, WHERE)
            if node.op_type in PARTS_BUILDERS:
                nodes += _parts(node, attrs, inputs, examples)
                continue
            op = BUILDERS[node.op_type](node, attrs, inputs)
            dynamic = [name for name in node.input if name and name not in statics]
            result = op(*(examples[name] for name in dynamic))
            if not dynamic:  # all inputs known now: fold into a constant
                statics[node.output[0]] = result.numpy()
                continue
            examples[node.output[0]] = result
            nodes.append(_Node(op, dynamic, node.output[0]))
    output = graph.output[0].name
    if output not in examples:
        raise UnsupportedOpError("a constant graph output", output, WHERE)
    return OnnxModule(nodes, graph_input.name, output).eval()
