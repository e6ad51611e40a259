"""The evolutionary search finds the best architecture under a budget on a space small enough to enumerate, keeps
to the space and the budget, and repeats itself for a seed."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import numpy as np
import pytest

from edgebench.exceptions import ConfigError
from edgebench.searching.evolution import FIRST, EvolutionSettings, Judged, crossover, evolve, front, mutate
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch, get_space


def every_arch(space: SearchSpace) -> list[ArchSpec]:
    stages = []
    for s in space.stages:
        blocks = [BlockArch(e, k, se) for e, k, se in itertools.product(s.expansion, s.kernel, s.se)]
        stages.append([StageArch(w, combo) for w in s.width for d in s.depth
                       for combo in itertools.product(blocks, repeat=d)])  # fmt: skip
    return [ArchSpec(space.name, tuple(c)) for c in itertools.product(*stages)]


def latency(archs: Sequence[ArchSpec]) -> np.ndarray:
    """Wider, deeper, bigger-kernel networks are slower."""
    return np.array([sum(s.width * sum(b.expansion * b.kernel for b in s.blocks) for s in a.stages) for a in archs],
                    dtype=float)  # fmt: skip


def accuracy(archs: Sequence[ArchSpec]) -> np.ndarray:
    """Capacity helps, SE helps a little, and kernel 5 helps only in the last stage."""
    return np.array([sum(s.width * len(s.blocks) + sum(2 * b.se + (b.kernel == 5) * (i == 1) for b in s.blocks)
                         for i, s in enumerate(a.stages)) for a in archs], dtype=float)  # fmt: skip


def test_it_finds_the_enumerated_optimum_under_the_budget(elastic: SearchSpace) -> None:
    archs = every_arch(elastic)
    assert len(archs) == elastic.size()
    ms, acc = latency(archs), accuracy(archs)
    budget = float(np.median(ms))
    best = max(acc[ms <= budget])
    drawn = evolve(elastic, latency, accuracy, budget, EvolutionSettings(population=8, generations=0))
    found = evolve(elastic, latency, accuracy, budget, EvolutionSettings(population=8, generations=10))
    assert drawn[0].accuracy_pct < best and found[0].accuracy_pct == best  # breeding, not the first draws, found it
    assert all(j.latency_ms <= budget for j in found)
    assert [j.accuracy_pct for j in found] == sorted((j.accuracy_pct for j in found), reverse=True)


def test_it_beats_random_sampling_of_as_many_architectures() -> None:
    space = get_space("mbv2-cifar")
    rng = random.Random(5)
    budget = float(np.median(latency([space.sample(rng) for _ in range(200)])))
    settings = EvolutionSettings(population=20, generations=30, seed=5)
    found = evolve(space, latency, accuracy, budget, settings)
    draws = list(dict.fromkeys(space.sample(rng) for _ in range((FIRST + settings.generations) * settings.population)))
    ms, acc = latency(draws), accuracy(draws)
    assert found[0].accuracy_pct > acc[ms <= budget].max()


def test_the_same_seed_gives_the_same_search() -> None:
    space = get_space("mbv2-cifar")
    settings = EvolutionSettings(population=20, generations=5, seed=3)
    budget = float(np.median(latency([space.sample(random.Random(i)) for i in range(200)])))
    first, second = (evolve(space, latency, accuracy, budget, settings) for _ in range(2))
    assert first == second and len(first) > 20


def test_children_stay_in_the_space() -> None:
    space, rng = get_space("mbv2-cifar"), random.Random(0)
    for _ in range(300):
        a, b = space.sample(rng), space.sample(rng)
        space.validate_arch(mutate(space, crossover(a, b, rng), 0.3, rng))
    a = space.sample(rng)
    assert mutate(space, a, 0.0, rng) == a and crossover(a, a, rng) == a


def test_front_keeps_only_the_non_dominated() -> None:
    arch = get_space("mbv2-cifar").sample(random.Random(0))
    judged = [Judged(arch, 1.0, 50.0), Judged(arch, 2.0, 60.0), Judged(arch, 2.5, 55.0), Judged(arch, 1.0, 40.0)]
    assert [(j.latency_ms, j.accuracy_pct) for j in front(judged)] == [(1.0, 50.0), (2.0, 60.0)]


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="population >= 2"):
        EvolutionSettings(population=1)
