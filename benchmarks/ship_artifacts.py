"""Copy the default task's trained artefacts from the cache into the package (``edgebench/weights/``), so a new
machine's default ``search`` needs no hours of training; each was made by edgebench's own command:

- the default estimator of ``mbv2-cifar``: ``edgebench estimator`` (its supernet checkpoint slimmed to the weights);
- the MobileNetV2 width family trained with the final recipe: the default ``edgebench search`` (first run).

The default teacher ships already (``edgebench teacher train``). Prints what it copied, with sizes and the wall
time each took to make (from its provenance). Run it after those commands, then commit ``edgebench/weights/``.

Usage: python benchmarks/ship_artifacts.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

from edgebench.data import load_data
from edgebench.distill.checkpoint import METRICS
from edgebench.distill.losses import get_loss
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import FINAL
from edgebench.lut.store import default_cache_dir
from edgebench.searching.baseline import WIDTHS, family_dir, network_name
from edgebench.searching.estimator import PREDICTOR, EstimatorKey, estimator_dir
from edgebench.searching.space import get_space
from edgebench.searching.supernet import CHECKPOINT, SupernetConfig, slim_copy
from edgebench.shipped import SHIPPED


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help="default: $EDGEBENCH_CACHE or ~/.cache/edgebench")
    args = parser.parse_args()
    cache = args.cache or default_cache_dir()
    ship_estimator(cache)
    ship_baselines(cache)


if __name__ == "__main__":
    main()
