"""Fixtures of the search tests: the tiny 32x32 space, and a variant of it with every elastic dimension."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebench.searching.space import SearchSpace, load_space

TINY = Path(__file__).with_name("tiny32.yaml")


@pytest.fixture(scope="module")
def tiny() -> SearchSpace:
    return load_space(TINY)


@pytest.fixture(scope="module")
def elastic(tiny: SearchSpace) -> SearchSpace:
    """tiny32 whose second stage also chooses kernel 3 or 5 and expansion 1 or 2: every elastic dimension."""
    second = tiny.stages[1].model_copy(update={"kernel": (3, 5), "expansion": (1, 2)})
    return tiny.model_copy(update={"stages": (tiny.stages[0], second)})


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One thread for a module of tiny networks (they run fastest so); the suite's setting is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    """Four classes told apart by brightness, as ``tmp_path/shades.npz``."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % 4
    x = (rng.integers(0, 60, (80, 32, 32, 3)) + 60 * y[:, None, None, None]).astype(np.uint8)
    np.savez(tmp_path / "shades.npz", x=x, y=y)
    return tmp_path / "shades.npz"
