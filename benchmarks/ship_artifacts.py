"""Copy the default task's trained artefacts from the cache into the package (``edgebench/weights/``), so a new
machine's default ``search`` needs no hours of training; each was made by edgebench's own command:

- the default estimator of ``mbv2-cifar``: ``edgebench estimator`` (its supernet checkpoint slimmed to the weights);
- the MobileNetV2 width family trained with the final recipe: the default ``edgebench search`` (first run), or
  ``--train-baselines`` here, which trains the same family into the cache ``--jobs`` widths at a time.

The default teacher ships already (``edgebench teacher train``). Prints what it copied, with sizes and the wall
time each took to make (from its provenance). Run it after those commands, then commit ``edgebench/weights/``.

Usage: python benchmarks/ship_artifacts.py [--cache DIR] [--train-baselines [--jobs 2]]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import torch

from edgebench.data import load_data
from edgebench.devices import get_device
from edgebench.distill.checkpoint import METRICS
from edgebench.distill.losses import get_loss
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import FINAL
from edgebench.lifetime import worker_pool
from edgebench.lut.store import default_cache_dir
from edgebench.searching.baseline import WIDTHS, baseline_family, family_dir, network_name
from edgebench.searching.estimator import PREDICTOR, EstimatorKey, estimator_dir
from edgebench.searching.space import get_space
from edgebench.searching.supernet import CHECKPOINT, SupernetConfig, slim_copy
from edgebench.shipped import SHIPPED
from edgebench.types import AccuracySource, Precision


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def ship_estimator(cache: Path) -> None:
    data, teacher = load_data(), default_teacher(cache)
    source = estimator_dir(cache, EstimatorKey.of(get_space("mbv2-cifar"), data, teacher, SupernetConfig()))
    if not (source / PREDICTOR).is_file():
        print(f"no finished default estimator in {source}: run `edgebench estimator` first")
        return
    target = SHIPPED / source.relative_to(cache)
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(CHECKPOINT, "*.tmp"))
    slim_copy(source, target)
    provenance = json.loads((source / "provenance.json").read_text())
    supernet_h, sampling_h = (
        provenance["supernet"].get("train_s", math.nan) / 3600,
        provenance["sampling"]["wall_time_s"] / 3600,
    )
    trained = (
        f"{supernet_h:.1f} h" if math.isfinite(supernet_h) else "an unrecorded time (resumed from an old checkpoint)"
    )
    print(f"estimator {target}: {size_mb(target):.1f} MB (supernet training {trained}, sampling {sampling_h:.1f} h)")


def ship_baselines(cache: Path) -> None:
    data, teacher = load_data(), default_teacher(cache)
    source = family_dir(cache, data, get_loss("kd"), teacher, FINAL)
    for width in WIDTHS:
        member = source / network_name(width)
        if not (member / METRICS).is_file():
            print(f"no {member.name} in {source}: run `edgebench search --latency 15ms` first")
            continue
        target = SHIPPED / member.relative_to(cache)
        shutil.copytree(member, target, dirs_exist_ok=True)
        result = json.loads((member / METRICS).read_text())["result"]
        print(f"baseline {target}: {size_mb(target):.1f} MB (test top-1 {result['test_top1_pct']:.2f} %, trained in "
              f"{result['wall_time_s'] / 60:.0f} min)")  # fmt: skip


def _train_width(cache: Path, width: float, threads: int) -> str:
    """One width of the family trained into the cache as the default search trains it (read back if there)."""
    torch.set_num_threads(threads)
    data, teacher, loss = load_data(), default_teacher(cache), get_loss("kd")
    (row,) = baseline_family(data, loss, teacher.module, FINAL, get_device("myriadx"), "openvino", Precision.FP16,
                             [width], checkpoints=family_dir(cache, data, loss, teacher, FINAL),
                             accuracy_source=AccuracySource.TRAINED)  # fmt: skip
    top1 = row.test_top1_pct if row.test_top1_pct is not None else float("nan")
    return f"{row.name}: {row.status} {row.reason} test top-1 {top1:.2f} %, {row.train_s / 60:.0f} min"


def train_baselines(cache: Path, jobs: int) -> None:
    """The width family trained with the final recipe into ``cache``, ``jobs`` widths at a time, widest first."""
    threads = max(1, torch.get_num_threads() // jobs)
    with worker_pool(jobs) as pool:
        for line in pool.map(_train_width, [cache] * len(WIDTHS), sorted(WIDTHS, reverse=True),
                             [threads] * len(WIDTHS)):  # fmt: skip
            print(f"trained {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="default: $EDGEBENCH_CACHE or ~/.cache/edgebench")
    parser.add_argument("--train-baselines", action="store_true", help="train the width family first (~1 h)")
    parser.add_argument("--jobs", type=int, default=2, help="widths trained at a time (threads shared out)")
    args = parser.parse_args()
    cache = args.cache or default_cache_dir()
    if args.train_baselines:
        train_baselines(cache, args.jobs)
    ship_estimator(cache)
    ship_baselines(cache)


if __name__ == "__main__":
    main()
