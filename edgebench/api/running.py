"""Running candidates through the backends into a results table, and rendering it as a report."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgebench import outputs
from edgebench.api.resolve import budget
from edgebench.benchmark import plan
from edgebench.data import load_data
from edgebench.devices import get_device
from edgebench.reporting import write_report
from edgebench.results import ResultRow, ResultsTable, read_results
from edgebench.runner import RunJob, load_candidates, plan_jobs, run_jobs
from edgebench.target import target_for
from edgebench.types import Precision, Source, Status, parse_precision


def report(
    results: Path | pd.DataFrame, *, out: Path, budget_ms: float | None = None, title: str | None = None
) -> Path:
    """Render a results table (``edgebench run``'s folder or file, or its frame) as one self-contained HTML page
    at ``out``; ``budget_ms`` marks what is feasible. Returns ``out``.

    Raises:
        ConfigError: the file is not a results table; a budget that is not a positive number.
    """
    frame = results if isinstance(results, pd.DataFrame) else read_results(results)
    return write_report(frame, out, budget(budget_ms) if budget_ms is not None else None, title)


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: its rows still to run, how many earlier rows it keeps (and how many of those FAILED),
    and the results table it appends to."""

    device: str
    source: Source
    jobs: list[RunJob]
    kept: int
    kept_failed: int
    table: ResultsTable


@dataclass(frozen=True)
class RunResults:
    """A finished run: its results table (this run's rows and those kept from earlier) and how many rows failed."""

    table: ResultsTable
    failed: int

    def to_dataframe(self) -> pd.DataFrame:
        """One row per candidate x backend x precision: accuracy of the converted artifact, latency with its
        source, status and reason."""
        return self.table.frame


def plan_run(
    paths: Sequence[Path],
    *,
    device: str,
    out: Path,
    backends: Sequence[str] = (),
    precisions: Sequence[str | Precision] = (),
    data: str | None = None,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    timeout_s: float = 600.0,
    retry_failed: bool = False,
    overwrite: bool = False,
) -> tuple[RunPlan, Iterator[ResultRow]]:
    """Plan every candidate x (backend, precision) the device runs (all its precisions unless given), less the
    rows ``out`` already holds, and return the plan and a lazy stream of rows, each written as it finishes (what
    :func:`run` collects; for progress reporting).

    Raises:
        ConfigError, UnknownNameError, UnsupportedError: bad paths, device, backend, precision or data, before any
            work starts. UnreachableDeviceError: a device behind an agent whose token is not set.
    """
    prof = get_device(device)
    target = target_for(prof)  # a device behind an agent needs its token, before any work
    wanted = [parse_precision(p) for p in precisions] or list(Precision)
    pairs = plan(prof, backends, wanted)
    load_data(data)  # a bad data spec fails here, in one line, not in every row
    candidates = load_candidates(paths)
    identity = {"device": prof.name, "data": data, "threads": threads, "warmup": warmup, "repeats": repeats}
    table = ResultsTable(outputs.claim(out, "run", identity, overwrite))
    jobs = plan_jobs(candidates, device, pairs, data, table.done(retry_failed), threads, warmup, repeats)
    kept = len(candidates) * len(pairs) - len(jobs)
    kept_failed = len(plan_jobs(candidates, device, pairs, data, table.done(retry_failed=True))) - len(jobs)
    run_plan = RunPlan(prof.name, target.source, jobs, kept, kept_failed, table)
    return run_plan, run_jobs(jobs, table, timeout_s)


def run(
    paths: Sequence[Path],
    *,
    device: str,
    backends: Sequence[str] = (),
    precisions: Sequence[str | Precision] = (),
    data: str | None = None,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    timeout_s: float = 600.0,
    retry_failed: bool = False,
    out: Path | None = None,
    overwrite: bool = False,
) -> RunResults:
    """Convert every candidate (search or prune output folders, their candidates tables, or checkpoint folders)
    for each backend and precision ``device`` runs (a name or YAML path: each row runs in its own process), score
    the converted artifact on the test split of ``data`` and time it (measured here or through the device's
    agent, or estimated by its cost model; every row says which). A crash or a hang is a FAILED row with its
    reason, never an exception.

    With ``out``, rows are appended to ``out/results.parquet`` and ``.csv`` as they finish, and a rerun skips
    them; without, the table is kept in a temporary folder.
    """
    folder = out or Path(tempfile.mkdtemp(prefix="edgebench-run-"))
    run_plan, rows = plan_run(paths, device=device, out=folder, backends=backends, precisions=precisions, data=data,
                              threads=threads, warmup=warmup, repeats=repeats, timeout_s=timeout_s,
                              retry_failed=retry_failed, overwrite=overwrite)  # fmt: skip
    failed = sum(row.status != Status.COMPLETE for row in rows)
    return RunResults(run_plan.table, failed + run_plan.kept_failed)
