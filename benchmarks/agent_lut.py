"""A whole search space's LUT built through an agent on loopback and here: build time and row agreement.

Starts the agent on 127.0.0.1, builds the LUT of ``--space`` for ``--backend`` FP32 on a device that
is this machine reached through the agent (source ``agent``), then the same LUT on ``host`` (measured), each in a
fresh cache. Prints each build's time and boundary-correction fit, the agent's cache of loaded artifacts and the
bytes it received, and agent / local per row (median and p10-p90): on the same CPU the rows should agree to this
VM's run-to-run drift (0-8 %). ``--agent-cache-mb 0`` makes the agent load the artifact of every window afresh.

Usage: python benchmarks/agent_lut.py [--space mbv2-cifar] [--backend onnxruntime] [--agent-cache-mb 256]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from edgebench.devices import get_device, load_profile
from edgebench.lut.builder import BuildResult, BuildSettings, build_lut
from edgebench.searching.space import get_space
from edgebench.testing.agent import host_as_board, loopback_agent
from edgebench.types import Precision


def window_mb(cache_dir: Path, passes: int) -> float:
    """What the agent would receive if every window sent its artifact: the artifacts' bytes times the passes."""
    total = 0
    for done in cache_dir.rglob("done.json"):
        artifact = done.parent / json.loads(done.read_text())["file"]
        total += sum(p.stat().st_size for p in (artifact, artifact.with_suffix(".bin")) if p.exists())
    return passes * total / 1e6


def rss_mb(pid: int) -> float:
    """A process's resident memory (Linux), to size ``--cache-mb`` by."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1e3


def describe(label: str, result: BuildResult) -> None:
    c = result.table.meta.correction
    print(f"{label:6} {len(result.table.rows)} rows, {result.failed} failed, built in {result.seconds:.0f} s; "
          f"correction fit on {c.networks} networks: RMSPE {100 * c.fit_rmspe:.1f} %", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mbv2-cifar")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--agent-cache-mb", type=float, default=256.0)
    args = parser.parse_args()
    with loopback_agent(cache_mb=args.agent_cache_mb) as agent, tempfile.TemporaryDirectory() as tmp:
        os.environ["EDGEBENCH_BENCH_AGENT_TOKEN"] = agent.token
        board = load_profile(host_as_board(Path(tmp), agent.url, "EDGEBENCH_BENCH_AGENT_TOKEN"))
        space = get_space(args.space)
        remote = build_lut(board, args.backend, Precision.FP32, space, Path(tmp) / "remote")
        describe("agent", remote)
        facts = agent.client.info()
        cache, sent = facts["cache"], window_mb(Path(tmp) / "remote", BuildSettings().passes)
        print(f"agent: {cache['hits']} requests found their artifact loaded, {cache['misses']} did not; "
              f"{cache['artifacts']} kept ({cache['mb']:.0f} of {cache['limit_mb']:.0f} MB); received "
              f"{facts['received_mb']:.0f} MB (each window sending its artifact: {sent:.0f} MB); resident "
              f"{rss_mb(agent.process.pid):.0f} MB")  # fmt: skip
        local = build_lut(get_device("host"), args.backend, Precision.FP32, space, Path(tmp) / "local")
        describe("local", local)
        ratio = remote.table.rows["latency_ms"].to_numpy() / local.table.rows["latency_ms"].to_numpy()
        p10, p50, p90 = np.nanpercentile(ratio, [10, 50, 90])
        print(f"agent / local per row: median {p50:.3f}, p10 {p10:.3f}, p90 {p90:.3f}")


if __name__ == "__main__":
    main()
