"""LUT predictor accuracy on host: the default 32x32 space, 100 random architectures per backend and precision.

For each of ONNX Runtime FP32/INT8, OpenVINO FP32 and TFLite FP32/INT8 this builds (or reuses) the LUT, then
times 100 random networks end to end, interleaved with a re-timing of the LUT's blocks, and prints nn-Meter's
metrics twice:

- "stored LUT": predictions from the table as built, minutes earlier; includes whatever the machine's speed did
  in between (this VM moves by up to 40 % over tens of seconds; the row-drift column says how much it moved);
- "same state": predictions from the blocks re-timed in the same passes as the networks; the predictor's own
  error, with the machine's drift taken out.

Targets (issue 3): within +-10 % >= 95 % (aim 99 %), RMSPE <= 5 %.

Usage: python benchmarks/lut_accuracy.py [--networks 100] [--cache-dir DIR] [--only onnxruntime:fp32 ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgebench import api
from edgebench.lut.builder import BuildSettings
from edgebench.lut.store import default_cache_dir

PAIRS = ("onnxruntime:fp32", "onnxruntime:int8", "openvino:fp32", "tflite:fp32", "tflite:int8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--only", nargs="+", default=list(PAIRS), metavar="BACKEND:PRECISION")
    args = parser.parse_args()
    device, space = "host", "mbv2-cifar"
    settings = BuildSettings()
    print(f"{space} on {device}, {args.networks} random networks per row; cache {args.cache_dir}")
    print("backend      prec  | stored LUT: RMSE ms  RMSPE %  ±5 %  ±10 %  tau  ", end="")
    print("| same state: RMSPE %  ±10 %  tau  | drift %")
    for pair in args.only:
        backend, precision = pair.split(":")
        prof, pairs, sp = api.profile_plan(device, backends=[backend], precisions=[precision], space=space)
        started = time.perf_counter()
        (result,) = api.build_luts(prof, pairs, sp, cache_dir=args.cache_dir, settings=settings)
        v, png = api.validate_lut(prof, result, sp, n=args.networks, cache_dir=args.cache_dir, settings=settings)
        m, s = v.metrics, v.metrics_same_state
        print(
            f"{backend:12} {precision:5} | {m.rmse_ms:18.3f} {m.rmspe_pct:8.1f} {m.within_5_pct:5.0f} "
            f"{m.within_10_pct:6.0f} {m.kendall_tau:5.2f}  | {s.rmspe_pct:19.1f} {s.within_10_pct:6.0f} "
            f"{s.kendall_tau:4.2f}  | {v.row_drift_pct:6.1f}   ({time.perf_counter() - started:.0f} s, {png})",
            flush=True,
        )


if __name__ == "__main__":
    main()
