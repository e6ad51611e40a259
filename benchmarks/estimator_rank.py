"""Does the search's accuracy estimate rank students as full training does? (target: Kendall tau >= 0.7)

Picks ``--archs`` architectures of ``mbv2-cifar`` spread evenly over their estimated ``myriadx`` latency range
(from 20,000 seeded draws) once, into ``results/rank_picks.jsonl`` (kept with the repository, so a later cost model
that prices the space otherwise does not pick others than those trained), then, for each one not yet trained
(results are CSVs kept with the repository, so the hours of training resume where they stopped, on any machine):

- ``train``: trains it stand-alone with the final recipe (``FINAL``: KD from the default teacher, seed 0), as
  ``final_runs.py`` does and into its table; ``--jobs`` at a time, each with its share of the threads.
- ``proxy``: trains it with the old search proxy (``PROXY``: 4 epochs at 16x16) and records its validation top-1
  in ``results/proxy_runs.csv``.
- ``rank``: Kendall tau and Spearman rho, with 95 % bootstrap intervals over architectures, of each estimate
  present (the old proxy; the weight-sharing estimator's predictor and its exact sub-network scores, when an
  estimator is cached for the default task) against the final recipe's test top-1; beside them, as the reference
  no validation-scored estimate can be expected to beat, the same trained networks' own validation top-1, and as
  the floor an estimate must clear to be worth its training, their FLOPs and parameter counts; last, the tau a
  perfect estimate of each architecture's expected accuracy would reach against one seed's training (simulated
  with the seed noise of the networks ``final_runs.csv`` holds over three seeds): the ceiling of the figure.

Usage: python benchmarks/estimator_rank.py {train,proxy,rank} [--archs 24] [--picks PATH] [--jobs 2]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import TypeVar

import final_runs
import numpy as np
from scipy.stats import kendalltau, spearmanr

from edgebench import api
from edgebench.costmodel.kernels import module_kernels
from edgebench.data import load_data
from edgebench.devices import get_device
from edgebench.distill.teacher import default_teacher
from edgebench.exceptions import ConfigError
from edgebench.lut.predictor import Predictor
from edgebench.lut.store import default_cache_dir
from edgebench.searching.estimator import EstimatorKey, estimator_dir, load_estimator
from edgebench.searching.nas import PROXY
from edgebench.searching.space import ArchSpec, SearchSpace, get_space
from edgebench.searching.supernet import SupernetConfig

T = TypeVar("T")
PROXY_RESULTS = Path(__file__).parent / "results" / "proxy_runs.csv"
PICKS = Path(__file__).parent / "results" / "rank_picks.jsonl"


def myriadx_predictor() -> tuple[Predictor, SearchSpace]:
    """The estimated myriadx latency of ``mbv2-cifar``'s architectures, and the space as the device adapts it."""
    prof = get_device("myriadx")
    space = get_space("mbv2-cifar").for_device(prof.channel_multiple)
    return Predictor(api.build_lut(prof, space=space).table, space), space


def pick(count: int, predictor: Predictor, space: SearchSpace, draws: int = 20000, seed: int = 0) -> list[ArchSpec]:
    """``count`` of ``draws`` random architectures of ``space``, nearest to evenly spaced latencies (by
    ``predictor``) between the 0.5th and 99.5th percentiles (so the fast and slow ends are covered, not only the
    crowded middle)."""
    rng = random.Random(seed)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(draws)))
    ms = predictor.predict_many(archs)
    picks: list[int] = []
    low, high = np.percentile(ms, [0.5, 99.5])
    for target in np.linspace(low, high, count):
        distance = np.abs(ms - target)
        distance[picks] = np.inf
        picks.append(int(np.argmin(distance)))
    return [archs[i] for i in sorted(picks, key=lambda i: ms[i])]


def pinned(count: int, path: Path = PICKS) -> list[tuple[ArchSpec, float]]:
    """The figure's architectures with their estimated myriadx latency now, fastest first. :func:`pick` draws them
    once into ``path``, kept with the repository: a later cost model prices the space otherwise, and picking again
    would choose others than those trained."""
    predictor, space = myriadx_predictor()
    if not path.exists():
        path.write_text("".join(a.to_json() + "\n" for a in pick(count, predictor, space)))
    archs = [ArchSpec.from_json(line) for line in path.read_text().splitlines() if line.strip()]
    ms = predictor.predict_many(archs)
    return sorted(zip(archs, map(float, ms), strict=True), key=lambda pair: pair[1])


def spread(items: list[T]) -> list[T]:
    """``items`` reordered so every prefix is spread over the whole list (each next item the one farthest from those
    already taken): a training session stopped part-way leaves architectures across the latency range, not only
    the fast end."""
    order = [0, len(items) - 1][: len(items)]
    while len(order) < len(items):
        order.append(
            max((i for i in range(len(items)) if i not in order), key=lambda i: min(abs(i - j) for j in order))
        )
    return [items[i] for i in order]


def bootstrap(x: np.ndarray, y: np.ndarray, statistic: str, n: int = 2000) -> tuple[float, float, float]:
    """The statistic (``tau`` or ``rho``) of x against y, with its 95 % percentile bootstrap interval."""

    def value(i: np.ndarray) -> float:
        s = kendalltau(x[i], y[i]) if statistic == "tau" else spearmanr(x[i], y[i])
        return float(s.statistic)

    rng = np.random.default_rng(0)
    samples = [value(rng.integers(0, len(x), len(x))) for _ in range(n)]
    low, high = np.nanpercentile(samples, [2.5, 97.5])
    return value(np.arange(len(x))), float(low), float(high)


