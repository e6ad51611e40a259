"""`edgebench run` over a small search's candidates on host, every backend at FP32 and INT8, then the report.

1. A short search on host (ONNX Runtime FP32 LUT, measured; the cached default teacher; ``--trials`` candidates
   and the MobileNetV2 width family, proxy-trained at 16x16) picks the architectures; each is then distilled at its
   full 32x32 for ``--final-epochs`` (``edgebench train --output``), since a proxy checkpoint is no deployable
   network (``edgebench run`` refuses one).
2. A copy of one candidate with its weights cut short stands for a candidate that cannot be converted.
3. ``edgebench run`` converts each candidate for ONNX Runtime, OpenVINO and TFLite at FP32 and INT8, scores the
   converted artifact on the test split and times it here. Prints per-row wall time, the INT8 accuracy drop per
   backend, the fronts with hypervolume, and the failed rows with their reasons.
4. ``edgebench report`` renders the results; prints the HTML size and the time to generate it, and, where Chromium
   is installed, loads the page headless and saves a screenshot next to it.

Usage: python benchmarks/run_report.py [--budget 2ms] [--trials 6] [--final-epochs 5] [--out DIR]
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
from edgebench.distill.train import TrainConfig
from edgebench.report import write_report
from edgebench.units import parse_ms

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


def candidates(out: Path, budget: str, trials: int, epochs: int) -> Path:
    """Search, then train every trained architecture and baseline width at full size into a search-like folder."""
    t0 = time.perf_counter()
    result = api.search("host", budget, "onnxruntime", "fp32", trials=trials, out=out / "search")
    done = result.candidates[result.candidates["status"] == "COMPLETE"]
    print(f"search: {len(done)} of {trials} candidates trained, {len(result.baseline)} baseline widths, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    t0, final = time.perf_counter(), out / "final"
    config = TrainConfig(epochs=epochs, seed=0)
    rows = []
    for row in done.itertuples():
        arch = final / "archs" / f"trial-{row.trial:04d}.json"
        arch.parent.mkdir(parents=True, exist_ok=True)
        arch.write_text(str(row.arch))
        run = api.train_student(str(arch), "kd", config=config, output=final / f"trial-{row.trial:04d}")
        rows.append({**row._asdict(), "test_top1_pct": run.result.test_top1_pct, "checkpoint": str(run.checkpoint)})
    base = []
    for row in result.baseline.itertuples():
        run = api.train_student(row.name, "kd", config=config, output=final / row.name)
        base.append({**row._asdict(), "test_top1_pct": run.result.test_top1_pct, "checkpoint": str(run.checkpoint)})
    pd.DataFrame(rows).drop(columns="Index").to_csv(final / "candidates.csv", index=False)
    pd.DataFrame(base).drop(columns="Index").to_csv(final / "baseline.csv", index=False)
    print(f"final training: {len(rows) + len(base)} networks, {epochs} KD epochs at 32x32 each, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    return final


def broken_copy(search: Path, out: Path) -> Path:
    """A copy of the first candidate whose weights file is cut to half its length."""
    first = pd.read_csv(search / "candidates.csv").iloc[0]["checkpoint"]
    broken = shutil.copytree(first, out / "truncated")
    weights = broken / "weights.pt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return broken


def int8_drop(results: pd.DataFrame) -> pd.DataFrame:
    """Per backend: INT8 top-1 minus FP32 top-1 of the same candidate (points), over the candidates."""
    done = results[results["status"] == "COMPLETE"]
    wide = done.pivot_table(index=["candidate", "backend"], columns="precision", values="top1_pct")
    drop = (wide["int8"] - wide["fp32"]).dropna().groupby("backend")
    return pd.DataFrame({"candidates": drop.size(), "mean": drop.mean(), "min": drop.min(), "max": drop.max()})


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
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--final-epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="default: a fresh folder under reports/")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-run-", dir="reports"))
    search = candidates(out, args.budget, args.trials, args.final_epochs)
    broken = broken_copy(search, out)
    t0 = time.perf_counter()
    plan, rows = api.run([search, broken], "host", precisions=["fp32", "int8"], out=out / "run")
    print(f"run: {len(plan.jobs)} rows ({plan.source})", flush=True)
    for row in rows:
        took = pd.Timestamp(row.finished) - pd.Timestamp(row.started)
        print(f"  {row.candidate:28} {row.backend:12} {row.precision}: {row.status:8} "
              f"top-1 {row.top1_pct if row.top1_pct is not None else float('nan'):6.2f} %  "
              f"{row.median_ms if row.median_ms is not None else float('nan'):7.3f} ms  {took.seconds:3d} s"
              f"{'  ' + row.error if row.error else ''}", flush=True)  # fmt: skip
    print(f"run took {time.perf_counter() - t0:.0f} s")
    results = plan.table.frame
    print("\nINT8 minus FP32 top-1 of the same converted candidate (points):")
    print(int8_drop(results).round(2).to_string())
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
