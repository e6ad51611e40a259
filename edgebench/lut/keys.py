"""LUT keys: one per fused block (stem, whole inverted-residual block, head), so fusion inside a block is measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

from torch import nn

from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual
from edgebench.searching.space import ArchSpec, SearchSpace


class BlockKind(str, Enum):
    STEM = "stem"
    MBCONV = "mbconv"
    HEAD = "head"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class LutKey:
    """Everything that decides a block's latency: its kind, input shape, and configuration.

    For the head, ``out_channels`` is the 1x1 conv's width and ``classes`` the linear layer's outputs.
    """

    kind: str
    resolution: int  # input height = width
    in_channels: int
    out_channels: int
    stride: int = 1
    expansion: int = 1
    kernel: int = 1
    se: bool = False
    classes: int = 0

    @property
    def residual(self) -> bool:
        return self.kind == BlockKind.MBCONV and self.stride == 1 and self.in_channels == self.out_channels

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.in_channels, self.resolution, self.resolution)

    @property
    def params(self) -> int:
        """Convolution and linear weights (BatchNorm folded away): what the block reads from memory per inference."""
        if self.kind == BlockKind.STEM:
            return self.in_channels * self.out_channels * self.kernel**2
        if self.kind == BlockKind.HEAD:
            return self.out_channels * (self.in_channels + self.classes)
        hidden = self.in_channels * self.expansion
        expand = self.in_channels * hidden if self.expansion != 1 else 0
        se = 2 * hidden * max(8, hidden // 4) if self.se else 0
        return expand + hidden * self.kernel**2 + se + hidden * self.out_channels

    @property
    def label(self) -> str:
        """Human-readable name used in messages and tables."""
        core = f"{self.kind} {self.in_channels}->{self.out_channels} @{self.resolution}"
        if self.kind == BlockKind.MBCONV:
            extra = " +se" if self.se else ""
            return f"{core} s{self.stride} e{self.expansion} k{self.kernel}{extra}{' res' if self.residual else ''}"
        if self.kind == BlockKind.STEM:
            return f"{core} s{self.stride} k{self.kernel}"
        return f"{core} classes={self.classes}"

    def build(self) -> nn.Module:
        """The block as a standalone module (random init), exactly as it appears inside a built network."""
        if self.kind == BlockKind.STEM:
            return ConvBNAct(self.in_channels, self.out_channels, self.kernel, self.stride)
        if self.kind == BlockKind.MBCONV:
            return InvertedResidual(
                self.in_channels, self.out_channels, self.stride, self.expansion, self.kernel, self.se
            )
        return nn.Sequential(
            ConvBNAct(self.in_channels, self.out_channels, 1), ClassifierHead(self.out_channels, self.classes)
        )

    def to_row(self) -> dict[str, Any]:
        return {**asdict(self), "residual": self.residual}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LutKey:
        """The key of a table row (or of :meth:`to_row`'s dict); extra columns are ignored."""
        ints = {f.name: int(row[f.name]) for f in fields(cls) if f.name not in ("kind", "se")}
        return cls(kind=str(row["kind"]), se=bool(row["se"]), **ints)


KEY_COLUMNS = tuple(f.name for f in fields(LutKey))


def arch_keys(space: SearchSpace, arch: ArchSpec) -> list[LutKey]:
    """The blocks of ``arch`` in network order: stem, every inverted-residual block, head."""
    space.validate_arch(arch)
    res = space.resolution
    stem = LutKey(
        BlockKind.STEM.value,
        res,
        space.in_channels,
        space.stem.out_channels,
        space.stem.stride,
        kernel=space.stem.kernel,
    )
    keys = [stem]
    res = _out_res(res, space.stem.stride)
    cin = space.stem.out_channels
    for stage, allowed in zip(arch.stages, space.stages, strict=True):
        for j, b in enumerate(stage.blocks):
            stride = allowed.stride if j == 0 else 1
            keys.append(LutKey(BlockKind.MBCONV.value, res, cin, stage.width, stride, b.expansion, b.kernel, b.se))
            res, cin = _out_res(res, stride), stage.width
    keys.append(LutKey(BlockKind.HEAD.value, res, cin, space.head.channels, classes=space.classes))
    return keys


def _out_res(res: int, stride: int) -> int:
    return -(-res // stride)  # 'same' padding: ceil(res / stride)


def enumerate_keys(space: SearchSpace) -> list[LutKey]:
    """Every unique key any architecture of ``space`` can need, sorted."""
    keys = {
        LutKey(BlockKind.STEM.value, space.resolution, space.in_channels, space.stem.out_channels, space.stem.stride,
               kernel=space.stem.kernel)
    }  # fmt: skip
    res = _out_res(space.resolution, space.stem.stride)
    in_widths: tuple[int, ...] = (space.stem.out_channels,)
    for s in space.stages:
        configs = [(e, k, se) for e in s.expansion for k in s.kernel for se in s.se]
        for width in s.width:
            for e, k, se in configs:
                for cin in in_widths:
                    keys.add(LutKey(BlockKind.MBCONV.value, res, cin, width, s.stride, e, k, se))
                if max(s.depth) > 1:
                    after = _out_res(res, s.stride)
                    keys.add(LutKey(BlockKind.MBCONV.value, after, width, width, 1, e, k, se))
        res, in_widths = _out_res(res, s.stride), s.width
    for cin in in_widths:
        keys.add(LutKey(BlockKind.HEAD.value, res, cin, space.head.channels, classes=space.classes))
    return sorted(keys)