def estimator_scores(archs: list[str]) -> dict[str, dict[str, float]]:
    """The default estimator's predictions and exact sub-network scores of ``archs``, if it is built and cached."""
    space, data, teacher = get_space("mbv2-cifar"), load_data(), default_teacher()
    folder = estimator_dir(default_cache_dir(), EstimatorKey.of(space, data, teacher, SupernetConfig()))
    try:
        estimator = load_estimator(folder)
    except ConfigError as e:
        print(f"no estimator to rank ({e}); build it with `edgebench estimator`")
        return {}
    specs = [ArchSpec.from_json(a) for a in archs]
    predicted = estimator.predict(specs)
    exact = {a: estimator.score(spec, data) for a, spec in zip(archs, specs, strict=True)}
    return {"estimator's predictor": dict(zip(archs, map(float, predicted), strict=True)),
            "supernet, inherited weights (val top-1)": exact}  # fmt: skip


def size_scores(archs: list[str]) -> dict[str, dict[str, float]]:
    """Each architecture's FLOPs and parameter count: the ranking an estimate must beat to be worth its training."""
    space = get_space("mbv2-cifar")
    flops, params = {}, {}
    for a in archs:
        module = space.build(ArchSpec.from_json(a)).eval()
        flops[a] = sum(k.flops for k in module_kernels(module, space.input_shape()))
        params[a] = float(sum(p.numel() for p in module.parameters()))
    return {"FLOPs (no training)": flops, "parameters (no training)": params}


def oracle_tau(final: np.ndarray, runs: dict[tuple[str, int], final_runs.Run], draws: int = 5000) -> None:
    """Print the Kendall tau a perfect estimate (each architecture's expected test top-1 over training seeds)
    would reach against one seed's test top-1, as this figure measures it: simulated with normal seed noise of the
    spread seen on the networks trained over three or more seeds (the rms and the median of their sds), true
    accuracies spread by the observed variance less the noise's."""
    seeds: dict[str, list[float]] = {}
    for (network, _), run in runs.items():
        seeds.setdefault(network, []).append(run.test_top1_pct)
    sds = np.array([np.std(v, ddof=1) for v in seeds.values() if len(v) >= 3])
    if not len(sds):
        return
    rng = np.random.default_rng(0)
    for label, noise in (("rms", float(np.sqrt(np.mean(sds**2)))), ("median", float(np.median(sds)))):
        spread = np.sqrt(max(final.var(ddof=1) - noise**2, 0.0))
        taus = np.empty(draws)
        for i in range(draws):
            true = rng.normal(0.0, spread, len(final))
            taus[i] = kendalltau(true, true + rng.normal(0.0, noise, len(final))).statistic
        low, high = np.percentile(taus, [2.5, 97.5])
        print(f"a perfect estimate, seed noise {noise:.2f} points ({label} sd over {len(sds)} networks trained on 3+ "
              f"seeds): Kendall tau median {np.median(taus):.2f} (95 % of draws {low:.2f} to {high:.2f}), >= 0.7 "
              f"in {100 * np.mean(taus >= 0.7):.0f} % of draws")  # fmt: skip


def rank_phase(archs: list[tuple[ArchSpec, float]], args: argparse.Namespace) -> None:
    wanted = [a.to_json() for a, _ in archs]
    runs = final_runs.read()
    final = {a: runs[a, 0].test_top1_pct for a in wanted if (a, 0) in runs}
    print(f"final recipe: {len(final)} of {len(wanted)} architectures trained")
    proxy = {a: r.val_top1_pct for (a, _), r in final_runs.read(args.proxy_results, PROXY).items()}
    # The reference: the trained networks' own validation top-1. An estimate scored on the validation split cannot
    # be expected to rank test top-1 better than the networks themselves measured there (both splits are samples).
    reference = {a: runs[a, 0].val_top1_pct for a in final}
    estimates = {"final recipe's own val top-1 (reference)": reference, "old proxy (val top-1)": proxy,
                 **size_scores(list(final)), **estimator_scores(wanted)}  # fmt: skip
    for name, estimate in estimates.items():
        common = [a for a in wanted if a in final and a in estimate]
        if len(common) < 3:
            print(f"{name}: {len(common)} architectures, too few to rank")
            continue
        x, y = np.array([estimate[a] for a in common]), np.array([final[a] for a in common])
        tau, rho = bootstrap(x, y, "tau"), bootstrap(x, y, "rho")
        print(f"{name} vs final test top-1 over {len(common)} architectures: Kendall tau {tau[0]:.2f} (95 % CI "
              f"{tau[1]:.2f} to {tau[2]:.2f}), Spearman {rho[0]:.2f} ({rho[1]:.2f} to {rho[2]:.2f})")  # fmt: skip
    oracle_tau(np.array(list(final.values())), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["train", "proxy", "rank"])
    parser.add_argument("--archs", type=int, default=24, help="architectures to draw when --picks does not exist")
    parser.add_argument("--picks", type=Path, default=PICKS, help="the drawn architectures, one JSON per line")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--proxy-results", type=Path, default=PROXY_RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    archs = pinned(args.archs, args.picks)
    print(f"{len(archs)} architectures, estimated myriadx {archs[0][1]:.2f}-{archs[-1][1]:.2f} ms")
    if args.phase == "train":
        final_runs.final_runs([a for a, _ in spread(archs)], [0], args.jobs, on_run=final_runs.announce)
    elif args.phase == "proxy":
        final_runs.final_runs(
            [a for a, _ in spread(archs)], [0], args.jobs, args.proxy_results, final_runs.announce, PROXY
        )
    else:
        rank_phase(archs, args)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
