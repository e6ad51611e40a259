"""Distillation on the default task (issue 29): which losses beat plain cross-entropy for students of the default
space, and what does each route cost?

Trains two fixed students of ``mbv2-cifar`` -- a small one (11 blocks, least widths and expansion) and a medium one
(16 blocks, widest widths, least expansion) -- with each loss of :data:`LOSSES` over three seeds: ``ce``; ``kd`` and
``kd-lrds``, which distil the default teacher; ``oskd`` and ``dml``, which need no teacher (``dml`` trains two peers
at once and keeps the better, so it takes about twice as long). Every run uses the same recipe (:data:`RECIPE`), the
losses their defaults; the data are the default task (``cluttered-digits``) unless ``--data`` says otherwise.

Prints the teacher's test top-1 and the wall time of its training (as its ``metrics.json`` records it, else
"unknown"); per student and loss, the seeds run, the mean test top-1 with its 95 % t interval, the mean wall time of
one student's training and the route's total (that, plus the teacher's training for a loss that needs one), the
times from the rows of one CPU only (each row records the CPU that trained it: this VM's CPU changes between
sessions, and a time from one is no time for another; this machine's CPU if it trained any row); then the
comparisons issue 29 asks for (``oskd`` and ``dml`` against ``ce`` for the small student, ``kd`` against ``ce`` for
both): the mean difference paired by seed with its 95 % t interval, and whether it is above.

Resumable: each finished training is appended as a row to ``results/kd_runs.csv`` (kept with the repository;
``--results`` for another file). A row counts only under the same setting (a digest of the recipe with its epochs,
the data, the loss and its parameters, the student's architecture and, for a loss that distils one, the teacher's
weights), so a rerun trains only what the file lacks and a changed setting never mixes with old rows. Trainings run
``--jobs`` at a time in separate processes, the threads shared out among them.

Cost, one thread, two trainings at a time, small student: ``ce`` and ``oskd`` 15 minutes on an AMD EPYC (AVX2), 26-28
on an AVX-512 Xeon; there ``kd`` 43 (the teacher's forward pass: 120 images/s against 200) and ``dml`` 56 (two
peers); the full run (two students, five losses, three seeds) is most of a day of two cores. The teacher of the
default task ships with the package; another data set's is trained first if missing.

Usage: python benchmarks/kd.py [--students small medium] [--losses ce kd kd-lrds oskd dml] [--seeds 3]
       [--epochs 15] [--jobs 2] [--data cluttered-digits] [--results PATH] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import final_runs
import torch

from edgebench.data import BUILTIN, DEFAULT_DATA, load_data
from edgebench.devices.local import cpu_label
from edgebench.distill import Checkpoint, TrainConfig, evaluate, get_loss, train
from edgebench.distill.checkpoint import WEIGHTS
from edgebench.distill.networks import label
from edgebench.distill.teacher import default_teacher
from edgebench.lifetime import worker_pool
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch, get_space

RECIPE = TrainConfig(epochs=15, batch_size=64)
LOSSES = ("ce", "kd", "kd-lrds", "oskd", "dml")
#: (student, loss) compared with ``ce`` on the same student, as issue 29 asks.
COMPARISONS = (("small", "oskd"), ("small", "dml"), ("small", "kd"), ("medium", "kd"))
RESULTS = Path(__file__).parent / "results" / "kd_runs.csv"
COLUMNS = ("student", "loss", "seed", "loss_params", "val_top1_pct", "test_top1_pct", "wall_s", "images_per_s",
           "threads", "setting", "cpu")  # fmt: skip


#: Blocks per stage of the two students (the least and the middle depths of the space before it allowed one-block
#: stages everywhere, so the figures in the issue-5 closing note stay reproducible).
SMALL_DEPTHS = (1, 1, 2, 2, 2, 2, 1)
MEDIUM_DEPTHS = (1, 2, 3, 3, 3, 3, 1)


def student(space: SearchSpace, depths: tuple[int, ...], widest: bool) -> ArchSpec:
    """``depths`` blocks per stage, the least (or widest) width, expansion 3, kernel 3, no squeeze-excite."""
    stages = []
    for s, d in zip(space.stages, depths, strict=True):
        block = BlockArch(s.expansion[0], s.kernel[0], s.se[0])
        stages.append(StageArch(s.width[-1 if widest else 0], (block,) * d))
    return ArchSpec(space.name, tuple(stages))


def students() -> dict[str, ArchSpec]:
    space = get_space("mbv2-cifar")
    return {"small": student(space, SMALL_DEPTHS, False), "medium": student(space, MEDIUM_DEPTHS, True)}


@dataclass(frozen=True)
class Job:
    """One training to run, as plain values a worker process can take."""

    student: str
    arch: str  # ArchSpec JSON
    loss: str
    seed: int
    data: str
    recipe: TrainConfig
    cache_dir: Path | None
    setting: str


@dataclass(frozen=True)
class Run:
    """One finished training: which student, loss and seed, its scores and what it cost."""

    student: str
    loss: str
    seed: int
    val_top1_pct: float
    test_top1_pct: float
    wall_s: float
    images_per_s: float
    threads: int
    setting: str
    cpu: str  # what trained it (``cpu_label``): wall times compare only within one CPU


def trained_on(metrics: dict[str, Any]) -> str:
    """Where a checkpoint's training ran, as far as its metrics.json says (checkpoints before 2026-12-06 name only
    the host)."""
    where = f"host '{metrics.get('host', '?')}'"
    if "cpu" not in metrics:
        return f"{where}; its CPU and thread count are not recorded"
    return f"{where}, {metrics['cpu']}, {metrics.get('threads', '?')} thread(s)"


def setting(arch: ArchSpec, loss: str, recipe: TrainConfig, data: str, teacher: Checkpoint) -> str:
    """What a row must match to count: the recipe, the data, the loss and its parameters, the student and, if the
    loss distils one, the teacher (by the digest of its weights)."""
    distils = get_loss(loss).needs_teacher
    digest = hashlib.sha256((teacher.path / WEIGHTS).read_bytes()).hexdigest()[:12] if distils else None
    record = {"recipe": recipe.to_dict(), "data": data, "loss": loss, "loss_params": get_loss(loss).params(),
              "student": arch.to_json(), "teacher": digest}  # fmt: skip
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]


def read(path: Path) -> dict[tuple[str, str, int, str], Run]:
    """Every row of ``path``, by student, loss, seed and setting."""
    if not path.is_file():
        return {}
    runs = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            run = Run(row["student"], row["loss"], int(row["seed"]), float(row["val_top1_pct"]),
                      float(row["test_top1_pct"]), float(row["wall_s"]), float(row["images_per_s"]),
                      int(row["threads"]), row["setting"], row.get("cpu") or "unknown")  # fmt: skip
            runs[run.student, run.loss, run.seed, run.setting] = run
    return runs


def _train(job: Job, threads: int) -> Run:
    torch.set_num_threads(threads)
    data, loss = load_data(job.data), get_loss(job.loss)
    teacher = default_teacher(job.cache_dir, data=job.data).module if loss.needs_teacher else None
    _, result = train(ArchSpec.from_json(job.arch), data, loss, teacher, replace(job.recipe, seed=job.seed))
    assert result.test_top1_pct is not None  # train() scores every run on the test split
    return Run(job.student, job.loss, job.seed, result.val_top1_pct, result.test_top1_pct, result.wall_time_s,
               result.images_per_s, threads, job.setting, cpu_label())  # fmt: skip


def run_all(todo: Sequence[Job], jobs: int, path: Path) -> list[Run]:
    """Train ``todo``, ``jobs`` at a time with the threads shared out, appending each run to ``path`` as it
    finishes; a failed training is reported and left for the next rerun."""
    threads = max(1, torch.get_num_threads() // jobs)
    finished = []
    with worker_pool(jobs) as pool:
        futures = {pool.submit(_train, job, threads): job for job in todo}
        for future in as_completed(futures):
            job = futures[future]
            try:
                run = future.result()
            except Exception as e:  # one failed training must not cost the others
                print(f"  FAILED {job.student} {job.loss} seed {job.seed}: {type(e).__name__}: {e}", flush=True)
                continue
            params = json.dumps(get_loss(run.loss).params(), sort_keys=True)
            final_runs.append_row(path, COLUMNS, [run.student, run.loss, run.seed, params, f"{run.val_top1_pct:.4f}",
                                                  f"{run.test_top1_pct:.4f}", f"{run.wall_s:.0f}",
                                                  f"{run.images_per_s:.1f}", run.threads, run.setting,
                                                  run.cpu])  # fmt: skip
            print(f"  trained {run.student:6} {run.loss:8} seed {run.seed}: test top-1 {run.test_top1_pct:6.2f} %  "
                  f"({run.wall_s:5.0f} s, {run.images_per_s:4.0f} images/s on {run.threads} thread(s))",
                  flush=True)  # fmt: skip
            finished.append(run)
    return finished


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """:func:`final_runs.mean_interval`, but a zero-width interval for two or more equal values (scipy gives nan
    bounds for a zero spread)."""
    if len(values) > 1 and len(set(values)) == 1:
        return values[0], values[0], values[0]
    return final_runs.mean_interval(values)


def timing_cpu(runs: dict[tuple[str, str], list[Run]]) -> str | None:
    """The CPU whose rows give the wall times: this machine's if it trained any row, else the one that trained most."""
    cpus, here = [r.cpu for cell in runs.values() for r in cell if r.cpu != "unknown"], cpu_label()
    if not cpus:
        return None
    return here if here in cpus else max(set(cpus), key=cpus.count)


