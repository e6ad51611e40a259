"""Does a calibration at one input shape hold at others? NAS-Bench-201 networks measured here at 3x32x32 (the
shape of the shared Raspberry Pi 5 file) and at 3x16x16, 3x64x64, 1x88x88 and 3x128x128; the cost model fitted on
the 3x32x32 rows alone, from two kinds of priors, and scored on every shape against a FLOPs-linear fit of the same
rows.

- ``probed``: this CPU's priors, probed in the same run (``edgebench devices probe`` and the runtime's own rates),
  the way ``benchmarks/costmodel_host.py`` starts.
- ``spec sheet``: what a device without a probe starts from, as the shipped ``rpi5`` profile does: its spec-sheet
  efficiencies on this CPU's probed peak and memory bandwidth, with no caches and no runtime rates. The fit then has
  to move the size factors far (the Pi 5's medium convs 1.8x), and what it does with the size classes the 3x32x32
  rows lack (large convs at bigger inputs) decides the other shapes.

    python benchmarks/nb201_shapes.py [--backend onnxruntime] [--fit 60] [--per-shape 20]

Each number is a measurement on this machine's CPU, one thread; a few minutes with ONNX Runtime.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
from pathlib import Path

import numpy as np

from edgebench.backends import get_backend
from edgebench.costmodel.calibrate import FlopsLinear, fit
from edgebench.costmodel.kernels import KernelRules, load_kernels
from edgebench.costmodel.model import CostParams, KernelTable, params_for, rules_for
from edgebench.costmodel.probe import probe, with_probed_priors
from edgebench.costmodel.runtime_probe import probe_runtime, with_runtime_rates
from edgebench.devices import get_device
from edgebench.lut.metrics import Metrics
from edgebench.lut.sampling import measure_passes
from edgebench.model import from_module, load_onnx
from edgebench.nets.nb201 import nb201
from edgebench.types import Precision

ARCHS = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "nb201_arch_strings.csv"
FIT_SHAPE = (3, 32, 32)
OTHER_SHAPES = ((3, 16, 16), (3, 64, 64), (1, 88, 88), (3, 128, 128))


def label(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def measure(
    backend: str, rules: KernelRules, archs: list[str], shape: tuple[int, ...], out: Path, passes: int = 5
) -> tuple[list, np.ndarray]:
    """Each architecture's kernels (as ``backend`` runs them, by ``rules``) and its latency at ``shape``: the least
    of ``passes`` interleaved passes' p25, so a burst of the VM's noise costs a pass, not a network; a network the
    backend cannot run is left out, named."""
    runtime = get_backend(backend)
    kernels, sessions, inputs = {}, {}, {}
    for i, arch in enumerate(archs):
        name = f"nb201-{label(shape)}-{i}"
        path = from_module(name, nb201(arch, in_channels=shape[0]), (1, *shape)).to_onnx(out)
        sessions[name] = runtime.open(runtime.export(load_onnx(path), Precision.FP32, out / name), threads=1)
        kernels[name], inputs[name] = load_kernels(path, rules), np.zeros((1, *shape), dtype=np.float32)
    best = dict.fromkeys(sessions, np.inf)

    def window(name: str, _pass: int, samples: list[float]) -> None:
        best[name] = min(best[name], float(np.percentile(samples, 25)))

    measure_passes(sessions, inputs, passes, 30, 5, {}, window, lambda name, why: print(f"  {name} left out: {why}"))
    for session in sessions.values():
        session.close()
    kept = [name for name in sessions if np.isfinite(best[name])]
    return [kernels[name] for name in kept], np.array([best[name] for name in kept])


def spec_sheet(probed: CostParams) -> CostParams:
    """The ``rpi5`` profile's spec-sheet efficiencies and overheads on ``probed``'s peak and memory bandwidth, with
    nothing else a probe adds."""
    spec = params_for(get_device("rpi5"), "onnxruntime", Precision.FP32, 1, calibrated=False)
    return CostParams(
        probed.peak_gflops, probed.bandwidth_gbps, probed.bytes_per_elem, spec.efficiency, spec.size_factor,
        spec.overhead_per_layer_ms, spec.overhead_per_network_ms,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--fit", type=int, default=60, help="3x32x32 networks to fit on")
    parser.add_argument("--per-shape", type=int, default=20, help="networks measured at each other shape")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    host = with_probed_priors(get_device("host"), probe())
    host = with_runtime_rates(host, probe_runtime(host, args.backend))
    probed, rules = params_for(host, args.backend, Precision.FP32, 1, calibrated=False), rules_for(host, args.backend)
    with ARCHS.open() as f:
        archs = [row["arch_str"] for row in csv.DictReader(f)]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="edgebench-nb201-shapes-") as tmp:
        sets = {label(FIT_SHAPE): measure(args.backend, rules, rng.sample(archs, args.fit), FIT_SHAPE, Path(tmp))}
        for shape in OTHER_SHAPES:
            sets[label(shape)] = measure(args.backend, rules, rng.sample(archs, args.per_shape), shape, Path(tmp))
    fit_table, fit_ms = KernelTable.of(sets[label(FIT_SHAPE)][0]), sets[label(FIT_SHAPE)][1]
    baseline = FlopsLinear.fit(fit_table.gmacs(), fit_ms)
    print(f"host {args.backend} fp32, 1 thread; fitted on {args.fit} NAS-Bench-201 networks at {label(FIT_SHAPE)}")
    head = f"{'shape':10} {'priors':10} {'n':>3} {'pred/meas':>9} {'±10 %':>6} {'RMSPE':>6} {'tau':>5}"
    print(head + "   FLOPs-linear ±10 %")
    for priors, prior in (("probed", probed), ("spec sheet", spec_sheet(probed))):
        fitted = fit(prior, fit_table, fit_ms)
        for name, (kernels, ms) in sets.items():
            table = KernelTable.of(kernels)
            predicted = table.network_ms(fitted)
            m, flops = Metrics.of(ms, predicted), Metrics.of(ms, baseline.predict(table.gmacs()))
            print(f"{name:10} {priors:10} {len(ms):3d} {np.median(predicted / ms):9.3f} {m.within_10_pct:6.1f} "
                  f"{m.rmspe_pct:6.1f} {m.kendall_tau:5.2f}   {flops.within_10_pct:6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
