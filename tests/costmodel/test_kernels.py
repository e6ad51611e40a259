"""ONNX graphs become the kernels a runtime runs: fusion, free ops, deduplication, work and data counted right."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from edgebench.costmodel.kernels import KernelRules, kernels, load_kernels
from edgebench.costmodel.layouts import REORDER
from edgebench.costmodel.roles import ONE_PIXEL_CONV, PLAIN_ROLES
from edgebench.devices.local import nchwc_block
from edgebench.exceptions import ModelLoadError, UnsupportedOpError
from edgebench.model import from_module
from edgebench.nets import create_net
from edgebench.types import KernelKind


def _graph(
    nodes: list[onnx.NodeProto], shapes: dict[str, list[int]], out: str, out_shape: list[int]
) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.zeros(s, np.float32), n) for n, s in shapes.items() if n != "x"]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shapes["x"])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _conv_bn_relu() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], name="bn"),
        helper.make_node("Relu", ["n"], ["y"], name="relu"),
    ]
    shapes = {"x": [1, 3, 16, 16], "w": [8, 3, 3, 3], "g": [8], "b": [8], "m": [8], "v": [8]}
    return _graph(nodes, shapes, "y", [1, 8, 8, 8])


def test_conv_bn_relu_is_one_kernel_with_counted_work() -> None:
    (k,) = kernels(_conv_bn_relu())
    assert k.kind is KernelKind.CONV
    assert k.ops == ("Conv", "BatchNormalization", "Relu")
    assert k.flops == 2 * (8 * 8 * 8) * (3 * 9)  # 2 x output elements x input channels x window
    assert k.activation_elems == 3 * 16 * 16 + 8 * 8 * 8
    assert k.weight_elems == 8 * 3 * 3 * 3
    assert k.bytes(2.0) == 2.0 * (k.activation_elems + k.weight_elems)


def test_activation_with_two_consumers_stays_a_kernel_of_its_own() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["c", "r"], ["y"], name="add"),
    ]
    ks = kernels(_graph(nodes, {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1]}, "y", [1, 4, 8, 8]))
    assert [k.ops for k in ks] == [("Conv",), ("Relu",), ("Add",)]
    assert [k.kind for k in ks] == [KernelKind.POINTWISE_CONV, KernelKind.ACTIVATION, KernelKind.ELEMENTWISE]
    assert ks[2].flops == 4 * 8 * 8  # one add per output element


def test_identical_nodes_run_once_and_adds_absorb_their_activation() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r1"], name="relu1"),
        helper.make_node("Relu", ["x"], ["r2"], name="relu2"),  # the same op on the same input: one kernel
        helper.make_node("Add", ["r1", "r2"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="relu3"),
    ]
    ks = kernels(_graph(nodes, {"x": [1, 2, 4, 4]}, "y", [1, 2, 4, 4]))
    assert [k.ops for k in ks] == [("Relu",), ("Add", "Relu")]


def test_depthwise_grouped_and_free_ops() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["a"], name="dw", group=8, pads=[2, 2, 2, 2]),
        helper.make_node("Conv", ["a", "gw"], ["b"], name="grouped", group=2, pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["b"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], name="fc", transB=1),
    ]
    shapes = {"x": [1, 8, 4, 4], "dw": [8, 1, 5, 5], "gw": [8, 4, 3, 3], "fc": [10, 128], "fb": [10]}
    ks = kernels(_graph(nodes, shapes, "y", [1, 10]))
    assert [k.kind for k in ks] == [KernelKind.DEPTHWISE_CONV, KernelKind.GROUPED_CONV, KernelKind.LINEAR]
    assert ks[0].flops == 2 * (8 * 4 * 4) * 25
    assert ks[1].flops == 2 * (8 * 4 * 4) * 4 * 9
    assert ks[2].flops == 2 * 10 * 128 and ks[2].weight_elems == 10 * 128
    # multiply-adds per output element: input channels per group x window; a linear layer's input features
    assert [k.reduction_depth for k in ks] == [25, 4 * 9, 128]


def test_unknown_op_names_the_op_and_node() -> None:
    nodes = [helper.make_node("Einsum", ["x", "x"], ["y"], name="mystery", equation="ij,ij->ij")]
    with pytest.raises(UnsupportedOpError, match=r"'Einsum' \(node 'mystery'\); it prices .* `edgebench bench`"):
        kernels(_graph(nodes, {"x": [2, 2]}, "y", [2, 2]))


def test_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"definitely not protobuf \xff\xff")
    with pytest.raises(ModelLoadError, match=r"junk\.onnx"):
        load_kernels(junk)


def test_mobilenetv2_224_matches_its_published_size(tmp_path: Path) -> None:
    module, shape = create_net("mobilenetv2-1.0-224")
    ks = load_kernels(from_module("mbv2", module, shape).to_onnx(tmp_path))
    counts = Counter(k.kind for k in ks)
    assert counts[KernelKind.DEPTHWISE_CONV] == 17
    assert counts[KernelKind.POINTWISE_CONV] == 34  # 16 expansions + 17 projections + the last 1x1 conv
    assert counts[KernelKind.ELEMENTWISE] == 10  # the residual adds
    assert sum(k.flops for k in ks) / 2e6 == pytest.approx(300, rel=0.01)  # ~300 M multiply-adds (10 classes)


def test_litert_folds_multiplies_by_zero_but_still_runs_convolutions_on_them() -> None:
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [
        helper.make_node("Mul", ["x", "zero"], ["z"], name="none_edge"),
        helper.make_node("Relu", ["z"], ["rz"], name="relu_of_zero"),
        helper.make_node("Conv", ["rz", "w"], ["c"], name="conv_of_zero", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "z"], ["s"], name="plus_zero"),  # s is c: the add goes
        helper.make_node("Add", ["s", "x"], ["y"], name="residual"),
    ]
    model = _graph(nodes, {"x": [1, 4, 8, 8], "w": [4, 4, 3, 3]}, "y", [1, 4, 8, 8])
    model.graph.initializer.append(zero)
    assert [k.name for k in kernels(model, KernelRules.of("tflite"))] == ["conv_of_zero", "residual"]
    assert [k.name for k in kernels(model, KernelRules.of("onnxruntime"))] == [
        "none_edge", "relu_of_zero", "conv_of_zero", "plus_zero", "residual",
    ]  # fmt: skip


def test_litert_ships_a_constant_when_no_output_depends_on_the_input() -> None:
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["stem"], name="stem", pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["stem", "zero"], ["z"], name="none_edge"),  # a cell with no path through it
        helper.make_node("Conv", ["z", "w"], ["y"], name="conv_of_zero", pads=[1, 1, 1, 1]),
    ]
    model = _graph(nodes, {"x": [1, 4, 8, 8], "w": [4, 4, 3, 3]}, "y", [1, 4, 8, 8])
    model.graph.initializer.append(zero)
    assert kernels(model, KernelRules.of("tflite")) == []  # measured: an NB201 cell like it converts to 0 ops
    assert [k.name for k in kernels(model, KernelRules.of("onnxruntime"))] == ["stem", "conv_of_zero"]  # it folds
    # the multiply into the stem's weights (its optimised graph: two convs) and runs the second conv on zeros


def _residual_se_block() -> onnx.ModelProto:
    """conv-bn, + x, relu; then a squeeze-excite style broadcast multiply; 24 channels (not a multiple of 16)."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], name="bn"),
        helper.make_node("Add", ["n", "x"], ["s"], name="residual"),
        helper.make_node("Relu", ["s"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="squeeze"),
        helper.make_node("Mul", ["r", "p"], ["y"], name="excite"),
    ]
    shapes = {"x": [1, 24, 8, 8], "w": [24, 24, 3, 3], "g": [24], "b": [24], "m": [24], "v": [24]}
    return _graph(nodes, shapes, "y", [1, 24, 8, 8])


