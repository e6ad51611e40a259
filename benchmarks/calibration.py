"""Cost-model calibration on real Raspberry Pi 5 measurements, against a FLOPs-linear baseline.

The shared file ``pi5_nb201_cifar100_calibration.csv`` holds 400 NAS-Bench-201 networks measured on a Pi 5 (one
thread, FP32) with ONNX Runtime and with LiteRT. For each runtime this script fits, on a random half:

- the ``rpi5`` profile's cost model (per-kind efficiencies and size factors, overheads; peaks stay the specs'),
- the baseline latency = a x MACs + b,

and scores both on the other half with nn-Meter's metrics and Kendall's tau. Target (issue 4): the cost model
beats the baseline on every metric (aim: >= 98 % within +-10 %, tau >= 0.95). ``--seeds`` repeats the split.
``--fit-rows 10 20`` fits on that many rows instead of half and scores on all the rest (issue 30: a handful of
a user's own measurements). ``--device host --backend onnxruntime --column latency_ms --data FILE`` calibrates
the host profile on a measurement CSV that ``benchmarks/costmodel_host.py --keep`` wrote (``--precision int8`` for
one it timed at INT8).

Usage: python benchmarks/calibration.py [--data PATH] [--seeds 0 1 2] [--fit-rows 10 20]
       python benchmarks/calibration.py --device host --backend onnxruntime --column latency_ms --data FILE
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgebench.costmodel.calibrate import calibrate_profile
from edgebench.costmodel.measurements import read_measurements
from edgebench.costmodel.model import rules_for
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
    parser.add_argument("--fit-rows", type=int, nargs="+", default=[0], help="rows to fit on (0: half)")
    parser.add_argument("--device", default="rpi5")
    parser.add_argument("--backend", default=None, help="with --column: one runtime's column of --data")
    parser.add_argument("--column", default=None)
    parser.add_argument("--precision", type=Precision, choices=list(Precision), default=Precision.FP32,
                        help="the precision --data was timed at (costmodel_host.py --precision)")  # fmt: skip
    args = parser.parse_args()
    profile = get_device(args.device)
    columns = {args.backend: args.column} if args.backend else COLUMNS
    started = time.perf_counter()
    for backend, column in columns.items():
        networks = read_measurements(args.data, column, rules_for(profile, backend, args.precision))
        for rows in args.fit_rows:
            fraction = 1 - rows / len(networks) if rows else 0.5
            for seed in args.seeds:
                r = calibrate_profile(profile, backend, args.precision, 1, networks, args.data.name, fraction, seed)
                n_fit = len(networks) - r.held_out.n
                print(f"{args.device} {backend} {args.precision} ({column}), seed {seed}: fit on {n_fit}, held out "
                      f"{r.held_out.n} networks", flush=True)  # fmt: skip
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
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
