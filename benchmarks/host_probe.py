"""Probe this machine's CPU for the host profile's cost-model priors: kernel rates and the memory hierarchy.

Each probe times a chain of n identical kernels and of one, with ONNX Runtime on one thread, and divides the
difference by n - 1, so the per-inference overhead and the first kernel's cold start cancel. It prints:

- the FLOP rates of a dense 3x3 conv, a 1x1 conv and a depthwise 5x5 conv (64 channels at 32x32);
- the activation stream rate of a depthwise 3x3 conv at 384 channels and 14x14 (MobileNet's middle): with 9
  multiply-adds per output it is bound by its per-output cost, not by its FLOPs;
- the bandwidth of a standalone ReLU (bytes read + written) over tensor sizes from L2 to past L3;
- the bandwidth at which a network's weights are read, from chains of 1x1 convs at 1x1 pixels whose weights
  total from under L2 to past L3.

``edgebench/devices/profiles/host.yaml`` takes its priors from these figures (its ``source`` fields quote them).

Usage: python benchmarks/host_probe.py [--backend onnxruntime] [--runs 200]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from torch import nn

from edgebench.backends import get_backend
from edgebench.devices.local import cpu_model
from edgebench.model import from_module, load_onnx
from edgebench.types import Precision


def _ms(module: nn.Module, shape: tuple[int, ...], args: argparse.Namespace, out: Path) -> float:
    backend = get_backend(args.backend)
    name = f"probe{len(list(out.iterdir()))}"
    artifact = backend.export(load_onnx(from_module(name, module.eval(), shape).to_onnx(out)), Precision.FP32, out)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with backend.open(artifact, threads=1) as session:
        return float(np.percentile(session.measure(x, warmup=20, repeats=args.runs).samples_ms, 25))


def per_kernel_ms(make: Callable[[], nn.Module], shape: tuple[int, ...], args: argparse.Namespace, n: int) -> float:
    """Milliseconds one more kernel of a chain adds."""
    with tempfile.TemporaryDirectory(prefix="edgebench-probe-") as tmp:
        one = _ms(nn.Sequential(make()), shape, args, Path(tmp))
        many = _ms(nn.Sequential(*(make() for _ in range(n))), shape, args, Path(tmp))
    return (many - one) / (n - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"{cpu_model()}, {args.backend}, 1 thread; every figure below is measured here (p25 of {args.runs} runs)")
    c, hw = 64, 32
    # name: (kernel, channels, side, multiply-adds per output); the 16-channel conv gets 4x the pixels, so the
    # per-kernel overhead stays small next to its work
    convs = {
        "dense 3x3 conv": (lambda: nn.Conv2d(c, c, 3, padding=1), c, hw, 9 * c),
        "1x1 conv": (lambda: nn.Conv2d(c, c, 1), c, hw, c),
        "1x1 conv, 16 ch": (lambda: nn.Conv2d(16, 16, 1), 16, 2 * hw, 16),
        "depthwise 5x5 conv": (lambda: nn.Conv2d(c, c, 5, padding=2, groups=c), c, hw, 25),
    }
    rate = {}
    for name, (make, ch, side, depth) in convs.items():
        ms = per_kernel_ms(make, (1, ch, side, side), args, 11)
        rate[name] = 2 * ch * side * side * depth / ms / 1e6
        print(f"  {name:20} {ch}x{side}x{side}: {ms * 1e3:8.1f} us  {rate[name]:6.1f} GFLOP/s")
    r16, r64 = rate["1x1 conv, 16 ch"], rate["1x1 conv"]
    k0 = (r64 - r16) / (r16 / 16 - r64 / 64)
    print(f"  reduction half-depth K0 (rate = R x K / (K + K0), from the two 1x1 convs): {k0:.1f}")
    ch, side = 384, 14
    ms = per_kernel_ms(lambda: nn.Conv2d(ch, ch, 3, padding=1, groups=ch), (1, ch, side, side), args, 11)
    moved = 2 * ch * side * side * 4
    print(f"  depthwise 3x3 conv {ch}x{side}x{side}: {ms * 1e3:8.1f} us  {moved / ms / 1e6:6.1f} GB/s of activations "
          f"read + written  ({2 * 9 * ch * side * side / ms / 1e6:.1f} GFLOP/s)")  # fmt: skip
    for mb in (0.25, 1.0, 4.0, 16.0, 64.0):
        side = int((mb * 1e6 / 4 / 16) ** 0.5)
        ms = per_kernel_ms(nn.ReLU, (1, 16, side, side), args, 11)
        moved = 2 * 16 * side * side * 4
        print(f"  ReLU {moved / 2e6:6.2f} MB tensor: {ms * 1e3:8.1f} us  {moved / ms / 1e6:6.1f} GB/s")
    for ch, n in ((128, 11), (512, 11), (1024, 11), (2048, 11)):
        ms = per_kernel_ms(lambda ch=ch: nn.Conv2d(ch, ch, 1, bias=False), (1, ch, 1, 1), args, n)
        weights = ch * ch * 4
        print(f"  1x1-pixel conv, {n * weights / 1e6:6.1f} MB of weights in all: {ms * 1e3:8.1f} us per conv  "
              f"{weights / ms / 1e6:6.1f} GB/s")  # fmt: skip


if __name__ == "__main__":
    main()