def test_a_blocked_layout_sums_the_residual_in_the_conv_and_reorders_between_layouts() -> None:
    plain = kernels(_residual_se_block())
    blocked = kernels(_residual_se_block(), KernelRules.of("onnxruntime", channel_block=16, filter_pass=6.0))
    assert [k.ops for k in plain] == [("Conv", "BatchNormalization"), ("Add", "Relu"), ("GlobalAveragePool",), ("Mul",)]
    assert [k.ops for k in blocked] == [
        ("ReorderInput",), ("Conv", "BatchNormalization", "Add", "Relu"), ("ReorderOutput",), ("GlobalAveragePool",),
        ("Mul",),
    ]  # fmt: skip
    into, conv, out_of, _, excite = blocked
    assert conv.activation_elems == plain[0].activation_elems + 24 * 8 * 8  # reads the summed operand too
    # 24 channels padded to 32, in and out; 2 of the 4 blocks of a filter set: 2 x (6 + 4) / (4 x (6 + 2))
    assert conv.lanes_used == pytest.approx((24 / 32) ** 2 * 0.625)
    assert into.activation_elems == out_of.activation_elems == 2 * 24 * 8 * 8 and into.role == REORDER
    assert excite.activation_elems == plain[-1].activation_elems  # a broadcast multiply runs on the plain layout
    assert plain[0].lanes_used == 1.0


