"""Agent overhead: the same artifact timed through an agent on loopback and here, median against median.

Starts ``python -m edgebench.agent`` on 127.0.0.1, converts two networks for ONNX Runtime, OpenVINO (IR) and
TFLite (FP32), and times each artifact three times each way, alternately (this VM's speed drifts), keeping the
lowest median of each. Prints agent / local per artifact; 1.00 means the agent adds nothing to what it reports.

Usage: python benchmarks/agent_overhead.py [--runs 300]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from edgebench.backends import get_backend
from edgebench.model import from_module
from edgebench.nets import create_net
from edgebench.testing.agent import loopback_agent
from edgebench.types import Precision

NETWORKS = ("mobilenetv2-0.5-cifar", "resnet18-0.5-cifar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with loopback_agent() as agent:
        client = agent.client
        print(f"agent at {agent.url}: {client.info()['runtimes']}")
        with tempfile.TemporaryDirectory() as tmp:
            for name in NETWORKS:
                module, shape = create_net(name, classes=10)
                model = from_module(name, module.eval(), shape)
                for backend_name in ("onnxruntime", "openvino", "tflite"):
                    backend = get_backend(backend_name)
                    artifact = backend.export(model, Precision.FP32, Path(tmp) / name / backend_name)
                    local, remote = [], []
                    for _ in range(3):
                        with backend.open(artifact, 1) as session:
                            local.append(session.measure(warmup=30, repeats=args.runs).median_ms)
                        remote.append(client.measure(artifact, 1, 30, args.runs).median_ms)
                    here, there = min(local), min(remote)
                    print(f"{name:24} {backend_name:12} local {here:7.3f} ms  agent {there:7.3f} ms  "
                          f"agent/local {there / here:5.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
