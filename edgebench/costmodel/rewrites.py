"""What a runtime's converter does to an ONNX graph before it runs: common subexpressions merged, and for a
converter that folds constants (:data:`FOLDS_ZEROS`) multiplies by zero folded away and dead nodes dropped."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import numpy_helper


def rewire(node: onnx.NodeProto, alias: dict[str, str]) -> list[str]:
    """Point the node's inputs at the names ``alias`` maps them to; returns the new inputs."""
    inputs = [alias.get(i, i) for i in node.input]
    del node.input[:]
    node.input.extend(inputs)
    return inputs


def cse(nodes: Iterable[onnx.NodeProto], keep: set[str]) -> list[onnx.NodeProto]:
    """Drop nodes that repeat an earlier node's op, inputs and attributes (as runtimes do), rewiring their
    consumers to the first; nodes writing a name in ``keep`` (graph outputs) stay."""
    seen: dict[tuple[object, ...], onnx.NodeProto] = {}
    alias: dict[str, str] = {}
    kept = []
    for node in nodes:
        inputs = tuple(rewire(node, alias))
        key = (node.op_type, node.domain, inputs, tuple(a.SerializeToString() for a in node.attribute))
        if key in seen and len(node.output) == 1 and node.output[0] not in keep:
            alias[node.output[0]] = seen[key].output[0]
            continue
        seen[key] = node
        kept.append(node)
    return kept


#: Backends whose converter folds a multiply by a zero constant and the elementwise ops computed from zeros alone
#: (LiteRT's converter does; ONNX Runtime and OpenVINO run the multiply). Convolutions, pooling and linear
#: layers have no constant folder there: they still run, on a zero input, unless the whole output no longer
#: depends on the input (a NAS-Bench-201 cell with no path through it): then the converter ships a constant, no
#: kernel at all, and what fed only folded ops is dropped as dead.
FOLDS_ZEROS = {"tflite"}


def live(nodes: list[onnx.NodeProto], inputs: set[str], outputs: set[str]) -> list[onnx.NodeProto]:
    """The nodes an output needs (none when no output depends on the graph's inputs: it is a constant)."""
    dependent = set(inputs)
    for node in nodes:
        if any(i in dependent for i in node.input):
            dependent.update(node.output)
    needed = {o for o in outputs if o in dependent}
    kept = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            needed.update(i for i in node.input if i)
            kept.append(node)
    return kept[::-1]


def constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def fold_zeros(
    nodes: list[onnx.NodeProto], values: dict[str, np.ndarray], runs_on_constants: set[str]
) -> tuple[list[onnx.NodeProto], set[str]]:
    """Drop what a folding converter removes: multiplies by zero, the zero terms of sums, and every op but
    those in ``runs_on_constants`` whose inputs are all constants. Returns the nodes left and the names
    that became constants."""
    zero = {n for n, v in values.items() if v.size and not np.any(v)}
    const: set[str] = set(values)
    alias: dict[str, str] = {}
    kept = []
    for node in nodes:
        inputs = rewire(node, alias)
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
        elif not dynamic and node.op_type not in runs_on_constants:
            const.update(node.output)
        else:
            kept.append(node)
    return kept, const | zero
