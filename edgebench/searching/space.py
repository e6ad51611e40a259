"""Search spaces of MobileNetV2-style students, and ``ArchSpec``: one architecture as a small JSON document.

A space (``edgebench/searching/spaces/NAME.yaml``) fixes the input, the stem and the head, and per stage the stride
and the choices of depth and width, and per block the choices of expansion ratio, kernel size and squeeze-excite. An
``ArchSpec`` picks one value for each choice; it validates against its space, builds a PyTorch module, and
round-trips exactly through ``to_dict``/``from_dict`` (and JSON).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from torch import nn

from edgebench.exceptions import ConfigError, UnknownNameError
from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual

SCHEMA_VERSION = 1
SPACES_DIR = Path(str(resources.files("edgebench.searching") / "spaces"))  # package data, in a wheel too


def pad_channels(channels: int, multiple: int) -> int:
    """``channels`` rounded up to a multiple of ``multiple``."""
    return -(-channels // multiple) * multiple


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StemSpace(_Strict):
    """Fixed first convolution (conv-bn-relu6)."""

    out_channels: int = Field(gt=0)
    kernel: int = Field(default=3, gt=0)
    stride: int = Field(default=1, gt=0)


class HeadSpace(_Strict):
    """Fixed last layers: 1x1 conv-bn-relu6 to ``channels``, global average pool, linear to the classes."""

    channels: int = Field(gt=0)


class StageSpace(_Strict):
    """One stage: its first block has ``stride``; the choices apply to every block of the stage."""

    stride: int = Field(ge=1, le=2)
    depth: tuple[int, ...] = Field(min_length=1)
    width: tuple[int, ...] = Field(min_length=1)
    expansion: tuple[int, ...] = Field(min_length=1)
    kernel: tuple[int, ...] = Field(min_length=1)
    se: tuple[bool, ...] = (False,)

    @field_validator("depth", "width", "expansion")
    @classmethod
    def _positive(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 1 for v in values):
            raise ValueError("every choice must be >= 1")
        return tuple(sorted(set(values)))

    @field_validator("kernel")
    @classmethod
    def _odd(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 1 or v % 2 == 0 for v in values):
            raise ValueError("kernel sizes must be odd (3, 5, 7)")
        return tuple(sorted(set(values)))


class SearchSpace(_Strict):
    """A declared space of MobileNetV2-style networks; see the module docstring."""

    schema_version: int = SCHEMA_VERSION
    name: str
    description: str
    resolution: int = Field(gt=0)
    in_channels: int = 3
    classes: int = Field(default=10, gt=1)
    stem: StemSpace
    stages: tuple[StageSpace, ...] = Field(min_length=1)
    head: HeadSpace

    def for_device(self, channel_multiple: int) -> SearchSpace:
        """This space with every width rounded up to the device's channel multiple (duplicates merged)."""
        if channel_multiple <= 1:
            return self

        def up(c: int) -> int:
            return pad_channels(c, channel_multiple)

        stages = tuple(s.model_copy(update={"width": tuple(sorted({up(w) for w in s.width}))}) for s in self.stages)
        return self.model_copy(
            update={
                "stem": self.stem.model_copy(update={"out_channels": up(self.stem.out_channels)}),
                "head": self.head.model_copy(update={"channels": up(self.head.channels)}),
                "stages": stages,
            }
        )

    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.in_channels, self.resolution, self.resolution)

    def size(self) -> int:
        """Number of distinct architectures in the space."""
        total = 1
        for s in self.stages:
            per_block = len(s.expansion) * len(s.kernel) * len(s.se)
            total *= len(s.width) * sum(per_block**d for d in s.depth)
        return total

    def sample(self, rng: random.Random) -> ArchSpec:
        """A uniformly random choice per decision (depth, width, then each block's choices)."""
        stages = []
        for s in self.stages:
            blocks = tuple(
                BlockArch(rng.choice(s.expansion), rng.choice(s.kernel), rng.choice(s.se))
                for _ in range(rng.choice(s.depth))
            )
            stages.append(StageArch(rng.choice(s.width), blocks))
        return ArchSpec(self.name, tuple(stages))

    def validate_arch(self, arch: ArchSpec) -> None:
        """Raise ConfigError naming the first field of ``arch`` that the space does not allow."""
        if arch.space != self.name:
            raise ConfigError(f"architecture is for space '{arch.space}', not '{self.name}'")
        if len(arch.stages) != len(self.stages):
            raise ConfigError(
                f"space '{self.name}' has {len(self.stages)} stages; the architecture has {len(arch.stages)}"
            )
        for i, (stage, allowed) in enumerate(zip(arch.stages, self.stages, strict=True)):
            checks = [("width", stage.width, allowed.width), ("depth", len(stage.blocks), allowed.depth)]
            for j, b in enumerate(stage.blocks):
                for name in ("expansion", "kernel", "se"):
                    checks.append((f"blocks[{j}].{name}", getattr(b, name), getattr(allowed, name)))
            for name, value, choices in checks:
                if value not in choices:
                    raise ConfigError(f"stages[{i}].{name} = {value} is not in the space's choices {list(choices)}")

    def encoding_length(self) -> int:
        return sum(2 + 3 * max(s.depth) for s in self.stages)

    def encode(self, arch: ArchSpec) -> np.ndarray:
        """``arch`` as a vector of choice indices: per stage [width, depth, then (expansion, kernel, se) per slot].

        Depth is stored as the block count; slots past it are 0. The vectorised predictor and the searchers
        work on these vectors.
        """
        self.validate_arch(arch)
        out = np.zeros(self.encoding_length(), dtype=np.int64)
        i = 0
        for stage, allowed in zip(arch.stages, self.stages, strict=True):
            out[i], out[i + 1] = allowed.width.index(stage.width), len(stage.blocks)
            for j, b in enumerate(stage.blocks):
                slot = i + 2 + 3 * j
                out[slot : slot + 3] = (
                    allowed.expansion.index(b.expansion),
                    allowed.kernel.index(b.kernel),
                    allowed.se.index(b.se),
                )
            i += 2 + 3 * max(allowed.depth)
        return out

    def decode(self, vector: np.ndarray) -> ArchSpec:
        """The inverse of :meth:`encode`."""
        stages, i = [], 0
        for allowed in self.stages:
            width, depth = allowed.width[int(vector[i])], int(vector[i + 1])
            blocks = []
            for j in range(depth):
                e, k, se = (int(v) for v in vector[i + 2 + 3 * j : i + 5 + 3 * j])
                blocks.append(BlockArch(allowed.expansion[e], allowed.kernel[k], allowed.se[se]))
            stages.append(StageArch(width, tuple(blocks)))
            i += 2 + 3 * max(allowed.depth)
        return ArchSpec(self.name, tuple(stages))

    def build(self, arch: ArchSpec) -> nn.Module:
        """The PyTorch module for ``arch`` (random init): stem, the inverted-residual blocks, head."""
        self.validate_arch(arch)
        layers: list[nn.Module] = [
            ConvBNAct(self.in_channels, self.stem.out_channels, self.stem.kernel, self.stem.stride)
        ]
        cin = self.stem.out_channels
        for stage, allowed in zip(arch.stages, self.stages, strict=True):
            for j, b in enumerate(stage.blocks):
                stride = allowed.stride if j == 0 else 1
                layers.append(InvertedResidual(cin, stage.width, stride, b.expansion, b.kernel, b.se))
                cin = stage.width
        layers += [ConvBNAct(cin, self.head.channels, 1), ClassifierHead(self.head.channels, self.classes)]
        return nn.Sequential(*layers)


