"""`edgebench predict MODEL.onnx` on every shipped profile: a ResNet-18 and a MobileNetV2 (224x224, 1000 classes)
exported to ONNX, priced for each backend and precision each profile runs, every number labelled with its source
and the held-out error of the calibration behind it (issue 4).

Usage: python benchmarks/predict_profiles.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgebench import api
from edgebench.model import from_module
from edgebench.nets import create_net

NETS = ("resnet18-224", "mobilenetv2-1.0-224")


def _error(m: api.ModelEstimate) -> str:
    cal = m.estimate.provenance
    if cal.startswith("uncalibrated"):
        return "uncalibrated priors"
    return cal[cal.index("held-out error:") + len("held-out error: ") :]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="edgebench-predict-") as tmp:
        models = []
        for name in NETS:
            module, shape = create_net(name, classes=1000)
            models.append(from_module(name, module, shape).to_onnx(Path(tmp)))
        print(f"{'device':12} {'backend':12} {'prec':5} {'thr':>3} " + " ".join(f"{n:>20}" for n in NETS) + "  error")
        for profile in api.devices():
            for runtime in profile.runtimes:
                for precision in runtime.precisions:
                    estimates = [
                        api.predict_model(m, device=profile, backend=runtime.backend, precision=precision)
                        for m in models
                    ]
                    cells = " ".join(f"{e.estimate.latency_ms:9.2f} ms {e.estimate.source:>8}" for e in estimates)
                    print(f"{profile.name:12} {runtime.backend:12} {precision!s:5} {estimates[0].threads:3} {cells}  "
                          f"{_error(estimates[0])}")  # fmt: skip


if __name__ == "__main__":
    main()
