"""Does the one-shot search beat the MobileNetV2 width family on the default task? (issue 26)

Targets, per device and budget (``myriadx`` at 15 ms, OpenVINO FP16; ``rpi5`` at 4 ms, TFLite FP32, a budget that
binds: MobileNetV2-0.75 and -1.0 are over it): the searched front, retrained with the final recipe over 3 seeds,
dominates the width family trained the same way, and the best searched student under the budget is >= 1 point
more accurate than the best width under it, with the 95 % interval of the paired difference above zero.

Phases (each resumes; results are CSVs kept with the repository):

- ``timing``: the default ``edgebench search`` (one-shot) on a fresh cache (``--cache``: an empty folder by
  default, so the shipped teacher and estimator are copied in), then a second search on another device and budget
  with the same cache; the wall time and peak memory of each (targets: <= 15 min and <= 60 s).
- ``search``: the one-shot search on each device with the cached default estimator; the kept students are added
  to ``results/searched.csv`` (by the estimator that chose them).
- ``train``: each searched student and each width trained with the final recipe, ``--seeds`` seeds, shared with
  the other benchmarks through ``final_runs.py`` (hours: run it across sessions).
- ``compare``: the check above, on what is trained so far.

Latencies are the profiles' cost-model estimates (``estimated``: no device is attached here), of whole networks,
students and widths alike, by the profile as it is now (a student the search kept under the budget by its LUT sum
then may land over it after a refit: it is compared where it lands).

Usage: python benchmarks/search.py {timing,search,train,compare} [--seeds 0 1 2] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import final_runs
import numpy as np

from edgebench import api
from edgebench.devices import get_device
from edgebench.distill.networks import build_network, label
from edgebench.nets import NETS
from edgebench.searching.baseline import WIDTHS, device_latency
from edgebench.searching.space import ArchSpec, get_space
from edgebench.units import parse_ms

SEARCHED = Path(__file__).parent / "results" / "searched.csv"
COLUMNS = ("device", "budget_ms", "estimator", "arch", "predicted_ms", "estimated_pct", "inherited_val_pct")


@dataclass(frozen=True)
class Case:
    """A device and a budget the search is checked at."""

    device: str
    budget: str


CASES = (Case("myriadx", "15ms"), Case("rpi5", "4ms"))


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak resident MiB and exit status of a command."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


def timing(args: argparse.Namespace) -> None:
    cache = args.cache or Path(tempfile.mkdtemp(prefix="edgebench-cache-"))
    env = {**os.environ, "EDGEBENCH_CACHE": str(cache)}
    out = Path(tempfile.mkdtemp(prefix="edgebench-search-"))
    for i, case in enumerate(CASES):
        command = [sys.executable, "-m", "edgebench", "search", "--device", case.device, "--latency", case.budget,
                   "--out", str(out / case.device)]  # fmt: skip
        wall, peak, status = run(command, env)
        which = "first (fresh cache)" if i == 0 else "second (same cache)"
        print(f"{which}: {' '.join(command[2:])}: exit {status}, {wall:.0f} s, peak {peak:.0f} MiB", flush=True)
    print(f"cache {cache}; results in {out}")


def read_searched(path: Path = SEARCHED) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def search(args: argparse.Namespace) -> None:
    out = Path(tempfile.mkdtemp(prefix="edgebench-search-"))
    for case in CASES:
        started = time.perf_counter()
        shot = api.one_shot(device=case.device, budget_ms=parse_ms(case.budget), baseline=False,
                            out=out / case.device)  # fmt: skip
        print(f"{case.device} {case.budget}: {len(shot.judged)} judged, {len(shot.students)} students kept in "
              f"{time.perf_counter() - started:.0f} s (estimator {shot.estimator.path.name})")  # fmt: skip
        for r in shot.students.itertuples():
            numbers = (r.predicted_ms, r.estimated_pct, r.val_top1_pct)
            final_runs.append_row(SEARCHED, COLUMNS, [case.device, case.budget, shot.estimator.path.name, r.arch,
                                                      *(f"{x:.4f}" for x in numbers)])  # fmt: skip
            print(f"  {label(ArchSpec.from_json(r.arch)):40} {r.predicted_ms:7.3f} ms  estimated "
                  f"{r.estimated_pct:6.2f} %  inherited val {r.val_top1_pct:6.2f} %")  # fmt: skip


def networks() -> list[str]:
    """Every width, then every searched student, the most promising (highest estimate) first, so a run cut short
    has trained the ones the comparison hinges on; as final_runs names them."""
    searched = sorted(read_searched(), key=lambda r: -float(r["estimated_pct"]))
    return [f"mobilenetv2-{w}-cifar" for w in WIDTHS] + list(dict.fromkeys(r["arch"] for r in searched))


def train(args: argparse.Namespace) -> None:
    todo: list[ArchSpec | str] = [ArchSpec.from_json(n) if n.startswith("{") else n for n in networks()]
    final_runs.final_runs(todo, args.seeds, args.jobs, on_run=final_runs.announce)


@dataclass(frozen=True)
class Entry:
    """A network at one device's latency, with its final-recipe test top-1 by seed."""

    name: str
    ms: float
    by_seed: dict[int, float]

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.by_seed.values())))


