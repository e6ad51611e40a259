"""Hardware-aware pruning of the default teacher to about half its latency, against uniform pruning.

For each device (by default ``host``, with ONNX Runtime's measured layer table, and ``rpi5``, estimated; each on its
profile's first runtime): the teacher is pruned with ``edgebench prune``'s loop to 50 % of its predicted latency;
uniform pruning (the same share of channels in every group, its most important kept) is brought to the same
predicted latency; both get the same KD fine-tuning (epochs in all, learning rate), over several seeds. Prints
predicted latency and test top-1 of each, then per device the mean gap with its 95 % confidence interval (t over
seeds) and what each arm loses to the teacher: the gap exceeds uniform's loss only if the pruned network beats its
teacher. On ``host`` it also measures the teacher and the pruned network on every backend (speed-up), checks the
pruned network's measured latency against the budget, and times the pruned network with every pruned group one
channel narrower than the runtime's channel block allows (fewer FLOPs, off the block) to show what channel rounding
buys.

A measured layer table is kept in ``results/prune-tables/`` the first time it is built and pruned against from
there on, whatever CPU the run is on: this VM's CPU changes between sessions, the seeds take hours each, and every
seed of a device must prune against the same numbers. The host measurement at the end compares against the budget
only on the CPU that measured the table (its speed-ups are ratios, measured on any).

Each seed's figures are appended to ``results/prune_runs.csv`` as it finishes (keyed by a digest of the device, its
layer table's numbers, the teacher's weights, the data and the recipe), so a killed run resumes with the seeds it
lacks; the pruned networks wait in the cache for the host measurement, and a seed killed during its uniform arm
takes its finished hardware-aware network from there instead of pruning again.

On other data, give its spec and a teacher trained on it (``edgebench teacher train``): ``--data cifar10:PATH
--teacher CKPT``.

Usage: python benchmarks/prune.py [--devices host rpi5] [--criterion l1] [--final-epochs 10] [--lr LR]
                                  [--seeds 0 1 2 3 4] [--runs 300] [--data SPEC --teacher CKPT]
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import final_runs
import numpy as np
from torch import nn

from edgebench.benchmark import bench_model
from edgebench.data import DEFAULT_DATA, ImageData, load_data
from edgebench.devices import get_device
from edgebench.distill.checkpoint import ARCH, METRICS, WEIGHTS, Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.networks import label
from edgebench.distill.teacher import RECIPES as TEACHER_RECIPES
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import TrainConfig, TrainStep, train
from edgebench.exceptions import EdgebenchError
from edgebench.lut.store import default_cache_dir
from edgebench.model import from_module
from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.history import PruneStep
from edgebench.pruning.importance import Scores, get_criterion
from edgebench.pruning.latency import LayerTable, build_layer_table, pruning_multiple, read_layer_table
from edgebench.pruning.loop import PruneConfig, calibration_batch, prune_to_budget
from edgebench.pruning.uniform import uniform_history
from edgebench.target import target_for
from edgebench.types import Precision, Source, Status

SHAPE = (1, 3, 32, 32)
RESULTS = Path(__file__).parent / "results" / "prune_runs.csv"
TABLES = RESULTS.parent / "prune-tables"
HOST_BACKENDS = (("onnxruntime", Precision.FP32), ("openvino", Precision.FP32), ("tflite", Precision.FP32))


def measured_ms(module: nn.Module, backend: str, precision: Precision, runs: int) -> float:
    """p25 of ``runs`` timed inferences on this machine after 30 warm-up runs, one thread (``bench``'s path)."""
    with tempfile.TemporaryDirectory(prefix="edgebench-prune-") as tmp:
        model = from_module("m", copy.deepcopy(module).eval(), SHAPE)
        (record,) = bench_model(model, get_device("host"), [(backend, precision)], Path(tmp), 1, 30, runs)
    if record.status != Status.COMPLETE:
        raise SystemExit(f"{backend} {precision} failed: {record.error}")
    return float(np.percentile(record.samples_ms, 25))


def paired_ms(a: nn.Module, b: nn.Module, backend: str, precision: Precision, runs: int) -> tuple[float, float]:
    """:func:`measured_ms` of ``a`` and ``b`` taken in turn, three times each, the lowest of each kept: this VM's
    speed drifts by up to 30 % within a minute, and alternating puts both networks in the same windows."""
    times = [(measured_ms(a, backend, precision, runs), measured_ms(b, backend, precision, runs)) for _ in range(3)]
    return min(t[0] for t in times), min(t[1] for t in times)


def uniform_at(
    teacher: nn.Module, table: LayerTable, target_ms: float, multiple: int, scores: Scores
) -> tuple[nn.Module, float, float]:
    """Uniform pruning of ``teacher`` whose predicted latency is closest to ``target_ms`` (keep ratio by bisection
    on the prediction, then the nearest of the two brackets)."""
    lo, hi, best = 0.05, 1.0, None
    for _ in range(14):
        keep = (lo + hi) / 2
        module = copy.deepcopy(teacher)
        uniform_history(PruningGraph(module, SHAPE), keep, multiple, scores).replay(module)
        ms = table.network_ms(module, SHAPE)
        if best is None or abs(ms - target_ms) < abs(best[1] - target_ms):
            best = (module, ms, keep)
        lo, hi = (keep, hi) if ms < target_ms else (lo, keep)
    assert best is not None
    return best


@dataclass(frozen=True)
class SeedRun:
    """One seed: the hardware-aware network's predicted latency and test top-1, uniform pruning's at about the same
    predicted latency, and the KD epochs each got."""

    seed: int
    budget_ms: float
    predicted_ms: float
    pruned_pct: float
    steps: int
    uniform_ms: float
    uniform_keep: float
    uniform_pct: float
    epochs: int
    wall_s: float


def setting(name: str, table: LayerTable, teacher: Checkpoint, args: argparse.Namespace) -> str:
    """What a kept seed must match to count: the device, the layer table's numbers (a table measured on another
    CPU prices otherwise), the teacher's weights, the data and the recipe of both arms."""
    digest = hashlib.sha256((teacher.path / WEIGHTS).read_bytes())
    digest.update(table.rows.to_csv(index=False).encode() + f"{table.scale!r} {table.offset_ms!r}".encode())
    record = [name, digest.hexdigest(), args.data or DEFAULT_DATA, args.criterion, args.final_epochs, args.lr,
              args.finetune_every]  # fmt: skip
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()[:12]


def read_runs(tag: str, path: Path = RESULTS) -> dict[int, SeedRun]:
    """The seeds of ``path`` run with setting ``tag``."""
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.pop("setting") == tag]
    names = {f.name: f.type for f in fields(SeedRun)}
    return {int(r["seed"]): SeedRun(**{k: (int if names[k] == "int" else float)(v) for k, v in r.items()})
            for r in rows}  # fmt: skip


