"""The default task (``cluttered-digits``): is it hard enough that students of different capacity differ?

1. Generates the task without its cache and prints the time, the split sizes and that no base digit is shared
   between splits.
2. Loads the default teacher (training it first if it is not cached) and prints its test top-1 with a 95 % Wilson
   interval over the test images (target: 75-92 %).
3. Trains MobileNetV2-0.25 and MobileNetV2-1.0 (CIFAR strides) with the same recipe (:data:`FINAL`: KD from the
   default teacher, no augmentation) over ``--seeds`` seeds, ``--jobs`` runs at a time (each with
   ``threads / jobs`` threads; runs already in ``results/final_runs.csv`` are read, not repeated), and prints every
   run's test top-1, the means and the gap with its 95 % t interval over seeds (target: >= 3 points).

Usage: python benchmarks/default_task.py [--seeds 0 1 2] [--jobs 2] [--networks ...]
"""

from __future__ import annotations

import argparse
import math
import time

import final_runs

from edgebench.data import load_data
from edgebench.data.clutter import generate
from edgebench.distill import evaluate, get_loss
from edgebench.distill.teacher import DEFAULT_TEACHER, default_teacher
from edgebench.distill.train import FINAL

NETWORKS = ("mobilenetv2-0.25-cifar", "mobilenetv2-1.0-cifar")


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion, in percent."""
    p = correct / n
    centre, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half) / (1 + z * z / n), 100 * (centre + half) / (1 + z * z / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (threads are shared out)")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS))
    args = parser.parse_args()
    started = time.perf_counter()
    t0 = time.perf_counter()
    arrays = generate()
    generation_s = time.perf_counter() - t0
    bases = [set(arrays[f"{s}_base"].tolist()) for s in ("train", "val", "test")]
    shared = len(bases[0] & bases[1]) + len(bases[0] & bases[2]) + len(bases[1] & bases[2])
    sizes = "/".join(str(len(arrays[f"{s}_y"])) for s in ("train", "val", "test"))
    print(f"generated in {generation_s:.1f} s (uncached): train/val/test {sizes} images from "
          f"{'/'.join(str(len(b)) for b in bases)} base digits; base digits in two splits: {shared}")  # fmt: skip
    data, teacher = load_data(), default_teacher()
    top1 = evaluate(teacher.module, data, data.test)
    low, high = wilson(round(top1 * len(data.test) / 100), len(data.test))
    recipe = teacher.metrics.get("config", {})
    print(f"teacher {DEFAULT_TEACHER} ({teacher.path}): test top-1 {top1:.2f} % (95 % CI {low:.2f}-{high:.2f}; "
          f"one test image is {100 / len(data.test):.3f} points); trained {recipe.get('epochs')} epochs in "
          f"{teacher.metrics.get('result', {}).get('wall_time_s', float('nan')):.0f} s")  # fmt: skip
    print(f"students: {FINAL.epochs} epochs, batch {FINAL.batch_size}, {FINAL.optimizer}, kd "
          f"{get_loss('kd').params()}, no augmentation; {args.jobs} at a time; earlier runs read from "
          f"{final_runs.RESULTS}")  # fmt: skip
    runs = final_runs.final_runs(args.networks, args.seeds, args.jobs, on_run=final_runs.announce)
    by_network: dict[str, dict[int, float]] = {n: {} for n in args.networks}
    for (network, seed), result in runs.items():
        by_network[network][seed] = result.test_top1_pct
    for network, by_seed in by_network.items():
        mean, low, high = final_runs.mean_interval(list(by_seed.values()))
        print(f"{network:24} mean {mean:6.2f} % (95 % CI {low:.2f} to {high:.2f}) over seeds {sorted(by_seed)}")
    if len(args.networks) == 2:
        small, large = args.networks
        gap, low, high = final_runs.mean_interval([by_network[large][s] - by_network[small][s] for s in args.seeds])
        print(f"gap {large} - {small}: {gap:+.2f} points (95 % CI {low:+.2f} to {high:+.2f}, paired over seeds "
              f"{args.seeds})")  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
