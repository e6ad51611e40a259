"""Does a copy of the agent drive the runtimes of another Python install? Parity and latency per artifact.

Copies ``edgebench/agent.py`` to a temporary folder and starts it with ``--python`` (default: this interpreter),
as a board would run it: e.g. a virtual environment holding an older OpenVINO, numpy < 2 or tflite-runtime. For
every runtime that agent reports, converts a network here (FP32, and FP16 for OpenVINO, whose IR the agent's
OpenVINO must read), runs 8 test inputs on the agent and compares its outputs with PyTorch's, then times it.

Usage: python benchmarks/agent_runtimes.py [--python /path/to/other/venv/bin/python] [--network NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgebench.backends import get_backend
from edgebench.model import from_module
from edgebench.nets import create_net
from edgebench.testing.agent import loopback_agent, standalone
from edgebench.types import Precision

PRECISIONS = {"onnxruntime": [Precision.FP32], "openvino": [Precision.FP32, Precision.FP16], "tflite": [Precision.FP32]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the interpreter the agent runs with")
    parser.add_argument("--network", default="mobilenetv2-0.5-cifar")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, loopback_agent(standalone(Path(tmp) / "board", args.python)) as agent:
        facts = agent.client.info()
        print(f"agent ({args.python}): Python {facts['python']}, runtimes {facts['runtimes']}, "
              f"OpenVINO devices {facts['openvino_devices']}")  # fmt: skip
        module, shape = create_net(args.network, classes=10)
        model = from_module(args.network, module.eval(), shape)
        x = np.random.default_rng(0).standard_normal((8, *shape[1:]), dtype=np.float32)
        reference = model.reference(x)
        for backend_name in (b for b in PRECISIONS if b in facts["runtimes"]):
            version = facts["runtimes"][backend_name]
            for precision in PRECISIONS[backend_name]:
                artifact = get_backend(backend_name).export(model, precision, Path(tmp) / f"{backend_name}-{precision}")
                try:
                    outputs = agent.client.run(artifact, x, threads=1)
                    m = agent.client.measure(artifact, 1, 20, args.runs)
                except Exception as e:  # report and go on: the point is which combinations work
                    print(f"{backend_name:12} {precision!s:5} {version:10} FAILED {e}")
                    continue
                error = float(np.abs(outputs - reference).max() / np.abs(reference).max())
                print(f"{backend_name:12} {precision!s:5} {version:10} max rel. error vs PyTorch {error:.1e}  "
                      f"median {m.median_ms:.3f} ms", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