def test_a_stem_reads_its_few_input_channels_unpadded() -> None:
    stem, out_of = kernels(_conv_bn_relu(), KernelRules(channel_block=16))  # 3 -> 8 channels
    # one block of a filter set, a pass costing half a block at block 16 (AVX-512): (0.5 + 4) / (4 x (0.5 + 1))
    assert stem.lanes_used == pytest.approx(8 / 16 * 4.5 / 6)
    assert out_of.ops == ("ReorderOutput",)  # the graph's output leaves the blocked layout


@pytest.mark.parametrize(
    ("channels", "share"), [(8, 10 / 28), (16, 20 / 32), (24, 30 / 36), (32, 1.0), (40, 50 / 68), (64, 1.0)]
)
def test_a_blocked_conv_runs_slower_on_output_blocks_that_leave_a_filter_set_part_filled(
    channels: int, share: float
) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    shapes = {"x": [1, channels, 16, 16], "w": [channels, channels, 3, 3]}
    (conv,) = kernels(_graph(nodes, shapes, "y", [1, channels, 16, 16]), KernelRules(channel_block=8))[1:2]
    assert conv.lanes_used == pytest.approx(share)  # measured on Zen 2: 0.35, 0.62, 0.85, 1.0, 0.72, 1.0


@pytest.mark.parametrize(("channels", "share"), [(16, 1.0), (24, 0.75), (40, 40 / 48), (64, 1.0)])
def test_an_output_blocked_runtime_pads_a_convs_output_channels_and_reorders_the_graph_input(
    channels: int, share: float
) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Conv", ["c", "d"], ["y"], name="dw", group=channels, pads=[1, 1, 1, 1]),
    ]
    shapes = {"x": [1, 3, 16, 16], "w": [channels, 3, 1, 1], "d": [channels, 1, 3, 3]}
    model = _graph(nodes, shapes, "y", [1, channels, 16, 16])
    reorder, conv, dw = kernels(model, KernelRules.of("openvino", output_block=16))
    assert (reorder.ops, reorder.activation_elems) == (("Transpose",), 2 * 3 * 16 * 16)  # NCHW into channels-last
    assert (conv.lanes_used, dw.lanes_used) == (pytest.approx(share), 1.0)  # 24 output channels computed as 32
    assert [k.name for k in kernels(model, KernelRules.of("openvino"))] == ["conv", "dw"]  # no block: no reorder


