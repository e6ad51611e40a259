"""`edgebench predict MODEL.onnx` on every shipped profile: the twelve standard families of issue 30 (224x224,
1000 classes) exported to ONNX once, priced for each backend and precision each profile runs. Every number is
labelled with its source; under each runtime, the calibration behind it (what it was fitted on and its held-out
error) and what it does not cover: the kernel roles of each family that the calibration's networks do not
contain when those are known (NAS-Bench-201 cells: convolutions, 1x1 convolutions, average pooling and adds),
else that every family is extrapolated from networks edgebench cannot see.

Usage: python benchmarks/predict_profiles.py [--nets resnet18-224 ...]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from pathlib import Path

from costmodel_host import STANDARD

from edgebench import api
from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.kernels import KernelRules, module_kernels
from edgebench.costmodel.model import rules_for
from edgebench.model import from_module
from edgebench.nets import create_net
from edgebench.nets.nb201 import nb201

#: A NAS-Bench-201 cell with every operation: the kernel roles a calibration on NAS-Bench-201 networks has seen.
NB201_ALL_OPS = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def _roles(kernels: list[Kernel]) -> set[str]:
    return {k.role for k in kernels}


@functools.cache
def _calibration_roles(rules: KernelRules) -> frozenset[str]:
    """The kernel roles of a NAS-Bench-201 cell with every operation, as a runtime following ``rules`` runs it."""
    return frozenset(_roles(module_kernels(nb201(NB201_ALL_OPS).eval(), (1, 3, 32, 32), rules)))


def _uncovered(estimate: api.ModelEstimate, seen: frozenset[str] | None) -> str:
    if seen is None:
        return "not in the calibration set"
    missing = sorted(r.split(" (")[0] for r in _roles([k for k, _ in estimate.estimate.kernels]) - seen)
    return ", ".join(missing) if missing else "covered"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=list(STANDARD))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgebench-predict-") as tmp:
        models = []
        for name in args.nets:
            module, shape = create_net(name, classes=1000)
            models.append((name, from_module(name, module, shape).to_onnx(Path(tmp))))
        for profile in api.devices():
            for runtime in profile.runtimes:
                for precision in runtime.precisions:
                    estimates = [
                        (name, api.predict_model(m, device=profile, backend=runtime.backend, precision=precision))
                        for name, m in models
                    ]
                    provenance = estimates[0][1].estimate.provenance
                    rules = rules_for(profile, runtime.backend, precision)  # the calibration's networks as it runs them
                    seen = _calibration_roles(rules) if "nb201" in provenance else None
                    print(f"\n{profile.name} {runtime.backend} {precision}, {estimates[0][1].threads} thread(s): "
                          f"{provenance}")  # fmt: skip
                    for name, e in estimates:
                        print(f"  {name:24} {e.estimate.latency_ms:10.2f} ms  {e.estimate.source}  "
                              f"outside the calibration: {_uncovered(e, seen)}")  # fmt: skip


if __name__ == "__main__":
    main()
