"""Where inside a network does the cost model miss? Time each top-level block of a standard network in the network,
by prefix differencing, beside the cost model's price for it.

LiteRT runs a whole graph as one XNNPACK delegate node, so it has no per-node profile, and a layer timed alone is not
a layer in a network (its input and output transposes, its weights hot in the cache: a ResNet-50 conv chain ran 28 %
slower in the network than the sum of its convs alone). So each prefix of the network (its first k blocks, then a
global average pool) is converted and timed, interleaved with the others, and a block's time is its prefix's minus
the one before; the cost model prices the same prefixes, so the pools cancel on both sides. Differences of
milliseconds-long prefixes carry their noise (about ±0.1 ms here): read sums of blocks, and runs of similar ones.

The cost model is the shape fit of a kept ``benchmarks/costmodel_host.py`` run (its measurements and the profile
probed beside them), for the run's backend.

Usage: python benchmarks/block_times.py --measurements DIR/measurements.csv --backend tflite mobilenetv2-1.0-224
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from costmodel_host import FIT, PROBED
from torch import nn

from edgebench.backends import get_backend
from edgebench.costmodel.calibrate import fit, probed_kinds
from edgebench.costmodel.kernels import KernelRules, load_kernels
from edgebench.costmodel.measurements import read_measurements
from edgebench.costmodel.model import CostParams, KernelTable, params_for, rules_for
from edgebench.devices import load_profile
from edgebench.model import from_module, load_onnx
from edgebench.nets import create_net
from edgebench.types import Precision

TAIL = ("ClassifierHead", "Flatten", "AdaptiveAvgPool2d")  # a network's head, left out of every prefix


def shape_fit(measurements: Path, backend: str) -> tuple[CostParams, KernelRules]:
    """The shape fit of a kept run, and the kernel rules of its backend."""
    host = load_profile(measurements.parent / PROBED)
    rules = rules_for(host, backend)
    sets = pd.read_csv(measurements)["set"].tolist()
    networks = read_measurements(measurements, "latency_ms", rules)
    fitted = [n for n, s in zip(networks, sets, strict=True) if s == FIT]
    prior = params_for(host, backend, Precision.FP32, calibrated=False)
    table, latencies = KernelTable.of([n.kernels for n in fitted]), np.array([n.latency_ms for n in fitted])
    return fit(prior, table, latencies, probed=probed_kinds(host)), rules


def _label(block: nn.Module) -> str:
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    name = type(block).__name__
    return f"{name} {convs[0].in_channels}->{convs[-1].out_channels}" if convs else name


def block_times(name: str, backend: str, params: CostParams, rules: KernelRules, runs: int) -> pd.DataFrame:
    """Each top-level block of network ``name``: its output shape, measured and priced milliseconds."""
    module, shape = create_net(name)
    blocks = [b for b in module.eval().children() if type(b).__name__ not in TAIL]
    runtime = get_backend(backend)
    sessions, priced, outputs = [], [], []
    with tempfile.TemporaryDirectory(prefix="edgebench-blocks-") as tmp:
        for k in range(1, len(blocks) + 1):
            prefix = nn.Sequential(*blocks[:k], nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
            with torch.no_grad():
                outputs.append("x".join(map(str, nn.Sequential(*blocks[:k])(torch.zeros(shape)).shape[1:])))
            path = from_module(f"prefix{k}", prefix, shape).to_onnx(Path(tmp))
            priced.append(KernelTable.of([load_kernels(path, rules)]).network_ms(params)[0])
            artifact = runtime.export(load_onnx(path), Precision.FP32, Path(tmp) / f"prefix{k}")
            sessions.append(runtime.open(artifact, threads=1))
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        samples = [[s.measure(x, warmup=2, repeats=20).median_ms for s in sessions] for _ in range(runs)]
        for s in sessions:
            s.close()
    measured = np.min(np.array(samples), axis=0)  # the least-disturbed pass of each prefix
    return pd.DataFrame({
        "block": [_label(b) for b in blocks], "output": outputs,
        "measured_ms": np.diff(measured, prepend=0.0), "priced_ms": np.diff(np.array(priced), prepend=0.0),
    })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="+", help="standard networks (edgebench.nets names)")
    parser.add_argument("--measurements", type=Path, required=True, help="a kept costmodel_host.py run's CSV")
    parser.add_argument("--backend", required=True, help="the backend that run measured")
    parser.add_argument("--runs", type=int, default=5, help="interleaved passes over the prefixes")
    args = parser.parse_args()
    params, rules = shape_fit(args.measurements, args.backend)
    pd.set_option("display.width", 200)
    for name in args.networks:
        table = block_times(name, args.backend, params, rules, args.runs)
        table["error_pct"] = 100 * (table.priced_ms / table.measured_ms - 1)
        total, cost = table.measured_ms.sum(), table.priced_ms.sum()
        print(f"\n{name} on {args.backend}, blocks in the network (prefix differences), priced by the shape fit")
        print(table.round(3).to_string(index=False))
        print(f"all blocks: measured {total:.2f} ms, priced {cost:.2f} ms ({100 * (cost / total - 1):+.1f} %)")


if __name__ == "__main__":
    main()