def summary(runs: dict[tuple[str, str], list[Run]], teacher_s: float | None) -> None:
    """Per student and loss: seeds, mean test top-1 with its interval, and a training's median wall time and the
    route's, from the rows one CPU trained (:func:`timing_cpu`; times from several CPUs would not compare). The
    median, as a run that shared its cores with other work is slower by a factor, not by noise."""
    cpu = timing_cpu(runs)
    print(f"\n{'student':8} {'loss':8} {'seeds':>5} {'test top-1 %':>12} {'95 % interval':>18} {'timed':>5} "
          f"{'images/s':>9} {'threads':>7} {'student s':>10} {'route s':>10}")  # fmt: skip
    for (name, loss), cell in runs.items():
        if not cell:
            print(f"{name:8} {loss:8} {0:5d} {'not run':>12}")
            continue
        mean, low, high = mean_interval([r.test_top1_pct for r in cell])
        bounds = "-" if math.isnan(low) else f"{low:.2f} to {high:.2f}"
        timed = [r for r in cell if r.cpu == cpu]
        line = f"{name:8} {loss:8} {len(cell):5d} {mean:12.2f} {bounds:>18} {len(timed):5d}"
        if not timed:
            print(line)
            continue
        wall = statistics.median(r.wall_s for r in timed)
        speed = statistics.median(r.images_per_s for r in timed)
        threads = "/".join(str(t) for t in sorted({r.threads for r in timed}))
        if not get_loss(loss).needs_teacher:
            route = f"{wall:10.0f}"
        else:
            route = f"{'unknown':>10}" if teacher_s is None else f"{wall + teacher_s:10.0f}"
        print(f"{line} {speed:9.0f} {threads:>7} {wall:10.0f} {route}")
    print(f"timed: the seeds trained on {cpu or 'no recorded CPU'}, whose rows alone give images/s and the times; "
          "student s: one student's training, their median, on the threads given; route s: that, plus the teacher's "
          "training for a loss that distils one")  # fmt: skip