def append_run(run: SeedRun, tag: str, path: Path = RESULTS) -> None:
    columns = [f.name for f in fields(SeedRun)]
    final_runs.append_row(path, [*columns, "setting"], [*(getattr(run, c) for c in columns), tag])


def pruned_dir(tag: str, seed: int) -> Path:
    """Where a seed's hardware-aware network is kept for the host measurement (the cache: too big for git)."""
    return default_cache_dir() / "benchmarks" / "prune" / tag / f"seed-{seed}"


def hardware_aware(
    table: LayerTable, config: PruneConfig, data: ImageData, teacher: Checkpoint, saved: Path
) -> tuple[float, float, int]:
    """(predicted ms, test top-1, steps) of the seed's hardware-aware network: pruned and fine-tuned here and saved
    in ``saved``, or read back from there where an earlier run finished it (its ``metrics.json`` is written last,
    with the final fine-tune's test top-1), so a run killed during the uniform arm does not prune again."""
    if (saved / METRICS).is_file():
        done = load_checkpoint(saved)
        assert done.test_top1_pct is not None, f"{saved / METRICS} lacks the fine-tune's test top-1"
        steps = len(json.loads((saved / ARCH).read_text())["pruning"]["steps"])
        return table.network_ms(done.module, SHAPE), done.test_top1_pct, steps
    pruned = prune_to_budget(copy.deepcopy(teacher.module), SHAPE, table, data, teacher.module, config,
                             _pruned, _epochs("hardware-aware"))  # fmt: skip
    save_checkpoint(saved, teacher.network, pruned.module, teacher.classes, data.name, get_loss("kd"), config.final,
                    pruned.final, pruning=pruned.history)  # fmt: skip
    return pruned.predicted_ms, pruned.final.test_top1_pct, len(pruned.history.steps)


def _pruned(step: PruneStep) -> None:
    """Print a pruning step as it is taken: a seed runs for hours, and the log should say where it is."""
    print(f"    step {step.step}: {len(step.channels)} channels of {step.root}, predicted {step.predicted_ms:.3f} ms",
          flush=True)  # fmt: skip


