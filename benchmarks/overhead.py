"""edgebench's OpenVINO latency vs OpenVINO's own benchmark_app on the same IR and settings.

Settings for both: CPU, 1 thread, 1 stream, 1 infer request, sync API, f32 inference precision, pinned to the
same core.
Runs alternate (benchmark_app, edgebench) over several rounds; each round gives a paired ratio, which
cancels the slow drift of this VM (5-30 % between runs), and the median paired ratio is printed with its
range. Target: ratio within 0.97-1.03 (the harness adds nothing measurable).
edgebench times every backend by wall clock around its fastest sync call (for OpenVINO, ``infer`` without an
output copy); benchmark_app reports the runtime's own per-request latency, so the ratio shows what the Python
call adds.

Usage: python benchmarks/overhead.py [--net mobilenetv2-1.0-224 ...] [--rounds 9] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from edgebench.backends import get_backend
from edgebench.model import from_module
from edgebench.nets import create_net
from edgebench.types import Precision

CORE = max(os.sched_getaffinity(0))
MEDIAN = re.compile(r"Median:\s+([\d.]+)\s*(ms|us)")


def _pin() -> None:
    """Both contenders run on the same core: a thread migrating between this VM's vCPUs is noise, not overhead."""
    os.sched_setaffinity(0, {CORE})


def benchmark_app_median_ms(xml: Path, runs: int) -> float:
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    cmd = [
        exe,
        "-m",
        str(xml),
        "-d",
        "CPU",
        "-hint",
        "none",
        "-nthreads",
        "1",
        "-nstreams",
        "1",
        "-nireq",
        "1",
        "-api",
        "sync",
        "-infer_precision",
        "f32",
        "-niter",
        str(runs),
    ]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=_pin).stdout
    match = MEDIAN.search(text)
    if match is None:
        raise RuntimeError(f"no median latency in benchmark_app output:\n{text[-2000:]}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", default=["mobilenetv2-1.0-224", "mobilenetv2-0.5-cifar"], nargs="+")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    _pin()
    backend = get_backend("openvino")
    print(f"openvino {backend.version()}, 1 thread, sync, 1 request, f32; {args.rounds} rounds x {args.runs} runs")
    header = ("network", "benchmark_app ms", "edgebench ms", "ratio")
    print("{:24} {:>17} {:>13} {:>7}".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.net:
            module, shape = create_net(name)
            artifact = backend.export(from_module(name, module, shape), Precision.FP32, Path(tmp) / name)
            ours, theirs = [], []
            with backend.open(artifact, threads=1) as session:
                for _ in range(args.rounds):
                    theirs.append(benchmark_app_median_ms(artifact.path, args.runs))
                    ours.append(session.measure(warmup=20, repeats=args.runs).median_ms)
            ratio = [o / t for o, t in zip(ours, theirs, strict=True)]
            a, b = statistics.median(theirs), statistics.median(ours)
            print(
                f"{name:24} {a:17.4f} {b:13.4f} {statistics.median(ratio):7.3f}"
                f"   (paired ratios {min(ratio):.3f}-{max(ratio):.3f})"
            )


if __name__ == "__main__":
    main()