def compare(runs: dict[tuple[str, str], list[Run]]) -> None:
    """Each comparison of :data:`COMPARISONS` as the mean test top-1 difference paired by seed, and its verdict."""
    print()
    for name, loss in COMPARISONS:
        if (name, loss) not in runs or (name, "ce") not in runs:
            continue
        ce = {r.seed: r.test_top1_pct for r in runs[name, "ce"]}
        other = {r.seed: r.test_top1_pct for r in runs[name, loss]}
        seeds = sorted(ce.keys() & other.keys())
        if not seeds:
            print(f"{name}: {loss} - ce: no seed run with both")
            continue
        mean, low, high = mean_interval([other[s] - ce[s] for s in seeds])
        if math.isnan(low):
            spread = "one seed, no interval"
        else:
            excludes = "excludes" if low > 0 or high < 0 else "includes"
            spread = f"95 % interval {low:+.2f} to {high:+.2f}, which {excludes} 0"
        verdict = "above" if mean > 0 else "not above"
        print(f"{name}: {loss} - ce = {mean:+.2f} points of test top-1 over {len(seeds)} paired seed(s) ({spread}): "
              f"{loss} is {verdict} ce on the mean")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", nargs="+", choices=["small", "medium"], default=["small", "medium"])
    parser.add_argument("--losses", nargs="+", choices=LOSSES, default=list(LOSSES))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 to SEEDS - 1")
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs)
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time, each on its share of the threads")
    parser.add_argument("--data", choices=list(BUILTIN), default=DEFAULT_DATA)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    recipe = replace(RECIPE, epochs=args.epochs)
    data = load_data(args.data)
    teacher = default_teacher(args.cache_dir, data=args.data)
    teacher_s = teacher.metrics.get("result", {}).get("wall_time_s")
    trained = "unknown (its metrics.json does not record it)"
    if teacher_s is not None:
        trained = f"{teacher_s:.0f} s ({teacher_s / 60:.0f} min, as its metrics.json records it: "
        trained += f"{trained_on(teacher.metrics)})"
    teacher_top1 = evaluate(teacher.module, data, data.test)
    print(f"data: {data.name}, {len(data.train)} train / {len(data.val)} val / {len(data.test)} test images")
    print(f"teacher {label(teacher.network)} ({teacher.path}): test top-1 {teacher_top1:.2f} %; training took "
          f"{trained}")  # fmt: skip
    params = "; ".join(f"{n} {get_loss(n).params()}" for n in args.losses if get_loss(n).params())
    print(f"recipe: {recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.optimizer}, cosine; {params}")
    archs = {name: arch for name, arch in students().items() if name in args.students}
    for name, arch in archs.items():
        print(f"student {name}: {label(arch)}, {arch.depth()} blocks")
    tags = {(n, loss): setting(a, loss, recipe, args.data, teacher) for n, a in archs.items() for loss in args.losses}
    done = read(args.results)
    todo = [Job(n, a.to_json(), loss, seed, args.data, recipe, args.cache_dir, tags[n, loss])
            for seed in range(args.seeds) for n, a in archs.items() for loss in args.losses
            if (n, loss, seed, tags[n, loss]) not in done]  # fmt: skip
    wanted = len(tags) * args.seeds
    print(f"\n{wanted - len(todo)} of {wanted} runs in {args.results}; training {len(todo)}, {args.jobs} at a time")
    if todo:
        for run in run_all(todo, args.jobs, args.results):
            done[run.student, run.loss, run.seed, run.setting] = run
    runs = {(n, loss): [done[n, loss, s, tag] for s in range(args.seeds) if (n, loss, s, tag) in done]
            for (n, loss), tag in tags.items()}  # fmt: skip
    summary(runs, teacher_s)
    compare(runs)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
