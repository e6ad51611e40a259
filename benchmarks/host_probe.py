"""Probe this machine's CPU for the host profile's cost-model priors: kernel rates and the memory hierarchy
(:mod:`edgebench.costmodel.probe` and :mod:`edgebench.costmodel.runtime_probe` say what is timed and how each figure
becomes a prior).

The CPU behind a VM changes between sessions, and with it every prior: ``--write PATH`` saves the host profile
with the priors probed here (``--write edgebench/devices/profiles/host.yaml`` to update the shipped one; its
``source`` fields then name this CPU and date), with each installed runtime's op rates (activations, transposes,
window pools), weight reads and slower depthwise paths.
``benchmarks/costmodel_host.py`` probes in its own run.

Usage: python benchmarks/host_probe.py [--backend onnxruntime] [--runs 200] [--write PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edgebench import api
from edgebench.backends.registry import is_available
from edgebench.costmodel.probe import probe
from edgebench.devices import get_device
from edgebench.devices.registry import SHIPPED_DIR, leading_comments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--write", type=Path, default=None, help="save the host profile with these priors here")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.write:
        print(probe(args.backend, args.runs).summary())
        print(f"probed in {time.perf_counter() - started:.0f} s (p25 of {args.runs} runs per chain)")
        return
    others = [b for b in get_device("host").backends if b != args.backend and is_available(b)]
    api.probe_host(args.write, backends=[args.backend, *others], runs=args.runs, figures=print,
                   header=leading_comments(SHIPPED_DIR / "host.yaml"))  # fmt: skip
    print(f"probed in {time.perf_counter() - started:.0f} s; wrote {args.write}")


if __name__ == "__main__":
    main()