@dataclass(frozen=True)
class BlockArch:
    """One inverted-residual block's choices."""

    expansion: int
    kernel: int
    se: bool = False


@dataclass(frozen=True)
class StageArch:
    """One stage: its output width and its blocks (depth = number of blocks)."""

    width: int
    blocks: tuple[BlockArch, ...]


@dataclass(frozen=True)
class ArchSpec:
    """An architecture in a named space; hashable, and exact through ``to_dict``/``from_dict``."""

    space: str
    stages: tuple[StageArch, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "space": self.space,
            "stages": [
                {
                    "width": s.width,
                    "blocks": [{"expansion": b.expansion, "kernel": b.kernel, "se": b.se} for b in s.blocks],
                }
                for s in self.stages
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        """Parse strictly: unknown or missing keys raise ConfigError naming them."""
        try:
            return _ArchModel.model_validate(data).to_spec()
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "architecture"
            raise ConfigError(f"architecture field '{where}': {err['msg']}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        return cls.from_dict(json.loads(text))

    def depth(self) -> int:
        return sum(len(s.blocks) for s in self.stages)


class _BlockModel(_Strict):
    expansion: int
    kernel: int
    se: bool = False


class _StageModel(_Strict):
    width: int
    blocks: list[_BlockModel] = Field(min_length=1)


class _ArchModel(_Strict):
    schema_version: int = SCHEMA_VERSION
    space: str
    stages: list[_StageModel] = Field(min_length=1)

    def to_spec(self) -> ArchSpec:
        stages = tuple(
            StageArch(s.width, tuple(BlockArch(b.expansion, b.kernel, b.se) for b in s.blocks)) for s in self.stages
        )
        return ArchSpec(self.space, stages)


def load_arch(path: str | Path) -> ArchSpec:
    """Read an ``ArchSpec`` JSON file; ConfigError names the file on any problem."""
    path = Path(path)
    try:
        return ArchSpec.from_json(path.read_text())
    except (OSError, json.JSONDecodeError, ConfigError) as e:
        raise ConfigError(f"{path}: {e}") from None


def space_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SPACES_DIR.glob("*.yaml"))}


def load_space(path: str | Path) -> SearchSpace:
    """Parse a space YAML strictly; ConfigError names the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
        space = SearchSpace.model_validate(data)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: field '{where}': {err['msg']}") from None
    if space.name != path.stem:
        raise ConfigError(f"{path}: field 'name': '{space.name}' must match the file name '{path.stem}'")
    return space


def get_space(name_or_path: str) -> SearchSpace:
    """A shipped space by name (``edgebench/searching/spaces/NAME.yaml``) or any space YAML by path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return load_space(name_or_path)
    paths = space_paths()
    if name_or_path not in paths:
        raise UnknownNameError("search space", name_or_path, paths)
    return load_space(paths[name_or_path])