@pytest.mark.parametrize(("side", "share"), [(1, 1.0), (2, 4 / 7), (4, 16 / 21), (7, 1.0), (8, 64 / 70)])
def test_a_pixel_tiled_runtime_pads_a_convs_output_pixels_to_whole_tiles(side: int, share: float) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="pw"),
        helper.make_node("Conv", ["c", "v"], ["d"], name="dense", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["d", "u"], ["y"], name="dw", group=16, pads=[1, 1, 1, 1]),
    ]
    shapes = {"x": [1, 16, side, side], "w": [16, 16, 1, 1], "v": [16, 16, 3, 3], "u": [16, 1, 3, 3]}
    model = _graph(nodes, shapes, "y", [1, 16, side, side])
    tiled = [k for k in kernels(model, KernelRules.of("tflite", output_block=16, pixel_block=7)) if k.name != "x"]
    lanes = {k.name: k.lanes_used for k in tiled if k.kind is not KernelKind.ELEMENTWISE}
    assert lanes == {"pw": pytest.approx(share), "dense": pytest.approx(share), "dw": 1.0}  # XNNPACK's mr: 7
    passes = {k.name: k.weight_passes for k in tiled if k.kind is not KernelKind.ELEMENTWISE}
    assert passes == {"pw": -(-side * side // 7), "dense": -(-side * side // 7), "dw": 1}  # the weights once a tile
    plain = {k.name: k for k in kernels(model, KernelRules.of("tflite", output_block=16))}
    assert plain["pw"].lanes_used == plain["dense"].lanes_used == 1.0
    assert plain["pw"].weight_passes == plain["dense"].weight_passes == 1


def _network(name: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    from edgebench.nets.nb201 import nb201
    from edgebench.nets.resnet import resnet18
    from edgebench.nets.shufflenetv2 import ShuffleUnit

    cell = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    if name == "shufflenet-units":  # 58-channel halves: plain depthwise convs, reorders around split and concat
        return torch.nn.Sequential(ShuffleUnit(24, 116, 2), ShuffleUnit(116, 116, 1)), (1, 24, 16, 16)
    if name == "mobilenetv3-small-224":  # squeeze-excite, hard-swish, channels off the block
        return create_net(name)
    return (resnet18(0.25) if name == "resnet18" else nb201(cell)), (1, 3, 32, 32)


@pytest.mark.parametrize("name", ["nb201", "resnet18", "shufflenet-units", "mobilenetv3-small-224"])
def test_blocked_kernels_match_onnxruntimes_adds_and_reorders(name: str, tmp_path: Path) -> None:
    """ONNX Runtime's NCHWc optimiser (x86) is the reference: it sums an Add into the conv before it, and its
    optimised graph holds the reorders between the blocked and the plain layout."""
    ort = pytest.importorskip("onnxruntime")
    module, shape = _network(name)
    path = from_module(name, module.eval(), shape).to_onnx(tmp_path)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    optimized = Counter(n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node)
    if not optimized["ReorderOutput"]:
        pytest.skip("this CPU has no NCHWc layout in ONNX Runtime")
    ours = load_kernels(path, KernelRules.of("onnxruntime", channel_block=nchwc_block()))
    counted = Counter(k.ops[0] for k in ours)
    assert [counted[op] for op in ("Add", "ReorderInput", "ReorderOutput")] == [
        optimized[op] for op in ("Add", "ReorderInput", "ReorderOutput")
    ]


@pytest.mark.parametrize("name", ["nb201", "resnet18", "mobilenetv3-small-224"])
def test_post_op_kernels_match_openvinos_executed_graph(name: str, tmp_path: Path) -> None:
    """OpenVINO's executed graph (CPU plugin, f32) is the reference: the convs it runs, and which of them add a
    residual in their epilogue."""
    ov = pytest.importorskip("openvino")
    module, shape = _network(name)
    path = from_module(name, module.eval(), shape).to_onnx(tmp_path)
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    convs = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) == "Convolution":
            convs.append(
                any(n.rsplit("/", 1)[-1].startswith("Add") for n in info["originalLayersNames"].astype(str).split(","))
            )
    ours = [k for k in load_kernels(path, KernelRules.of("openvino")) if k.ops[0] == "Conv"]
    assert (len(ours), sum("Add" in k.ops for k in ours)) == (len(convs), sum(convs))


def test_kernels_are_named_in_the_vocabulary_of_standard_networks_and_a_guess_says_so() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="expand"),
        helper.make_node("Sigmoid", ["c"], ["s"], name="sigmoid"),
        helper.make_node("Mul", ["c", "s"], ["a"], name="swish"),
        helper.make_node("GlobalAveragePool", ["a"], ["p"], name="squeeze"),
        helper.make_node("Conv", ["p", "w1"], ["q"], name="reduce"),
        helper.make_node("HardSigmoid", ["q"], ["h"], name="hsig"),
        helper.make_node("Mul", ["a", "h"], ["e"], name="excite"),
        helper.make_node("Exp", ["e"], ["y"], name="mystery"),
    ]
    shapes = {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1], "w1": [4, 4, 1, 1]}
    model = _graph(nodes, shapes, "y", [1, 4, 8, 8])
    ks = {k.name: k for k in kernels(model, KernelRules.of("onnxruntime"))}
    roles = {name: (k.role, k.generic) for name, k in ks.items()}
    assert (ks["excite"].gated, ks["sigmoid"].gated, ks["squeeze"].gated) == (4, 0, 0)  # the gate scales 4 channels
    assert roles["expand"] == ("pointwise convolution", False)
    assert "swish" not in roles  # ONNX Runtime runs x * sigmoid(x) as one kernel (QuickGelu), priced as a swish
    assert roles["sigmoid"] == ("swish (x times its sigmoid, one kernel)", False)
    assert (ks["sigmoid"].ops, ks["sigmoid"].priced_op, ks["sigmoid"].alone) == (("Sigmoid", "Mul"), "Swish", True)
    litert = {k.name: k.role for k in kernels(model, KernelRules.of("tflite"))}
    assert (litert["sigmoid"], litert["swish"]) == ("sigmoid", "swish (x times its sigmoid, unfused)")
    assert roles["squeeze"] == ("global pooling", False)
    assert roles["reduce"][0] == ONE_PIXEL_CONV and ks["reduce"].one_pixel  # HardSigmoid fused into it
    assert not ks["expand"].one_pixel
    assert roles["excite"] == ("squeeze-excite gate (a per-channel scale broadcast over the map)", False)
    assert roles["mystery"][1] and roles["mystery"][0].startswith("generic data stream")