def entries(case: Case, seeds: list[int]) -> tuple[list[Entry], list[Entry]]:
    """The searched students and the widths at ``case``'s device, those trained for every seed."""
    runs = final_runs.read()
    profile = get_device(case.device)
    backend, precision = api.runtime_for(profile)
    widths = []
    for w in WIDTHS:
        name = f"mobilenetv2-{w}-cifar"
        ms, _ = device_latency(build_network(name, 10, 0), NETS[name].input_shape, profile, backend, precision)
        widths.append(Entry(name, ms, {s: runs[name, s].test_top1_pct for s in seeds if (name, s) in runs}))
    students = []
    for r in read_searched():
        if (r["device"], r["budget_ms"]) == (case.device, case.budget):
            spec = ArchSpec.from_json(r["arch"])
            shape = get_space(spec.space).input_shape()
            ms, _ = device_latency(build_network(spec, 10, 0), shape, profile, backend, precision)
            students.append(Entry(label(spec), ms, {s: runs[r["arch"], s].test_top1_pct for s in seeds
                                                    if (r["arch"], s) in runs}))  # fmt: skip
    complete = [e for e in widths + students if len(e.by_seed) == len(seeds)]
    missing = len(widths) + len(students) - len(complete)
    if missing:
        print(f"  {missing} networks not trained for every seed yet (`search.py train`)")
    return [e for e in students if e in complete], [e for e in widths if e in complete]


def compare(args: argparse.Namespace) -> None:
    for case in CASES:
        budget = float(case.budget.removesuffix("ms"))
        print(f"\n{case.device} at {case.budget} (final recipe, mean test top-1 over seeds {args.seeds}):")
        students, widths = entries(case, args.seeds)
        for e in sorted(students + widths, key=lambda e: e.ms):
            mark = "searched" if e in students else "width"
            print(f"  {mark:8} {e.name:40} {e.ms:7.3f} ms  {e.mean:6.2f} %  " + " ".join(
                f"{e.by_seed[s]:6.2f}" for s in args.seeds))  # fmt: skip
        under_s = [e for e in students if e.ms <= budget]
        under_w = [e for e in widths if e.ms <= budget]
        if not under_s or not under_w:
            print("  nothing to compare under the budget yet")
            continue
        dominated = [w.name for w in under_w if any(s.ms <= w.ms and s.mean >= w.mean for s in under_s)]
        print(f"  widths under the budget dominated by a searched student: {len(dominated)} of {len(under_w)}")
        best_s, best_w = max(under_s, key=lambda e: e.mean), max(under_w, key=lambda e: e.mean)
        gap, low, high = final_runs.mean_interval([best_s.by_seed[s] - best_w.by_seed[s] for s in args.seeds])
        print(f"  best searched {best_s.name} ({best_s.ms:.3f} ms) - best width {best_w.name} ({best_w.ms:.3f} ms): "
              f"{gap:+.2f} points, 95 % CI {low:+.2f} to {high:+.2f} (paired over seeds; target >= +1, CI > 0); "
              f"latency x{best_s.ms / best_w.ms:.2f} the width's")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["timing", "search", "train", "compare"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="timing: the cache to search with")
    args = parser.parse_args()
    started = time.perf_counter()
    {"timing": timing, "search": search, "train": train, "compare": compare}[args.phase](args)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
