"""NAS-Bench-201 networks rebuilt in PyTorch from their arch strings, for exporting and timing."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgebench.exceptions import ConfigError
from edgebench.nets.blocks import ClassifierHead

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def _check_edges(edges: tuple[tuple[str, ...], ...]) -> None:
    """Raise ValueError saying what is wrong unless node j (1..3) has j known ops, one per input i < j."""
    if len(edges) != 3:
        raise ValueError(f"expected 3 nodes, found {len(edges)}")
    for j, ops in enumerate(edges, 1):
        if len(ops) != j:
            raise ValueError(f"node {j} has {len(ops)} input(s), expected {j}")
        for i, op in enumerate(ops):
            if op not in OPS:
                raise ValueError(f"unknown op '{op}' on edge {i}->{j}; valid: {', '.join(OPS)}")


def _read_edges(text: str) -> tuple[tuple[str, ...], ...]:
    """The ops of ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, node by node; ValueError if malformed."""
    nodes = text.split("+")
    if len(nodes) != 3:
        raise ValueError(f"expected 3 '+'-separated nodes, found {len(nodes)}")
    edges = []
    for j, node in enumerate(nodes, 1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise ValueError(f"node {j} '{node}' is not enclosed in '|'")
        ops = []
        for i, edge in enumerate(node[1:-1].split("|")):
            op, tilde, source = edge.partition("~")
            if not tilde or source != str(i):
                raise ValueError(f"edge '{edge}' of node {j} should read 'op~{i}'")
            ops.append(op)
        edges.append(tuple(ops))
    _check_edges(tuple(edges))
    return tuple(edges)


@dataclass(frozen=True)
class NB201Arch:
    """A NAS-Bench-201 cell: ``edges[j - 1][i]`` is the op from node ``i`` into node ``j`` (j = 1..3)."""

    edges: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        try:
            _check_edges(self.edges)
        except ValueError as e:
            raise ConfigError(f"invalid NAS-Bench-201 edges {self.edges}: {e}") from None

    @classmethod
    def parse(cls, text: str) -> NB201Arch:
        """Parse an arch string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|``.

        Raises:
            ConfigError: the string is malformed; the message quotes it and says what is wrong.
        """
        try:
            return cls(_read_edges(text))
        except ValueError as e:
            raise ConfigError(f"malformed NAS-Bench-201 arch string '{text}': {e}") from None

    def __str__(self) -> str:
        return "+".join("|" + "".join(f"{op}~{i}|" for i, op in enumerate(ops)) for ops in self.edges)


def _kept_edges(arch: NB201Arch) -> tuple[tuple[int, int], ...]:
    """The ``(destination, source)`` edges that take part in the output, ordered by destination then source.

    An edge is kept when its op is not ``none``, its source is reachable from the cell input, and its destination
    reaches node 3; everything else cannot change the output and is left out of the module.
    """
    live = {0}
    for j, ops in enumerate(arch.edges, 1):
        if any(op != "none" and i in live for i, op in enumerate(ops)):
            live.add(j)
    useful = {3} & live
    for j in (3, 2, 1):
        if j in useful:
            useful.update(i for i, op in enumerate(arch.edges[j - 1]) if op != "none" and i in live)
    return tuple(
        (j, i)
        for j, ops in enumerate(arch.edges, 1)
        for i, op in enumerate(ops)
        if op != "none" and i in live and j in useful
    )


def _relu_conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout))


def _op(name: str, channels: int) -> nn.Module:
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    return _relu_conv_bn(channels, channels, 1 if name == "nor_conv_1x1" else 3)


class Zero(nn.Module):
    """NAS-Bench-201's ``none`` op as its reference code runs it: a multiply by zero, computed like any other."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0


class NB201Cell(nn.Module):
    """Nodes 0..3: node 0 is the input, node j sums its input edges, node 3 is the output.

    By default ``none`` edges and edges that cannot reach the output are not built, so an exported graph has no
    zero multiplies; a cell whose output node has no kept edge returns ``x * 0.0``. With ``reference=True`` every
    edge is built as NAS-Bench-201's reference code does (``none`` as :class:`Zero`, ops on all-zero nodes still
    computed): the graph that published NAS-Bench-201 latencies were measured on.
    """

    def __init__(self, arch: NB201Arch, channels: int, reference: bool = False) -> None:
        super().__init__()
        every = tuple((j, i) for j, ops in enumerate(arch.edges, 1) for i in range(len(ops)))
        self.edges = every if reference else _kept_edges(arch)
        self.ops = nn.ModuleList(
            Zero() if arch.edges[j - 1][i] == "none" else _op(arch.edges[j - 1][i], channels) for j, i in self.edges
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = {0: x}
        # every edge into node i precedes the edges out of it, so nodes[i] is complete when read
        for (j, i), op in zip(self.edges, self.ops, strict=True):
            y = op(nodes[i])
            nodes[j] = nodes[j] + y if j in nodes else y
        return nodes[3] if 3 in nodes else x * 0.0


class NB201Reduction(nn.Module):
    """ResNet basic block with stride 2: two ReLU-Conv3x3-BN, shortcut AvgPool 2x2 + Conv1x1 (no BN)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.block = nn.Sequential(_relu_conv_bn(cin, cout, 3, 2), _relu_conv_bn(cout, cout, 3))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.shortcut(x)


def nb201(
    arch: str | NB201Arch,
    channels: int = 16,
    cells: int = 5,
    classes: int = 100,
    in_channels: int = 3,
    reference: bool = False,
) -> nn.Module:
    """Build a NAS-Bench-201 network: stem, three stages of ``cells`` cells at C, 2C, 4C, head.

    Like the original, height and width must be multiples of 4: the shortcut's 2x2 pooling floors an odd size
    while the strided conv rounds it up, so their sum fails at a reduction whose input is odd.

    Args:
        arch: the cell, as an arch string or a parsed :class:`NB201Arch`.
        channels: C, the width of the first stage.
        cells: N, cells per stage.
        classes: outputs of the final linear layer.
        in_channels: channels of the input image.
        reference: build every edge as NAS-Bench-201's reference code does (see :class:`NB201Cell`).

    Raises:
        ConfigError: ``arch`` is a malformed arch string.
    """
    cell = NB201Arch.parse(arch) if isinstance(arch, str) else arch
    layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)]
    for stage in range(3):
        width = channels * 2**stage
        if stage:
            layers.append(NB201Reduction(width // 2, width))
        layers += [NB201Cell(cell, width, reference) for _ in range(cells)]
    width = channels * 4
    return nn.Sequential(*layers, nn.BatchNorm2d(width), nn.ReLU(), ClassifierHead(width, classes))