@pytest.mark.parametrize(
    ("name", "role"), [("mobilenetv3-small-224", "squeeze-excite gate"), ("shufflenetv2-1.0-224", "channel shuffle")]
)
def test_standard_networks_have_no_kernel_priced_by_a_guess(name: str, role: str, tmp_path: Path) -> None:
    module, shape = create_net(name)
    ks = load_kernels(from_module(name, module, shape).to_onnx(tmp_path))
    assert not [k.name for k in ks if k.generic]
    assert any(role in k.role for k in ks)


def test_a_window_pool_is_priced_by_its_window_reads_and_a_global_one_by_its_bytes() -> None:
    nodes = [
        helper.make_node("AveragePool", ["x"], ["a"], name="avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["a"], ["m"], name="max", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["m"], ["y"], name="gap"),
    ]
    model = _graph(nodes, {"x": [1, 4, 8, 8]}, "y", [1, 4, 1, 1])
    priced = [(k.priced_op, k.priced_elems) for k in kernels(model, KernelRules.of("openvino"))]
    assert priced == [("AveragePool", 9 * 4 * 8 * 8), ("MaxPool", 4 * 4 * 4 * 4), ("", 0)]


@pytest.mark.parametrize(("channels", "backend", "plain"), [(58, "onnxruntime", True), (56, "onnxruntime", False),
                                                           (58, "tflite", False)])  # fmt: skip
def test_a_depthwise_conv_a_blocked_runtime_cannot_block_is_marked_plain(
    channels: int, backend: str, plain: bool
) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="dw", group=channels, pads=[1, 1, 1, 1])]
    model = _graph(nodes, {"x": [1, channels, 8, 8], "w": [channels, 1, 3, 3]}, "y", [1, channels, 8, 8])
    rules = KernelRules.of(backend, 8 if backend == "onnxruntime" else 1)
    [dw] = [k for k in kernels(model, rules) if k.kind is KernelKind.DEPTHWISE_CONV]
    role = PLAIN_ROLES[KernelKind.DEPTHWISE_CONV]
    assert dw.plain is plain and (dw.role == role) is plain  # predict --json says why it is slow
    assert dw.rows == channels * 8  # output rows: channels x height


@pytest.mark.parametrize(("channels", "window", "plain"), [(62, 1, True), (62, 3, True), (64, 1, False),
                                                         (64, 3, False), (12, 3, False)])  # fmt: skip
def test_a_dense_conv_a_blocked_runtime_leaves_plain_is_marked_and_computes_whole_pixel_vectors(
    channels: int, window: int, plain: bool
) -> None:
    pad = window // 2
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[pad] * 4)]
    model = _graph(nodes, {"x": [1, channels, 7, 7], "w": [channels, channels, window, window]}, "y",
                   [1, channels, 7, 7])  # fmt: skip
    [conv] = [k for k in kernels(model, KernelRules.of("onnxruntime", 16)) if k.kind is not KernelKind.ELEMENTWISE]
    assert conv.plain is plain and (conv.role == PLAIN_ROLES[conv.kind]) is plain
    if plain:  # im2col and a GEMM over 16-pixel vectors: 49 pixels take four
        assert conv.lanes_used == pytest.approx(49 / 64)
    [tflite] = [k for k in kernels(model, KernelRules.of("tflite")) if k.kind is conv.kind]
    assert not tflite.plain  # a runtime without a channel block runs every conv in its one layout


