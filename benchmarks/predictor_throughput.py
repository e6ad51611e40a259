"""Predictor throughput: architectures predicted per second from a real LUT (target >= 100,000 per second).

Uses the host ONNX Runtime FP32 LUT of the default space from the cache (building it first if it is missing,
about 30 s), encodes 100,000 random architectures once, and times ``Predictor.predict_encoded`` on all of them,
best of 5 calls.

Usage: python benchmarks/predictor_throughput.py [--archs 100000] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from edgebench import api
from edgebench.lut.predictor import Predictor
from edgebench.lut.store import default_cache_dir
from edgebench.searching.space import get_space
from edgebench.types import Precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=100_000)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    space = get_space("mbv2-cifar")
    result = api.build_lut(
        "host", backend="onnxruntime", precision=Precision.FP32, space=space, cache_dir=args.cache_dir
    )
    predictor = Predictor(result.table, space)
    rng = random.Random(0)
    x = np.stack([space.encode(space.sample(rng)) for _ in range(args.archs)])
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        latencies = predictor.predict_encoded(x)
        best = min(best, time.perf_counter() - started)
    print(
        f"{args.archs} architectures in {best * 1000:.1f} ms: {args.archs / best:,.0f} per second (target >= 100,000)"
    )
    print(
        f"predicted latency: median {np.median(latencies):.3f} ms, range {latencies.min():.3f}-{latencies.max():.3f} ms"
    )


if __name__ == "__main__":
    main()
