"""LUT build time and build-to-build agreement on host for the default 32x32 space, three backends at FP32.

1. Builds the ONNX Runtime, OpenVINO and TFLite FP32 LUTs from nothing (a fresh cache: every block converted and
   timed) and prints the wall time of each and the total (target: <= 10 minutes on 2 cores).
2. Waits, then rebuilds them (``--force``: blocks re-timed, conversions reused) and prints, per backend, the
   median over rows of |second / first - 1| (target: <= 3 %).

Usage: python benchmarks/lut_build.py [--wait 120] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from edgebench import api
from edgebench.lut.builder import BuildSettings

BACKENDS = ("onnxruntime", "openvino", "tflite")


def build_all(cache_dir: Path, force: bool) -> tuple[dict[str, np.ndarray], float]:
    prof, pairs, space = api.profile_plan("host", backends=list(BACKENDS), precisions=["fp32"])
    latencies, total = {}, 0.0
    for (backend, _), result in zip(
        pairs,
        api.build_luts(prof, pairs, space, cache_dir=cache_dir, settings=BuildSettings(), force=force),
        strict=True,
    ):
        rows = result.table.rows.sort_values("label")
        latencies[backend] = rows["latency_ms"].to_numpy()
        total += result.seconds
        print(f"  {backend:12} {len(rows)} rows, {result.failed} failed, {result.seconds:6.1f} s", flush=True)
    return latencies, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait", type=float, default=120.0, help="seconds between the two builds")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: a fresh temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgebench-lut-build-") as tmp:
        cache = args.cache_dir or Path(tmp)
        print(f"build 1 (from nothing, cache {cache}):")
        first, seconds = build_all(cache, force=False)
        print(f"  total {seconds / 60:.1f} min (target <= 10 min)")
        time.sleep(args.wait)
        print(f"build 2 ({args.wait:.0f} s later, re-timed):")
        second, _ = build_all(cache, force=True)
        for backend in BACKENDS:
            drift = np.abs(second[backend] / first[backend] - 1)
            print(f"  {backend:12} median row drift {100 * np.nanmedian(drift):.1f} % (target <= 3 %), "
                  f"p90 {100 * np.nanpercentile(drift, 90):.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
