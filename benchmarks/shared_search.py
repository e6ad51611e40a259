"""Wall time of one search study run by 1 worker vs 2 workers sharing it through PostgreSQL, on this machine.

Starts a throwaway PostgreSQL cluster (``initdb``, a private Unix socket), then runs the same quick proxy search
(space ``mbv2-cifar``, data ``digits``, loss ``ce``, ``--trials`` candidates, no baseline) first with one worker,
then with two worker processes on a fresh database, and prints both wall times and their ratio. On two cores a
single worker already uses both (PyTorch threads), so the ratio measures what sharing costs or gains here, not
what it gains across machines.

Usage: python benchmarks/shared_search.py [--trials 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from edgebench.searching.storage import storage_for
from edgebench.testing.postgres import binaries, start_cluster
from edgebench.types import Status


def run(url: str, workers: int, trials: int, root: Path) -> float:
    """Seconds until ``workers`` processes finish the study in ``url``; each gets an equal share of the threads."""
    threads = str(max(1, (os.cpu_count() or 2) // workers))
    env = {**os.environ, "OMP_NUM_THREADS": threads}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", "from edgebench.cli import app; app()", "search", "-d", "myriadx",
                               "-l", "15ms", "--method", "proxy", "--data", "digits", "--distill", "ce",
                               "--no-baseline", "--trials", str(trials), "--storage", url, "--out",
                               str(root / f"w{workers}-{i}")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(workers)]  # fmt: skip
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed:\n{err[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    folder = binaries()
    if folder is None:
        raise SystemExit("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)")
    server = start_cluster(folder)
    try:
        root = Path(tempfile.mkdtemp(prefix="eb-shared-"))
        seconds = {}
        for workers in (1, 2):
            url = server.create_database(f"w{workers}")
            seconds[workers] = run(url, workers, args.trials, root)
            (name,) = optuna.get_all_study_names(storage_for(url))
            study = optuna.load_study(study_name=name, storage=storage_for(url))
            done = [t.user_attrs["arch"] for t in study.trials if t.user_attrs.get("status") == Status.COMPLETE]
            print(f"{workers} worker(s): {seconds[workers]:.0f} s, {len(done)} trained, "
                  f"{len(done) - len(set(done))} trained twice", flush=True)  # fmt: skip
        print(f"2 workers / 1 worker wall time: {seconds[2] / seconds[1]:.2f} ({os.cpu_count()} cores)")
    finally:
        server.stop()
        server.remove()


if __name__ == "__main__":
    main()