@pytest.mark.parametrize(("channels", "plain"), [(24, True), (32, False)])
def test_a_window_pool_off_the_channel_block_is_marked_plain_and_a_global_one_is_not(
    channels: int, plain: bool
) -> None:
    nodes = [
        helper.make_node("MaxPool", ["x"], ["m"], name="max", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["m"], ["y"], name="gap"),
    ]
    model = _graph(nodes, {"x": [1, channels, 8, 8]}, "y", [1, channels, 1, 1])
    pools = {k.name: k for k in kernels(model, KernelRules.of("onnxruntime", 16)) if k.kind is KernelKind.POOLING}
    assert pools["max"].plain is plain and (pools["max"].role == PLAIN_ROLES[KernelKind.POOLING]) is plain
    assert not pools["gap"].plain


def test_each_runtime_fuses_its_own_activations() -> None:
    hswish = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("HardSwish", ["c"], ["y"], name="hswish"),
    ]
    swish = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Sigmoid", ["c"], ["s"], name="sigmoid"),
        helper.make_node("Mul", ["c", "s"], ["y"], name="mul"),
    ]
    shapes = {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1]}
    hs, sw = _graph(hswish, shapes, "y", [1, 4, 8, 8]), _graph(swish, shapes, "y", [1, 4, 8, 8])
    assert [k.ops for k in kernels(hs, KernelRules.of("onnxruntime"))] == [("Conv", "HardSwish")]
    litert = [("Transpose",), ("Conv",), ("HardSwish",)]  # its input transposed to NHWC; XNNPACK fuses clamps only
    assert [k.ops for k in kernels(hs, KernelRules.of("tflite"))] == litert
    assert [k.ops for k in kernels(sw, KernelRules.of("openvino"))] == [("Conv", "Sigmoid", "Mul")]
    priced = [(k.priced_op, k.priced_elems) for k in kernels(sw, KernelRules.of("openvino"))]
    assert priced == [("Swish", 4 * 8 * 8)]  # the fused swish, priced whole
    priced = [(k.priced_op, k.priced_elems) for k in kernels(sw, KernelRules.of("onnxruntime"))]
    assert priced == [("", 0), ("Swish", 4 * 8 * 8)]  # one kernel of its own after the conv (QuickGelu)
    assert [k.priced_op for k in kernels(hs, KernelRules.of("tflite"))] == ["Transpose", "", "HardSwish"]
    assert [k.ops for k in kernels(sw, KernelRules.of("onnxruntime"))] == [("Conv",), ("Sigmoid", "Mul")]
    stated = KernelRules.of("tflite", fuses=["Relu", "HardSwish"])  # a profile's own list wins over the default
    assert [k.ops for k in kernels(hs, stated)] == [("Transpose",), ("Conv", "HardSwish")]


def test_tensorrt_runs_a_concatenation_in_place_where_the_other_runtimes_copy_it() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Concat", ["x", "c"], ["y"], name="concat", axis=1),
        helper.make_node("Relu", ["y"], ["z"], name="relu"),
    ]
    model = _graph(nodes, {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1]}, "z", [1, 8, 8, 8])
    assert [k.ops for k in kernels(model, KernelRules.of("tensorrt"))] == [("Conv",), ("Relu",)]
    for backend in ("onnxruntime", "openvino"):  # a copy of both inputs: 2 x 256 elements read, 512 written
        [concat] = [k for k in kernels(model, KernelRules.of(backend)) if k.ops == ("Concat",)]
        assert concat.activation_elems == 2 * 8 * 8 * 8
    myriad = KernelRules.of("openvino", device="MYRIAD", in_place=["Concat"])  # a profile's own list
    assert [k.ops for k in kernels(model, myriad)] == [("Conv",), ("Relu",)]


def test_runtimes_fold_a_constant_scale_after_a_conv_into_it() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Mul", ["c", "per_channel"], ["m"], name="scale"),
        helper.make_node("Add", ["shift", "m"], ["a"], name="shift"),
        helper.make_node("Relu", ["a"], ["y"], name="relu"),
    ]
    shapes = {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1], "per_channel": [1, 4, 1, 1], "shift": []}
    graph = _graph(nodes, shapes, "y", [1, 4, 8, 8])
    for backend in ("onnxruntime", "openvino"):
        assert [k.ops for k in kernels(graph, KernelRules.of(backend))] == [("Conv", "Relu")]
    assert [k.ops for k in kernels(graph)] == [("Conv",), ("Mul",), ("Add", "Relu")]  # a runtime not named folds none
    along_width = {**shapes, "per_channel": [8]}  # broadcasts along the width: not a per-channel scale
    graph = _graph(nodes, along_width, "y", [1, 4, 8, 8])
    assert [k.ops for k in kernels(graph, KernelRules.of("onnxruntime"))] == [("Conv",), ("Mul",), ("Add", "Relu")]


