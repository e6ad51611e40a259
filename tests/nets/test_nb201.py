"""NAS-Bench-201 builder: arch strings, pruned cells, shapes, parameter count and the exported ONNX graph."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import onnx
import pytest
import torch

from edgebench.exceptions import ConfigError
from edgebench.nets.nb201 import NB201Arch, NB201Cell, nb201

CALIBRATION = Path(__file__).parents[3] / "shared" / "calibration"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _run(module: torch.nn.Module, shape: tuple[int, ...]) -> torch.Tensor:
    with torch.no_grad():
        return module.eval()(torch.randn(shape))


def test_published_arch_strings_round_trip() -> None:
    path = CALIBRATION / "nb201_arch_strings.csv"
    if not path.exists():
        pytest.skip(f"{path} is not checked out beside the repo")
    with path.open(newline="") as f:
        strings = [row["arch_str"] for _, row in zip(range(5), csv.DictReader(f), strict=False)]
    assert len(strings) == 5
    for s in strings:
        assert str(NB201Arch.parse(s)) == s
        assert NB201Arch.parse(s) == NB201Arch.parse(str(NB201Arch.parse(s)))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected 3 '+'-separated nodes, found 1"),
        ("|none~0|+|none~0|none~1|", "expected 3 '+'-separated nodes, found 2"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 'none~0|' is not enclosed in '|'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "edge 'none~2' of node 2 should read 'op~1'"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "edge 'none' of node 1 should read 'op~0'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 input(s), expected 2"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5' on edge 0->1"),
    ],
)
def test_malformed_arch_string_names_it_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        NB201Arch.parse(text)
    assert f"'{text}'" in str(err.value) and problem in str(err.value)


def test_arch_built_from_bad_edges_is_rejected() -> None:
    with pytest.raises(ConfigError, match="node 3 has 2 input"):
        NB201Arch((("none",), ("none", "none"), ("none", "none")))


@pytest.mark.parametrize(("shape", "in_channels"), [((1, 3, 32, 32), 3), ((1, 1, 52, 16), 1), ((2, 3, 88, 88), 3)])
def test_network_classifies_inputs_of_any_multiple_of_4_size(shape: tuple[int, ...], in_channels: int) -> None:
    out = _run(nb201(ALL_CONV3, in_channels=in_channels), shape)
    assert out.shape == (shape[0], 100) and torch.isfinite(out).all()


def test_all_none_cell_gives_a_finite_output() -> None:
    net = nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", classes=10)
    out = _run(net, (1, 3, 32, 32))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


def test_parameter_count_of_the_all_conv3x3_arch_follows_the_spec() -> None:
    c, n, classes = 16, 5, 100
    bn = 2  # weight and bias per channel

    def cell(w: int) -> int:
        return 6 * (w * w * 9 + bn * w)

    def reduction(cin: int, cout: int) -> int:
        return cin * cout * 9 + bn * cout + cout * cout * 9 + bn * cout + cin * cout

    expected = (
        3 * c * 9 + bn * c
        + n * (cell(c) + cell(2 * c) + cell(4 * c))
        + reduction(c, 2 * c) + reduction(2 * c, 4 * c)
        + bn * 4 * c + 4 * c * classes + classes
    )  # fmt: skip
    assert sum(p.numel() for p in nb201(ALL_CONV3).parameters()) == expected


def test_none_edges_and_edges_that_cannot_reach_the_output_are_not_built() -> None:
    # node 1 = conv(x) is only read through none edges, so neither it nor its conv is built
    net = nb201("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|", cells=1)
    cell = next(m for m in net.modules() if isinstance(m, NB201Cell))
    convs = [m for m in cell.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.kernel_size for m in convs] == [(1, 1)]


def test_exported_graph_has_one_conv_per_conv_edge_and_no_multiplies(tmp_path: Path) -> None:
    # three conv edges per cell; node inputs per cell 1 + 2 + 3, so 0 + 1 + 2 Adds
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    path = tmp_path / "nb201.onnx"
    torch.onnx.export(nb201(arch).eval(), (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, opset_version=17)
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Conv"] == 1 + 2 * 3 + 15 * 3
    assert ops["Add"] == 2 + 15 * 3
    assert ops["Mul"] == 0


def test_reference_build_computes_none_edges_and_ops_on_zero_nodes(tmp_path: Path) -> None:
    # node 2 only sums 'none' edges, yet its 3x3 conv into node 3 is computed, as NAS-Bench-201's own code does
    arch = "|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    path = tmp_path / "nb201.onnx"
    net = nb201(arch, reference=True).eval()
    torch.onnx.export(net, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, opset_version=17)
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Mul"] == 15 * 2  # two 'none' edges per cell
    assert ops["Conv"] == 1 + 2 * 3 + 15 * 3  # the 3x3 conv on the all-zero node 2 included
    assert ops["Add"] == 2 + 15 * 3
    assert torch.isfinite(net(torch.randn(2, 3, 32, 32))).all()
