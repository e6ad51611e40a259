"""A tiny learnable data set (the class is the image's brightness) and the smallest student of the default space."""

from __future__ import annotations

import numpy as np
import pytest

from edgebench.data import ImageData
from edgebench.data.dataset import make_data
from edgebench.search.space import ArchSpec, BlockArch, StageArch, get_space


def smallest(space_name: str = "mbv2-cifar") -> ArchSpec:
    """Every first choice: least depth and width, smallest expansion and kernel, no squeeze-excite."""
    space = get_space(space_name)
    stages = tuple(
        StageArch(s.width[0], tuple(BlockArch(s.expansion[0], s.kernel[0], s.se[0]) for _ in range(s.depth[0])))
        for s in space.stages
    )
    return ArchSpec(space.name, stages)


@pytest.fixture(scope="session")
def bright_dark() -> ImageData:
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = rng.integers(0, 120, (120, 3, 32, 32)) + 120 * y[:, None, None, None]
    return make_data("bright-dark", ("dark", "bright"), x.astype(np.uint8), y, flip=True)
