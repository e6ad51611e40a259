"""Fixtures of the search tests: the tiny 32x32 space, and a variant of it with every elastic dimension."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.search.space import SearchSpace, load_space

TINY = Path(__file__).with_name("tiny32.yaml")


@pytest.fixture(scope="module")
def tiny() -> SearchSpace:
    return load_space(TINY)


@pytest.fixture(scope="module")
def elastic(tiny: SearchSpace) -> SearchSpace:
    """tiny32 whose second stage also chooses kernel 3 or 5 and expansion 1 or 2: every elastic dimension."""
    second = tiny.stages[1].model_copy(update={"kernel": (3, 5), "expansion": (1, 2)})
    return tiny.model_copy(update={"stages": (tiny.stages[0], second)})
