"""The records the cost model reads an ONNX graph into: the shapes and consumers of its tensors (:class:`Graph`)
and the kernels a runtime launches for it (:class:`Kernel`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

import onnx

from edgebench.exceptions import ModelLoadError
from edgebench.types import KernelKind, SizeClass, size_class

GENERIC = "generic data stream (a guess: an op outside the cost model's vocabulary)"


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
    role: str = GENERIC  # what it is in the vocabulary of standard networks (``roles.ROLES``)
    priced_op: str = ""  # the op it computes at a per-element rate of its own (PRICED_OPS), fused or alone
    priced_elems: int = 0  # that op's outputs (a window pool's window reads: outputs x taps)
    plain: bool = False  # a conv a channel-blocked runtime runs outside its blocked layout
    rows: int = 0  # output rows (channels x height) of a depthwise conv, 0 for other kernels
    gated: int = 0  # channels of a squeeze-excite gate's multiply (a per-channel scale computed in the network)
    one_pixel: bool = False  # a 1x1 conv on a one-pixel map: a batch-1 GEMV (squeeze-excite's layers)
    in_channels: int = 0  # a conv's input channels, 0 for other kernels
    weight_passes: int = 1  # times it reads its whole weights (a GEMM conv, once per tile of output pixels)

    @property
    def alone(self) -> bool:
        """Whether its priced op runs as a kernel of its own (not fused into a conv or linear layer): a swish alone
        starts with its sigmoid."""
        return self.ops[0] == self.priced_op or (self.ops == ("Sigmoid", "Mul") and self.priced_op == "Swish")

    @property
    def generic(self) -> bool:
        """Priced as a plain data stream because its op is outside the cost model's vocabulary."""
        return self.role == GENERIC

    @property
    def size(self) -> SizeClass:
        return size_class(self.flops)

    def bytes(self, bytes_per_elem: float) -> float:
        return (self.activation_elems + self.weight_elems) * bytes_per_elem


class Graph:
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
        self.inputs = {i.name for i in graph.input} - set(self.consts)
        self.consumers: Counter[str] = Counter()  # set by kernels() once the nodes that really run are known
        self.producers: dict[str, onnx.NodeProto] = {}  # likewise

    def shape(self, name: str, node: onnx.NodeProto) -> tuple[int, ...]:
        if name not in self.shapes:
            raise ModelLoadError(
                f"cannot tell the shape of '{name}' (input of node '{node.name or node.op_type}'); give the model "
                "static input shapes"
            )
        return self.shapes[name]

    def only_consumer(self, name: str) -> bool:
        return self.consumers[name] == 1 and name not in self.outputs

    def source(self, name: str, through: Collection[str]) -> onnx.NodeProto | None:
        """The node that computes ``name``, past the ops of ``through`` (None for a graph input)."""
        node = self.producers.get(name)
        while node is not None and node.op_type in through:
            node = self.producers.get(node.input[0])
        return node


def ints(node: onnx.NodeProto, name: str, default: list[int]) -> list[int]:
    """The integer (or integers) of attribute ``name`` of ``node``, else ``default``."""
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]
    return default
