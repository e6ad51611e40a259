"""Distillation on the default data: does KD beat plain cross-entropy for students of the default space?

Loads the default teacher from the cache (training it first if missing, a few minutes), then trains two fixed
students of ``mbv2-cifar`` -- a small one (11 blocks, least widths and expansion) and a medium one (16 blocks,
widest widths, least expansion) -- with ``ce``, ``kd`` and ``kd-lrds`` over three seeds each, and prints every run's
test top-1, the means over seeds, the teacher's test top-1 and the students' training throughput on this machine.
Every run uses the same recipe (:data:`RECIPE`), the losses their defaults; the data are the default task
(``cluttered-digits``).

Usage: python benchmarks/kd.py [--seeds 3] [--epochs 15] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from edgebench.data import load_data
from edgebench.distill import TrainConfig, TrainResult, evaluate, get_loss, train
from edgebench.distill.networks import label
from edgebench.distill.teacher import DEFAULT_TEACHER, default_teacher
from edgebench.search.space import ArchSpec, BlockArch, SearchSpace, StageArch, get_space

RECIPE = TrainConfig(epochs=15, batch_size=64)
LOSSES = ("ce", "kd", "kd-lrds")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    data = load_data()
    teacher = default_teacher(args.cache_dir)
    teacher_top1 = evaluate(teacher.module, data, data.test)
    print(f"data: {data.name}, {len(data.train)} train / {len(data.val)} val / {len(data.test)} test images")
    print(f"teacher {DEFAULT_TEACHER} ({teacher.path}): test top-1 {teacher_top1:.2f} % "
          f"(ready after {time.perf_counter() - started:.0f} s)")  # fmt: skip
    defaults = "; ".join(f"{n} {get_loss(n).params()}" for n in LOSSES[1:])
    print(f"recipe: {args.epochs} epochs, batch {RECIPE.batch_size}, {RECIPE.optimizer}, cosine; {defaults}")
    space = get_space("mbv2-cifar")
    students = {"small": student(space, SMALL_DEPTHS, False), "medium": student(space, MEDIUM_DEPTHS, True)}
    results: dict[tuple[str, str], list[TrainResult]] = {}
    print(f"\n{'student':8} {'loss':8} " + " ".join(f"{'seed ' + str(s):>7}" for s in range(args.seeds))
          + f" {'mean':>7} {'images/s':>9}")  # fmt: skip
    for name, arch in students.items():
        for loss in LOSSES:
            runs = []
            for seed in range(args.seeds):
                config = replace(RECIPE, epochs=args.epochs, seed=seed)
                _, result = train(arch, data, get_loss(loss), teacher.module, config)
                runs.append(result)
            results[name, loss] = runs
            accuracies = " ".join(f"{r.test_top1_pct:7.2f}" for r in runs)
            mean = statistics.mean(r.test_top1_pct for r in runs)
            speed = statistics.mean(r.images_per_s for r in runs)
            print(f"{name:8} {loss:8} {accuracies} {mean:7.2f} {speed:9.0f}", flush=True)
    print()
    for name, arch in students.items():
        ce = statistics.mean(r.test_top1_pct for r in results[name, "ce"])
        gains = ", ".join(
            f"{loss} {statistics.mean(r.test_top1_pct for r in results[name, loss]) - ce:+.2f}" for loss in LOSSES[1:]
        )
        print(f"{name} ({label(arch)}, {arch.depth()} blocks): mean test top-1 over CE: {gains} points")
    ce_speed = statistics.mean(r.images_per_s for r in results["medium", "ce"])
    kd_speed = statistics.mean(r.images_per_s for r in results["medium", "kd"])
    print(f"training throughput of the medium student on this machine ({torch.get_num_threads()} threads, "
          f"{results['medium', 'ce'][0].device}, batch {RECIPE.batch_size}): {ce_speed:.0f} images/s with ce, "
          f"{kd_speed:.0f} images/s with kd (teacher forward included)")  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