def _epochs(arm: str) -> Callable[[TrainStep], None]:
    """Print each finished epoch of ``arm``'s fine-tuning with its validation top-1."""

    def report(step: TrainStep) -> None:
        if step.val_top1_pct is not None:
            print(f"    {arm}: epoch {step.epoch}/{step.epochs}, validation top-1 {step.val_top1_pct:.2f} %",
                  flush=True)  # fmt: skip

    return report


def prune_and_compare(
    table: LayerTable, multiple: int, budget: float, seed: int, tag: str, args: argparse.Namespace
) -> SeedRun:
    """One seed: hardware-aware pruning to ``budget`` and uniform pruning at its predicted latency, both with the
    same KD fine-tuning; the pruned network saved under :func:`pruned_dir`. Prints both."""
    data, teacher = load_data(args.data), teacher_of(args)
    short = TrainConfig(epochs=1, seed=seed, lr=args.lr)
    final = TrainConfig(epochs=args.final_epochs, seed=seed, lr=args.lr)
    config = PruneConfig(budget, args.criterion, multiple, args.finetune_every, short, final)
    t0 = time.perf_counter()
    predicted_ms, pruned_pct, steps = hardware_aware(table, config, data, teacher, pruned_dir(tag, seed))
    finetunes = (steps - 1) // args.finetune_every
    x, y = calibration_batch(data, 64)
    scores = get_criterion("l1")(PruningGraph(copy.deepcopy(teacher.module), SHAPE), x, y)
    module, ms, keep = uniform_at(teacher.module, table, predicted_ms, multiple, scores)
    same_epochs = TrainConfig(epochs=args.final_epochs + finetunes, seed=seed, lr=args.lr)
    module, uniform = train(module, data, get_loss("kd"), teacher.module, same_epochs, _epochs("uniform"))
    return SeedRun(seed, budget, predicted_ms, pruned_pct, steps, ms, keep, uniform.test_top1_pct, same_epochs.epochs,
                   time.perf_counter() - t0)  # fmt: skip


def describe(run: SeedRun) -> str:
    return (f"  seed {run.seed}: hardware-aware {run.steps} steps, predicted {run.predicted_ms:.3f} ms "
            f"({'meets' if run.predicted_ms <= run.budget_ms else 'MISSES'} the budget), test top-1 "
            f"{run.pruned_pct:.2f} %; uniform keep {run.uniform_keep:.2f} of every group, predicted "
            f"{run.uniform_ms:.3f} ms, test top-1 {run.uniform_pct:.2f} %; {run.epochs} KD epochs each; gap "
            f"{run.pruned_pct - run.uniform_pct:+.2f} points ({run.wall_s:.0f} s)")  # fmt: skip


def teacher_of(args: argparse.Namespace) -> Checkpoint:
    """``--teacher``, else the default teacher of the data (a built-in set)."""
    return load_checkpoint(args.teacher) if args.teacher else default_teacher(data=load_data(args.data).name)


def summary(teacher_pct: float | None, pruned: np.ndarray, uniform: np.ndarray) -> str:
    """The mean gap over seeds with its 95 % t interval, and what each arm loses to the teacher."""
    gaps = pruned - uniform
    line = f"hardware-aware minus uniform over {len(gaps)} seed(s): mean {gaps.mean():+.2f} points"
    if len(gaps) > 1:
        _, low, high = final_runs.mean_interval(gaps)
        line += f" (sd {gaps.std(ddof=1):.2f}, 95 % CI {low:+.2f} to {high:+.2f})"
    line += f", min {gaps.min():+.2f}, max {gaps.max():+.2f} (target >= +1)"
    if teacher_pct is None:
        return line
    return (f"{line}; teacher minus uniform {teacher_pct - uniform.mean():+.2f} points, teacher minus "
            f"hardware-aware {teacher_pct - pruned.mean():+.2f}")  # fmt: skip


def layer_table(name: str, teacher: Checkpoint, backend: str, precision: Precision) -> LayerTable:
    """The teacher's layer table on device ``name``: a measured one from :data:`TABLES` (kept there when first
    built), an estimated one from the cache (the profile prices it alike on every CPU)."""
    pinned = TABLES / f"{name}-{label(teacher.network)}-{teacher.classes}-{backend}-{precision}.csv"
    if pinned.is_file():
        return read_layer_table(pinned)
    profile = get_device(name)
    table = build_layer_table(teacher.network, teacher.classes, profile, backend, precision, default_cache_dir())
    if table.source is not Source.MEASURED:
        return table
    assert table.path is not None
    TABLES.mkdir(exist_ok=True)
    shutil.copyfile(table.path, pinned)
    return read_layer_table(pinned)


