"""`edgebench run` over a small search's candidates on host, every backend at FP32, FP16 and INT8, then the report.

1. The one-shot search on host (ONNX Runtime FP32 LUT, measured; the cached default estimator) keeps
   ``--students`` students, saved with the weights they inherit from the supernet; the MobileNetV2 width family is
   trained with the final recipe (once, then cached).
2. A copy of one candidate with its weights cut short stands for a candidate that cannot be converted.
3. ``edgebench run`` converts each candidate for ONNX Runtime, OpenVINO and TFLite at FP32, FP16 and INT8, scores
   the converted artifact on the test split and times it here. Prints per-row wall time, the FP16 and INT8 accuracy
   drop per candidate and backend and its spread over the candidates, the fronts with hypervolume, and the failed
   rows with their reasons.
4. ``edgebench report`` renders the results; prints the HTML size and the time to generate it, and, where Chromium
   is installed, loads the page headless and saves a screenshot next to it.

Usage: python benchmarks/run_report.py [--budget 2ms] [--students 6] [--no-baseline] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from edgebench import api, pareto
from edgebench.reporting import write_report
from edgebench.units import parse_ms

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


def candidates(out: Path, budget: str, students: int, baseline: bool) -> Path:
    """The one-shot search's students on host (deployable as they are: weights inherited from the supernet) and
    the MobileNetV2 width family trained with the final recipe (cached after the first time)."""
    t0 = time.perf_counter()
    result = api.one_shot(device="host", budget_ms=parse_ms(budget), backend="onnxruntime", precision="fp32",
                          students=students, baseline=baseline, out=out / "search")  # fmt: skip
    print(f"one-shot search: {len(result.students)} students, {len(result.baseline)} baseline widths, "
          f"{time.perf_counter() - t0:.0f} s (estimator {result.estimator.path})", flush=True)  # fmt: skip
    return result.out_dir


def broken_copy(search: Path, out: Path) -> Path:
    """A copy of the first candidate whose weights file is cut to half its length."""
    first = pd.read_csv(search / "candidates.csv").iloc[0]["checkpoint"]
    broken = shutil.copytree(first, out / "truncated")
    weights = broken / "weights.pt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return broken


PRECISIONS = ("fp32", "fp16", "int8")


def precision_drop(results: pd.DataFrame, precision: str) -> pd.Series:
    """``precision``'s top-1 minus FP32 top-1 of the same converted candidate (points), by candidate and backend."""
    done = results[results["status"] == "COMPLETE"]
    wide = done.pivot_table(index=["candidate", "backend"], columns="precision", values="top1_pct")
    if precision not in wide:
        return pd.Series(dtype=float)
    return (wide[precision] - wide["fp32"]).dropna()


def drop_spread(drop: pd.Series) -> pd.DataFrame:
    """Per backend, over the candidates: how many, mean, standard deviation, min and max of a precision's drop."""
    by = drop.groupby("backend")
    return pd.DataFrame({"candidates": by.size(), "mean": by.mean(), "sd": by.std(), "min": by.min(), "max": by.max()})


def screenshot(html: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not installed: no screenshot (apt-get install chromium)")
        return
    png = html.with_suffix(".png")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                        "--window-size=1280,2400", html.resolve().as_uri()], check=True, capture_output=True,
                       timeout=120)  # fmt: skip
    print(f"screenshot: {png} ({png.stat().st_size / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", default="2ms")
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--no-baseline", action="store_true", help="skip the width family (hours on a fresh cache)")
    parser.add_argument("--out", type=Path, default=None, help="default: a fresh folder under reports/")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-run-", dir="reports"))
    search = candidates(out, args.budget, args.students, not args.no_baseline)
    broken = broken_copy(search, out)
    t0 = time.perf_counter()
    plan, rows = api.plan_run([search, broken], device="host", precisions=list(PRECISIONS), out=out / "run")
    print(f"run: {len(plan.jobs)} rows ({plan.source})", flush=True)
    for row in rows:
        took = pd.Timestamp(row.finished) - pd.Timestamp(row.started)
        print(f"  {row.candidate:28} {row.backend:12} {row.precision}: {row.status:8} "
              f"top-1 {row.top1_pct if row.top1_pct is not None else float('nan'):6.2f} %  "
              f"{row.median_ms if row.median_ms is not None else float('nan'):7.3f} ms  {took.seconds:3d} s"
              f"{'  ' + row.error if row.error else ''}", flush=True)  # fmt: skip
    print(f"run took {time.perf_counter() - t0:.0f} s")
    results = plan.table.frame
    for precision in PRECISIONS[1:]:
        drop = precision_drop(results, precision)
        print(f"\n{precision.upper()} minus FP32 top-1 of the same converted candidate (points; one test image is "
              f"{100 / results['test_images'].max():.3f}):")  # fmt: skip
        if drop.empty:
            print("  no candidate completed at both precisions")
            continue
        print(drop.unstack("backend").round(2).to_string())
        print(drop_spread(drop).round(2).to_string())
    budget = parse_ms(args.budget, "--budget")
    print("\nfronts (measured median, feasible under the budget):")
    print(pareto.front_summary(pareto.fronts(results, budget), budget).round(1).to_string(index=False))
    failed = results[results["status"] != "COMPLETE"]
    print(f"\nFAILED rows: {len(failed)}")
    for r in failed.itertuples():
        print(f"  {r.candidate} {r.backend} {r.precision}: {r.error}")
    t0 = time.perf_counter()
    html = write_report(results, out / "report.html", budget_ms=budget, title="edgebench run on host")
    print(f"\nreport: {html} ({html.stat().st_size / 1e3:.0f} kB) in {time.perf_counter() - t0:.2f} s")
    screenshot(html)


if __name__ == "__main__":
    main()
