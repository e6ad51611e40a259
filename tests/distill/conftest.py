"""The smallest student of the default space."""

from __future__ import annotations

from edgebench.searching.space import ArchSpec, BlockArch, StageArch, get_space


def smallest(space_name: str = "mbv2-cifar") -> ArchSpec:
    """Every first choice: least depth and width, smallest expansion and kernel, no squeeze-excite."""
    space = get_space(space_name)
    stages = tuple(
        StageArch(s.width[0], tuple(BlockArch(s.expansion[0], s.kernel[0], s.se[0]) for _ in range(s.depth[0])))
        for s in space.stages
    )
    return ArchSpec(space.name, stages)
