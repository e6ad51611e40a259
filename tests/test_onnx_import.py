"""The ONNX importer reproduces ONNX Runtime's outputs, folds shape arithmetic, and names ops it cannot convert."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from edgebench.exceptions import UnsupportedOpError
from edgebench.model import from_module, load_onnx
from edgebench.nets import create_net
from edgebench.nets.shufflenetv2 import ShuffleUnit
from edgebench.onnx_import import OnnxModule, onnx_to_torch

RNG = np.random.default_rng(7)


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _handmade() -> onnx.ModelProto:
    """A graph with asymmetric padding, pooling, HardSwish, shape arithmetic and a softmax head."""
    f32 = np.float32
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[0, 0, 1, 1], strides=[2, 2], name="conv_asym"),
        helper.make_node("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["bn"], epsilon=1e-3),
        helper.make_node("HardSwish", ["bn"], ["hs"]),
        helper.make_node("MaxPool", ["hs"], ["mp"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Pad", ["ap", "pads"], ["pd"], mode="constant"),
        helper.make_node("LeakyRelu", ["pd"], ["lr"], alpha=0.1),
        helper.make_node("Mul", ["lr", "half"], ["mu"]),
        helper.make_node("Shape", ["mu"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["mu", "newshape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w2"], ["mm"]),
        helper.make_node("Clip", ["mm", "lo", "hi"], ["cl"]),
        helper.make_node("Softmax", ["cl"], ["y"], axis=-1),
    ]
    inits = [
        _init("w1", RNG.standard_normal((4, 3, 3, 3)).astype(f32)),
        _init("b1", RNG.standard_normal(4).astype(f32)),
        _init("s", RNG.uniform(0.5, 1.5, 4).astype(f32)),
        _init("bb", RNG.standard_normal(4).astype(f32)),
        _init("m", RNG.standard_normal(4).astype(f32)),
        _init("v", RNG.uniform(0.5, 1.5, 4).astype(f32)),
        _init("pads", np.array([0, 0, 1, 0, 0, 0, 0, 1], np.int64)),
        _init("half", np.array(0.5, f32)),
        _init("zero", np.array(0, np.int64)),
        _init("axes0", np.array([0], np.int64)),
        _init("minus1", np.array([-1], np.int64)),
        _init("w2", RNG.standard_normal((4 * 5 * 5, 6)).astype(f32)),
        _init("lo", np.array(-2.0, f32)),
        _init("hi", np.array(2.0, f32)),
    ]
    graph = helper.make_graph(
        nodes,
        "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def _ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _torch(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return module(torch.from_numpy(x)).numpy()


def test_handmade_graph_matches_onnxruntime() -> None:
    model = _handmade()
    module = onnx_to_torch(model)
    x = RNG.standard_normal((1, 3, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(_torch(module, x), _ort(model, x), rtol=1e-5, atol=1e-6)


def test_shape_arithmetic_is_folded_away() -> None:
    module = onnx_to_torch(_handmade())
    assert isinstance(module, OnnxModule)
    run_time_inputs = {name for node in module.nodes for name in node.inputs}  # type: ignore[union-attr]
    assert {"shp", "batch", "batch1", "newshape"}.isdisjoint(run_time_inputs)
    assert len(module.nodes) == 12  # 16 nodes less the four that compute the new shape


@pytest.mark.parametrize("net", ["mobilenetv2-0.5-cifar", "resnet18-0.25-cifar"])
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript-export", "dynamo-export"])
def test_exported_networks_round_trip(net: str, dynamo: bool, tmp_path: Path) -> None:
    module, shape = create_net(net, classes=10, seed=3)
    path = tmp_path / "net.onnx"
    torch.onnx.export(module, (torch.zeros(shape),), str(path), dynamo=dynamo, opset_version=18 if dynamo else 17)
    model = onnx.load(str(path))
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(_torch(onnx_to_torch(model), x), _ort(model, x), rtol=1e-4, atol=1e-5)


def test_unknown_op_is_named_with_its_node() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Einsum", ["r", "r"], ["y"], equation="ij,ij->ij", name="mix"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    with pytest.raises(UnsupportedOpError, match=r"cannot run ONNX op 'Einsum' \(node 'mix'\)"):
        onnx_to_torch(helper.make_model(graph))


def test_runtime_shape_input_is_refused() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["x"], ["s"], to=TensorProto.INT64),
            helper.make_node("Reshape", ["x", "s"], ["y"], name="dyn_reshape"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(UnsupportedOpError, match=r"run-time 'shape' input.*dyn_reshape"):
        onnx_to_torch(helper.make_model(graph))


def test_imported_module_exports_with_torch_export(tiny_onnx: Path) -> None:
    model = load_onnx(tiny_onnx)
    module = model.module()
    program = torch.export.export(module, (torch.zeros(model.input_shape),))
    x = RNG.standard_normal(model.input_shape).astype(np.float32)
    with torch.inference_mode():
        out = program.module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, _torch(module, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [13, 18])
def test_split_parts_given_or_equal(opset: int) -> None:
    given = [helper.make_tensor("sizes", TensorProto.INT64, [2], [1, 3])]
    parts = helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1, name="given")
    equal = helper.make_node(
        "Split", ["x"], ["c", "d"], axis=1, name="equal", **({"num_outputs": 2} if opset >= 18 else {})
    )
    nodes = [parts, equal, helper.make_node("Concat", ["b", "a", "d", "c"], ["y"], axis=1)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 2, 2])],
        given,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    x = RNG.standard_normal((1, 4, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(_torch(onnx_to_torch(model), x), _ort(model, x))


def test_a_split_of_a_constant_is_named() -> None:
    table = _init("table", np.ones((1, 4, 2, 2), np.float32))
    nodes = [helper.make_node("Split", ["table"], ["a", "b"], axis=1, name="halves"),
             helper.make_node("Add", ["x", "a"], ["y"])]  # fmt: skip
    x, y = (helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 2, 2, 2]) for name in "xy")
    graph = helper.make_graph(nodes, "g", [x], [y], [table])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    with pytest.raises(UnsupportedOpError, match=r"'Split of a constant' \(node 'halves'\)"):
        onnx_to_torch(model)


def test_channel_shuffle_units_round_trip(tmp_path: Path) -> None:
    module = torch.nn.Sequential(ShuffleUnit(8, 16, 2), ShuffleUnit(16, 16, 1)).eval()
    path = from_module("shuffle", module, (1, 8, 8, 8)).to_onnx(tmp_path)
    model = onnx.load(str(path))
    assert {"Split", "Transpose", "Concat"} <= {n.op_type for n in model.graph.node}
    x = RNG.standard_normal((1, 8, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_torch(onnx_to_torch(model), x), _ort(model, x), rtol=1e-4, atol=1e-5)
