"""Where does the host cost model misprice a network? Time it cut after each block, and price each cut.

A standard network (``edgebench.nets``; each is a sequence of blocks) is exported cut after every ``--step``-th
block (and after the first three, where the stem is), each cut ending on a feature map closed by a global average
pool (``--no-pool``: not; without it, LiteRT transposes a cut's large output back to NCHW, which the network does not
do: SqueezeNet's stem cut 1.22 ms against 0.52 with the pool), each prefix converted for ``--backend`` and timed on one
thread (p25 of ``--runs``), then priced by the host cost model: the family fit of a measurement CSV that
``benchmarks/costmodel_host.py --keep DIR`` wrote (``--measurements DIR/measurements.csv``, on the profile probed
beside it), else the shipped host profile as it is. Each row shows the prefix's error and the segment's since the
previous cut: a block priced far off stands out even where the whole network's errors cancel. At 150 runs a
prefix is good to about 0.05 ms on this VM, so segments under about 0.3 ms are noise; repeat a run before reading
a small segment. Run it alone (timing), and read it beside ``results/costmodel_host.txt``.

This is how the window pools' rate and ONNX Runtime's unblocked depthwise convs were found; the same differencing,
every block a cut closed by a pool, found the large depthwise convs overpriced (roofline-14). LiteRT's "slow stems"
once read here were the unpooled cuts' transposes.

Usage: python benchmarks/prefixes.py NETWORK [NETWORK ...] [--backend tflite] [--size 224] [--step 3]
                                     [--measurements DIR/measurements.csv] [--runs 150] [--no-pool]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import costmodel_host
import numpy as np
import pandas as pd
import torch
from torch import nn

from edgebench.backends import get_backend
from edgebench.costmodel.calibrate import probed_kinds
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.measurements import read_measurements
from edgebench.costmodel.model import CostParams, KernelTable, params_for, rules_for
from edgebench.devices import DeviceProfile, get_device, load_profile
from edgebench.exceptions import EdgebenchError, error_text
from edgebench.model import from_module, load_onnx
from edgebench.nets import create_net
from edgebench.types import Precision


def _model(args: argparse.Namespace) -> tuple[DeviceProfile, CostParams, str]:
    """The profile, the parameters that price the prefixes, and where they come from."""
    if args.measurements is None:
        host = get_device("host")
        params = params_for(host, args.backend, Precision.FP32)
        return host, params, f"the shipped host profile ({params.provenance})"
    host = load_profile(args.measurements.parent / costmodel_host.PROBED)
    networks = read_measurements(args.measurements, "latency_ms", rules_for(host, args.backend))
    sets = pd.read_csv(args.measurements)["set"].tolist()
    fit_sets = (costmodel_host.FIT, costmodel_host.FIT_SIZES)
    fitted = [n for n, s in zip(networks, sets, strict=True) if s in fit_sets]
    prior = params_for(host, args.backend, Precision.FP32, calibrated=False)
    fit = costmodel_host._fit(fitted, prior, probed_kinds(host))
    return host, fit, f"the family fit of {args.measurements} ({len(fitted)} networks)"


def _cuts(blocks: int, step: int) -> list[int]:
    return sorted({1, 2, 3, *range(3 + step, blocks, step), blocks})


def _ended(prefix: nn.Module, shape: tuple[int, ...], pool: bool) -> nn.Module:
    """``prefix`` with a global average pool after it where ``pool`` and it ends on a feature map: a cut's big output
    would get layout transposes on a channels-last runtime (LiteRT) that the network does not have."""
    with torch.no_grad():
        is_map = prefix(torch.zeros(shape)).dim() == 4
    return nn.Sequential(prefix, nn.AdaptiveAvgPool2d(1)).eval() if pool and is_map else prefix


def _timed_ms(args: argparse.Namespace, module: nn.Module, shape: tuple[int, ...]) -> float:
    backend = get_backend(args.backend)
    with tempfile.TemporaryDirectory(prefix="edgebench-prefix-") as tmp:
        onnx_path = from_module("prefix", module, shape).to_onnx(Path(tmp))
        artifact = backend.export(load_onnx(onnx_path), Precision.FP32, Path(tmp) / "artifact")
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        with backend.open(artifact, threads=1) as session:
            return float(np.percentile(session.measure(x, warmup=10, repeats=args.runs).samples_ms, 25))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="+", help="standard networks, e.g. shufflenetv2-1.0-224")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--size", type=int, default=224, help="input side in pixels")
    parser.add_argument("--step", type=int, default=3, help="blocks between cuts after the first three")
    parser.add_argument("--measurements", type=Path, default=None, help="a costmodel_host.py measurement CSV")
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument(
        "--no-pool", dest="pool", action="store_false",
        help="time each cut as it is, without the global average pool that ends it by default",
    )  # fmt: skip
    args = parser.parse_args()
    host, params, source = _model(args)
    rules = rules_for(host, args.backend)
    print(f"{args.backend}, 1 thread, {args.size}x{args.size}; priced by {source}")
    print(f"{'network':24} {'cut':>5} {'block':18} {'measured':>9} {'priced':>8} {'error':>8}   "
          f"{'segment':>8} {'priced':>8} {'error':>8}")  # fmt: skip
    for name in args.networks:
        try:
            module, _ = create_net(name)
        except EdgebenchError as e:
            parser.error(error_text(e))
        if not isinstance(module, nn.Sequential):
            parser.error(f"{name} is not a sequence of blocks; give a standard network such as mobilenetv2-1.0-224")
        shape, before = (1, 3, args.size, args.size), (0.0, 0.0)
        for cut in _cuts(len(module), args.step):
            prefix = _ended(module[:cut].eval(), shape, args.pool)
            measured = _timed_ms(args, prefix, shape)
            priced = float(KernelTable.of([module_kernels(prefix, shape, rules)]).network_ms(params)[0])
            segment = (measured - before[0], priced - before[1])
            error = f"{100 * (segment[1] / segment[0] - 1):+7.1f}%" if segment[0] > 0 else f"{'-':>8}"
            print(f"{name:24} {f'[:{cut}]':>5} {type(module[cut - 1]).__name__:18} {measured:9.3f} {priced:8.3f} "
                  f"{100 * (priced / measured - 1):+7.1f}%   {segment[0]:8.3f} {segment[1]:8.3f} {error}",
                  flush=True)  # fmt: skip
            before = (measured, priced)


if __name__ == "__main__":
    main()