def run_device(name: str, args: argparse.Namespace) -> None:
    """Prune for ``name`` on its profile's first runtime and precision; on ``host``, also measure the result."""
    profile, teacher = get_device(name), teacher_of(args)
    backend, precision = profile.runtimes[0].backend, profile.runtimes[0].precisions[0]
    t0 = time.perf_counter()
    table = layer_table(name, teacher, backend, precision)
    multiple = pruning_multiple(profile, backend)
    full = table.network_ms(teacher.module, SHAPE)
    budget = 0.5 * full
    top1 = "unknown" if teacher.test_top1_pct is None else f"{teacher.test_top1_pct:.2f} %"
    print(f"\n== {name} {backend} {precision} ({table.source}); layer table in {time.perf_counter() - t0:.0f} s; "
          f"channel multiple {multiple}; teacher {teacher.network} predicted {full:.3f} ms, test top-1 "
          f"{top1}; budget {budget:.3f} ms; criterion {args.criterion}; fine-tuning "
          f"learning rate {args.lr or 'default'}", flush=True)  # fmt: skip
    tag = setting(name, table, teacher, args)
    if table.source is Source.MEASURED:
        print(f"layer table {table.path}, measured on {table.priced_by['cpu']}")
    done = read_runs(tag)
    print(f"{len([s for s in args.seeds if s in done])} of {len(args.seeds)} seeds kept in {RESULTS} (setting {tag})")
    runs = []
    for seed in args.seeds:
        if seed not in done:
            done[seed] = prune_and_compare(table, multiple, budget, seed, tag, args)
            append_run(done[seed], tag)
        runs.append(done[seed])
        print(describe(done[seed]), flush=True)
    pruned, uniform = np.array([r.pruned_pct for r in runs]), np.array([r.uniform_pct for r in runs])
    print(summary(teacher.test_top1_pct, pruned, uniform), flush=True)
    if table.source is not Source.MEASURED:
        return
    folder = pruned_dir(tag, args.seeds[0])
    if not (folder / METRICS).is_file():
        print(f"no pruned network of seed {args.seeds[0]} in {folder} to measure; delete its row to prune it again")
        return
    module, predicted = load_checkpoint(folder).module, runs[0].predicted_ms
    cpu, table_cpu = target_for(profile).facts(backend)[0], table.priced_by["cpu"]
    print(f"measured on this machine (p25, 1 thread; seed {args.seeds[0]}'s pruned network):")
    for b, p in HOST_BACKENDS:
        before, after = paired_ms(teacher.module, module, b, p, args.runs)
        line = f"  {b:12} {p}: teacher {before:7.3f} ms, pruned {after:7.3f} ms, speed-up {before / after:4.2f}x"
        if b == backend and cpu != table_cpu:
            line += f"; the table was measured on {table_cpu}, this is {cpu}: no budget check"
        elif b == backend:
            error = 100 * (predicted / after - 1)
            line += (f"; predicted {predicted:.3f} ms ({error:+.1f} %), budget {budget:.3f} ms "
                     f"{'met' if after <= budget else 'missed'} in measured latency")  # fmt: skip
        print(line, flush=True)
    off = copy.deepcopy(module)
    graph = PruningGraph(off, SHAPE)
    for group in graph.groups():
        if group.channels > multiple:
            graph.prune(group.root, [group.channels - 1])
    rounded, unrounded = paired_ms(module, off, backend, precision, args.runs)
    print(f"channel rounding on {backend}: pruned widths on the multiple of {multiple} {rounded:.3f} ms; one channel "
          f"fewer per group (fewer FLOPs) {unrounded:.3f} ms ({unrounded / rounded:.2f}x)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", nargs="+", default=["host", "rpi5"], help="host is measured, others estimated")
    parser.add_argument("--criterion", default="l1")
    parser.add_argument("--final-epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, help="fine-tuning learning rate, both arms (default: SGD's 0.05)")
    parser.add_argument("--finetune-every", type=int, default=8)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", help="data spec (default: the default task, cluttered-digits)")
    parser.add_argument(
        "--teacher", type=Path, help="teacher checkpoint trained on --data (default: the data's default teacher)"
    )
    args = parser.parse_args()
    if args.teacher is None and (args.data or DEFAULT_DATA) not in TEACHER_RECIPES:
        parser.error(
            f"--data {args.data} needs --teacher: default teachers exist only for {', '.join(TEACHER_RECIPES)}"
        )
    for name in args.devices:  # every name checked before hours of pruning start
        try:
            get_device(name)
        except EdgebenchError as error:
            parser.error(str(error))
    for name in args.devices:
        run_device(name, args)


if __name__ == "__main__":
    main()
