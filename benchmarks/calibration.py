"""Cost-model calibration on real Raspberry Pi 5 measurements, against a FLOPs-linear baseline.

The shared file ``pi5_nb201_cifar100_calibration.csv`` holds 400 NAS-Bench-201 networks measured on a Pi 5 (one
thread, FP32) with ONNX Runtime and with LiteRT. For each runtime this script fits, on a random half:

- the ``rpi5`` profile's cost model (per-kind efficiencies and size factors, overheads; peaks stay the specs'),
- the baseline latency = a x MACs + b,

and scores both on the other half with nn-Meter's metrics and Kendall's tau. Target (issue 4): the cost model
beats the baseline on every metric (aim: >= 98 % within +-10 %, tau >= 0.95). ``--seeds`` repeats the split.

Usage: python benchmarks/calibration.py [--data PATH] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgebench.costmodel.calibrate import calibrate_profile
from edgebench.costmodel.measurements import read_measurements
from edgebench.devices import get_device
from edgebench.lut.metrics import Metrics
from edgebench.types import Precision

DATA = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "pi5_nb201_cifar100_calibration.csv"
COLUMNS = {"onnxruntime": "pi5_onnx_lat_ms", "tflite": "pi5_litert_lat_ms"}


def _row(label: str, m: Metrics) -> str:
    return (
        f"  {label:12} RMSE {m.rmse_ms:6.3f} ms  RMSPE {m.rmspe_pct:5.1f} %  ±5 % {m.within_5_pct:5.1f} %  "
        f"±10 % {m.within_10_pct:5.1f} %  tau {m.kendall_tau:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    profile = get_device("rpi5")
    started = time.perf_counter()
    for backend, column in COLUMNS.items():
        networks = read_measurements(args.data, column, backend)
        for seed in args.seeds:
            r = calibrate_profile(profile, backend, Precision.FP32, 1, networks, args.data.name, seed=seed)
            n_fit = len(networks) - r.held_out.n
            print(f"rpi5 {backend} ({column}), seed {seed}: fit on {n_fit}, held out {r.held_out.n} networks")
            print(_row("cost model", r.held_out))
            print(_row("FLOPs-linear", r.baseline))
            beats = all(
                (
                    r.held_out.rmse_ms < r.baseline.rmse_ms,
                    r.held_out.rmspe_pct < r.baseline.rmspe_pct,
                    r.held_out.within_5_pct > r.baseline.within_5_pct,
                    r.held_out.within_10_pct > r.baseline.within_10_pct,
                    r.held_out.kendall_tau > r.baseline.kendall_tau,
                )
            )
            print(f"  cost model beats the baseline on every metric: {'yes' if beats else 'NO'}", flush=True)
    print(f"({time.perf_counter() - started:.0f} s, most of it building and exporting 400 networks twice)")


if __name__ == "__main__":
    main()
