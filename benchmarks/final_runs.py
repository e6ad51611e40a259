"""Stand-alone trainings with the final recipe, shared by the benchmarks and kept with the repository.

A training of one network with one seed under ``FINAL`` (KD from the default task's default teacher) costs minutes
to an hour on two cores, and the same one serves several benchmarks (a baseline width is the reference of the
default-task check and of the search comparison; an architecture of the rank check may lie on a searched front).
:func:`final_runs` trains what ``results/final_runs.csv`` lacks, ``jobs`` at a time, appending each row as it
finishes, so hours of training resume where they stopped, on any machine. A row counts only for the same recipe,
data and teacher (by the digest of its weights).

Usage: python benchmarks/final_runs.py NETWORK_OR_ARCH_JSON... [--seeds 0 1 2] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from edgebench.data import DEFAULT_DATA, load_data
from edgebench.distill import get_loss, train
from edgebench.distill.checkpoint import WEIGHTS
from edgebench.distill.networks import Network, label
from edgebench.distill.teacher import default_teacher, default_teacher_dir
from edgebench.distill.train import FINAL, TrainConfig
from edgebench.lifetime import worker_pool
from edgebench.searching.space import ArchSpec

RESULTS = Path(__file__).parent / "results" / "final_runs.csv"
COLUMNS = ("network", "seed", "val_top1_pct", "test_top1_pct", "wall_s", "images_per_s", "threads", "setting")


@dataclass(frozen=True)
class Run:
    """One finished training: the network (a built-in name or an ArchSpec JSON), its seed and its scores."""

    network: str
    seed: int
    val_top1_pct: float
    test_top1_pct: float
    wall_s: float
    images_per_s: float
    threads: int


def setting(recipe: TrainConfig = FINAL) -> str:
    """What a row must match to count: the recipe, the loss, the data and the teacher's weights."""
    default_teacher()  # copied or trained into the cache if it is not there yet
    weights = (default_teacher_dir() / WEIGHTS).read_bytes()
    record = {"recipe": recipe.to_dict(), "loss": "kd", "data": DEFAULT_DATA,
              "teacher": hashlib.sha256(weights).hexdigest()[:12]}  # fmt: skip
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]


def key(network: Network) -> str:
    return network.to_json() if isinstance(network, ArchSpec) else network


def _train(network: str, seed: int, threads: int, recipe: TrainConfig = FINAL) -> Run:
    torch.set_num_threads(threads)
    data, teacher = load_data(), default_teacher()
    student: Network = ArchSpec.from_json(network) if network.startswith("{") else network
    _, result = train(student, data, get_loss("kd"), teacher.module, replace(recipe, seed=seed))
    return Run(network, seed, result.val_top1_pct, result.test_top1_pct, result.wall_time_s, result.images_per_s,
               threads)  # fmt: skip


def read(path: Path = RESULTS, recipe: TrainConfig = FINAL) -> dict[tuple[str, int], Run]:
    """The rows of ``path`` made with today's setting of ``recipe``."""
    if not path.is_file():
        return {}
    wanted, runs = setting(recipe), {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["setting"] == wanted:
                run = Run(row["network"], int(row["seed"]), float(row["val_top1_pct"]), float(row["test_top1_pct"]),
                          float(row["wall_s"]), float(row["images_per_s"]), int(row["threads"]))  # fmt: skip
                runs[run.network, run.seed] = run
    return runs


def append_row(path: Path, columns: Sequence[str], values: Sequence[object]) -> None:
    """Append one row to the CSV ``path`` (a results file kept with the repository), its header first if new."""
    new = not path.is_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(columns)
        writer.writerow(values)


def _append(path: Path, run: Run, tag: str) -> None:
    append_row(path, COLUMNS, [run.network, run.seed, f"{run.val_top1_pct:.4f}", f"{run.test_top1_pct:.4f}",
                               f"{run.wall_s:.0f}", f"{run.images_per_s:.1f}", run.threads, tag])  # fmt: skip


def final_runs(
    networks: Sequence[Network],
    seeds: Sequence[int],
    jobs: int = 2,
    path: Path = RESULTS,
    on_run: Callable[[Run], None] | None = None,
    recipe: TrainConfig = FINAL,
) -> dict[tuple[str, int], Run]:
    """Every (network, seed) trained with ``recipe`` (the final one by default): read from ``path``, the missing
    ones trained now, ``jobs`` at a time with the threads shared out, each appended to ``path`` as it finishes."""
    tag, done = setting(recipe), read(path, recipe)
    todo = [(key(n), s) for s in seeds for n in networks if (key(n), s) not in done]
    threads = max(1, torch.get_num_threads() // jobs)
    if todo:
        with worker_pool(jobs) as pool:
            # as each finishes, not in submission order: a run done while a longer one trains is kept if stopped
            for future in as_completed([pool.submit(_train, n, s, threads, recipe) for n, s in todo]):
                run = future.result()
                _append(path, run, tag)
                done[run.network, run.seed] = run
                if on_run:
                    on_run(run)
    return {(key(n), s): done[key(n), s] for n in networks for s in seeds}


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """The mean of ``values`` and its 95 % t interval (nan bounds for a single value)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float(x.mean()), float("nan"), float("nan")
    low, high = stats.t.interval(0.95, len(x) - 1, x.mean(), stats.sem(x))
    return float(x.mean()), float(low), float(high)


def describe(run: Run) -> str:
    network: Network = ArchSpec.from_json(run.network) if run.network.startswith("{") else run.network
    return (f"{label(network):40} seed {run.seed}: test top-1 {run.test_top1_pct:6.2f} %  ({run.wall_s:5.0f} s, "
            f"{run.images_per_s:4.0f} images/s on {run.threads} thread(s))")  # fmt: skip


def announce(run: Run) -> None:
    print("  trained " + describe(run), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="+", help="built-in names or ArchSpec JSON files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    networks: list[Network] = [ArchSpec.from_json(Path(n).read_text()) if n.endswith(".json") else n
                               for n in args.networks]  # fmt: skip
    for run in final_runs(networks, args.seeds, args.jobs, on_run=announce).values():
        print(describe(run))


if __name__ == "__main__":
    main()