def _two_convs_summed(read_later: bool) -> onnx.ModelProto:
    """Two 1x1 convs of x added, scaled by a constant and rectified; ``read_later``: the second conv's output is
    read again after the add."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="conv_a"),
        helper.make_node("Conv", ["x", "w"], ["b"], name="conv_b", strides=[1, 1]),
        helper.make_node("Add", ["a", "b"], ["s"], name="add"),
        helper.make_node("Mul", ["s", "half"], ["m"], name="scale"),
        helper.make_node("Relu", ["m"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "b" if read_later else "r"], ["y"], name="out"),
    ]
    return _graph(nodes, {"x": [1, 4, 8, 8], "w": [4, 4, 1, 1], "half": []}, "y", [1, 4, 8, 8])


@pytest.mark.parametrize("backend", ["openvino", "tensorrt"])
def test_post_op_runtimes_run_a_residual_add_and_what_follows_it_in_the_conv_before_it(backend: str) -> None:
    openvino = KernelRules.of(backend)
    assert openvino.post_ops and not KernelRules.of("openvino", device="MYRIAD").post_ops  # the CPU plugin's
    ks = kernels(_two_convs_summed(read_later=False), openvino)
    assert [k.ops for k in ks] == [("Conv", "Add", "Relu"), ("Conv",), ("Add",)]
    assert ks[0].activation_elems == ks[1].activation_elems + 4 * 8 * 8  # it reads the summed operand too
    # the conv accumulates into the other operand's buffer: not where a later node still reads it
    ks = kernels(_two_convs_summed(read_later=True), openvino)
    assert [k.ops for k in ks] == [("Conv",), ("Conv",), ("Add", "Mul", "Relu", "Add")]  # elementwise ops chained
    onnxruntime = [k.ops for k in kernels(_two_convs_summed(read_later=False), KernelRules.of("onnxruntime"))]
    assert onnxruntime == [("Conv",), ("Conv",), ("Add",), ("Mul",), ("Relu",), ("Add",)]


def _shuffle_then_flatten() -> onnx.ModelProto:
    """A channel shuffle between two convs, then a flatten of a 2x2 map before a linear layer (as VGG's)."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="conv1"),
        helper.make_node("Reshape", ["a", "split"], ["g"], name="groups"),
        helper.make_node("Transpose", ["g"], ["t"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "merge"], ["s"], name="merge"),
        helper.make_node("Conv", ["s", "w"], ["b"], name="conv2", strides=[4, 4]),
        helper.make_node("Flatten", ["b"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]
    model = _graph(nodes, {"x": [1, 8, 8, 8], "w": [8, 8, 1, 1], "fc": [10, 32]}, "y", [1, 10])
    model.graph.initializer.extend([
        numpy_helper.from_array(np.array([1, 2, 4, 8, 8], np.int64), "split"),
        numpy_helper.from_array(np.array([1, 8, 8, 8], np.int64), "merge"),
    ])  # fmt: skip
    return model


def test_a_channels_last_runtime_transposes_around_reshapes_of_maps() -> None:
    transposed = [k.name for k in kernels(_shuffle_then_flatten(), KernelRules.of("tflite")) if "Transpose" in k.ops]
    # as LiteRT's converted ShuffleNetV2 runs it (49 TRANSPOSE ops: 1 + 3 per shuffle) and VGG-16 (2)
    assert transposed == ["transpose x", "transpose a", "shuffle", "transpose s", "transpose b"]
    assert [k.name for k in kernels(_shuffle_then_flatten(), KernelRules.of("openvino")) if "Transpose" in k.ops] == [
        "shuffle"
    ]
    into = next(k for k in kernels(_shuffle_then_flatten(), KernelRules.of("tflite")) if k.name == "transpose a")
    assert into.activation_elems == 2 * 8 * 8 * 8 and into.kind is KernelKind.ELEMENTWISE
    assert (into.priced_op, into.priced_elems) == ("Transpose", 8 * 8 * 8)  # at the runtime's transpose rate
