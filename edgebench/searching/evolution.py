"""Evolutionary search on cheap objectives: an accuracy estimate and a latency prediction, both vectorised, so a
generation of a hundred architectures is judged in milliseconds (once-for-all's search step).

Each generation breeds children from the feasible Pareto front and the most accurate feasible architectures so far
(stage-wise crossover, then mutation of each decision), judges them in one call per objective, and keeps every
distinct architecture judged; the caller reads the front of what is under the budget.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from edgebench.exceptions import ConfigError
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch, StageSpace

#: An objective: one value per architecture, computed for all of them at once.
Objective = Callable[[Sequence[ArchSpec]], np.ndarray]
T = TypeVar("T")
#: The first generation's size, in populations: enough draws that a tight budget still leaves parents.
FIRST = 10


@dataclass(frozen=True)
class EvolutionSettings:
    """How long and how wide the search runs.

    Attributes:
        population: children per generation, and the first generation's size.
        generations: rounds of breeding after the first generation.
        mutation: chance that each decision of a child is drawn anew.
        seed: every random choice.
    """

    population: int = 100
    generations: int = 40
    mutation: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.population < 2 or self.generations < 0 or not 0 <= self.mutation <= 1:
            raise ConfigError(
                f"evolution needs population >= 2, generations >= 0 and mutation in 0..1, not {self.population}, "
                f"{self.generations} and {self.mutation}"
            )


@dataclass(frozen=True)
class Judged:
    """An architecture with its predicted latency and estimated accuracy."""

    arch: ArchSpec
    latency_ms: float
    accuracy_pct: float


def _block(stage: StageSpace, rng: random.Random) -> BlockArch:
    return BlockArch(rng.choice(stage.expansion), rng.choice(stage.kernel), rng.choice(stage.se))


def mutate(space: SearchSpace, arch: ArchSpec, rate: float, rng: random.Random) -> ArchSpec:
    """``arch`` with each decision (a stage's width and depth, a block's expansion, kernel and SE) drawn anew with
    chance ``rate``; blocks a deeper stage gains are drawn at random."""

    def maybe(value: T, choices: Sequence[T]) -> T:
        return rng.choice(choices) if rng.random() < rate else value

    stages = []
    for stage, allowed in zip(arch.stages, space.stages, strict=True):
        depth = maybe(len(stage.blocks), allowed.depth)
        blocks = [
            BlockArch(maybe(b.expansion, allowed.expansion), maybe(b.kernel, allowed.kernel), maybe(b.se, allowed.se))
            for b in stage.blocks[:depth]
        ]
        blocks += [_block(allowed, rng) for _ in range(depth - len(blocks))]
        stages.append(StageArch(maybe(stage.width, allowed.width), tuple(blocks)))
    return ArchSpec(arch.space, tuple(stages))


def crossover(a: ArchSpec, b: ArchSpec, rng: random.Random) -> ArchSpec:
    """Each stage (width and blocks together) from one parent or the other."""
    return ArchSpec(a.space, tuple(rng.choice((x, y)) for x, y in zip(a.stages, b.stages, strict=True)))


def front(judged: Sequence[Judged]) -> list[Judged]:
    """The architectures no other is at least as fast and as accurate as, and strictly better in one; by latency."""
    ordered = sorted(judged, key=lambda j: (j.latency_ms, -j.accuracy_pct))
    best, out = -np.inf, []
    for j in ordered:
        if j.accuracy_pct > best:
            out.append(j)
            best = j.accuracy_pct
    return out


def evolve(
    space: SearchSpace,
    latency: Objective,
    accuracy: Objective,
    budget_ms: float,
    settings: EvolutionSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Judged]:
    """Every distinct architecture judged under ``budget_ms``, most accurate first, after the generations.

    The first generation is :data:`FIRST` x ``population`` random draws; an infeasible architecture is judged but
    never bred from.
    """
    settings = settings or EvolutionSettings()
    rng = random.Random(settings.seed)
    seen: dict[ArchSpec, Judged] = {}

    def judge(archs: Sequence[ArchSpec]) -> None:
        fresh = [a for a in dict.fromkeys(archs) if a not in seen]
        if fresh:
            for arch, ms, acc in zip(fresh, latency(fresh), accuracy(fresh), strict=True):
                seen[arch] = Judged(arch, float(ms), float(acc))

    judge([space.sample(rng) for _ in range(FIRST * settings.population)])
    for generation in range(settings.generations):
        feasible = sorted((j for j in seen.values() if j.latency_ms <= budget_ms), key=lambda j: -j.accuracy_pct)
        parents = list(dict.fromkeys([*front(feasible), *feasible[: settings.population // 2]]))
        if not parents:
            break
        children = [
            mutate(space, crossover(rng.choice(parents).arch, rng.choice(parents).arch, rng), settings.mutation, rng)
            for _ in range(settings.population)
        ]
        judge(children)
        if progress:
            progress(generation + 1, settings.generations)
    return sorted((j for j in seen.values() if j.latency_ms <= budget_ms), key=lambda j: -j.accuracy_pct)
