"""``edgebench run``: every candidate on every backend and precision a device runs, converted, scored on the test
split as the converted artifact, and timed; one results-table row each, a failure included.

Each row runs in its own spawned process with a timeout, so a converter that crashes or hangs becomes a FAILED row
with its reason while the run goes on. Rows finished by an earlier run of the same directory are skipped.
"""

from __future__ import annotations

import multiprocessing
import platform
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from edgebench.exceptions import ConfigError, UnreachableDeviceError, error_text
from edgebench.lifetime import die_with_parent
from edgebench.results import ResultRow, ResultsTable
from edgebench.spelling import option
from edgebench.types import AccuracySource, Precision, Status

#: Training images the INT8 converters calibrate on.
CALIBRATION_IMAGES = 64


@dataclass(frozen=True)
class RunCandidate:
    """A trained network to run: a checkpoint folder, named uniquely within the run."""

    name: str
    kind: str  # nas, pruned, baseline or checkpoint
    checkpoint: Path


@dataclass(frozen=True)
class RunJob:
    """One row's work: a candidate on a device's backend at a precision."""

    candidate: RunCandidate
    device: str  # a profile name or YAML path
    backend: str
    precision: Precision
    data: str | None
    threads: int | None = None
    warmup: int = 10
    repeats: int = 100


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _table_candidates(path: Path) -> list[RunCandidate]:
    """The complete rows with a checkpoint of a search/prune ``candidates`` table and its ``baseline.csv``."""
    folder = path if path.is_dir() else path.parent
    table = path if path.is_file() else next((p for p in (path / "candidates.parquet", path / "candidates.csv")
                                              if p.exists()), None)  # fmt: skip
    found = []
    if table is not None:
        rows = pd.read_parquet(table) if table.suffix == ".parquet" else pd.read_csv(table, keep_default_na=False)
        if "checkpoint" not in rows.columns or "status" not in rows.columns:
            raise ConfigError(f"{table}: not a search or prune candidates table (no 'checkpoint' column)")
        for row in _trained(rows).itertuples():
            kind = str(getattr(row, "kind", "nas"))
            name = f"{folder.name}/{kind}-{int(getattr(row, 'trial', 0)):04d}"
            found.append(RunCandidate(name, kind, _resolve(Path(str(row.checkpoint)), folder)))
    baseline = folder / "baseline.csv"
    if baseline.exists():
        rows = pd.read_csv(baseline, keep_default_na=False)
        if "checkpoint" in rows.columns:
            for row in _trained(rows).itertuples():
                found.append(
                    RunCandidate(f"{folder.name}/{row.name}", "baseline", _resolve(Path(row.checkpoint), folder))
                )
    if table is None and not baseline.exists():
        raise ConfigError(f"{path}: neither a checkpoint folder nor a search/prune output (no candidates table)")
    return found


def _resolve(checkpoint: Path, folder: Path) -> Path:
    return checkpoint if checkpoint.is_absolute() or checkpoint.exists() else folder / checkpoint


def load_candidates(paths: Sequence[Path]) -> list[RunCandidate]:
    """Candidates from checkpoint folders and search/prune outputs (their folder or candidates table).

    Raises:
        ConfigError: a path that is none of these, or that names nothing to run.
    """
    found: list[RunCandidate] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or folder; give checkpoint folders or search/prune outputs")
        if path.suffix == ".json":
            raise ConfigError(f"{path}: an architecture has no weights to score; train it with `edgebench train "
                              "--out FOLDER` and run the folder")  # fmt: skip
        if (path / "arch.json").exists() or (path / "weights.pt").exists():
            found.append(RunCandidate(path.name, "checkpoint", path))
        else:
            found.extend(_table_candidates(path))
    from edgebench.distill.checkpoint import proxy_trained

    names = [c.name for c in found]
    proxies = [reason for c in found if (reason := proxy_trained(c.checkpoint))]
    if proxies:
        raise ConfigError(f"{len(proxies)} of {len(found)} candidates are no deployable networks: {proxies[0]}; "
                          "train them at full size (`edgebench train --arch ... --out DIR`) and run DIR, or run a "
                          "one-shot search's students (`edgebench search --method oneshot`)")  # fmt: skip
    if not found:
        raise ConfigError(f"nothing to run in {', '.join(map(str, paths))}: no complete candidate has a checkpoint")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"candidate names appear twice: {', '.join(twice)}; give each folder once")
    return found


def plan_jobs(
    candidates: Sequence[RunCandidate], device: str, pairs: Sequence[tuple[str, Precision]], data: str | None,
    done: set[tuple[str, ...]], threads: int | None = None, warmup: int = 10, repeats: int = 100,
) -> list[RunJob]:  # fmt: skip
    """Every candidate x (backend, precision), less the rows in ``done`` (keys: candidate, device, backend,
    precision)."""
    from edgebench.devices import get_device

    name = get_device(device).name
    return [RunJob(c, device, b, p, data, threads, warmup, repeats) for c in candidates for b, p in pairs
            if (c.name, name, b, str(p)) not in done]  # fmt: skip


def _failed(job: RunJob, device: str, error: str, started: str) -> ResultRow:
    return ResultRow(job.candidate.name, job.candidate.kind, "", str(job.candidate.checkpoint), device, job.backend,
                     str(job.precision), str(Status.FAILED), error, started=started, finished=_now(),
                     host=platform.node())  # fmt: skip


def _top1(outputs: np.ndarray, labels: np.ndarray) -> float:
    return float(100.0 * (outputs.argmax(axis=1) == labels).mean())


def execute(job: RunJob) -> ResultRow:
    """Run one job in this process (the worker's body): load, convert, score, time. Raises on failure."""
    import torch

    from edgebench import parity
    from edgebench.backends import get_backend
    from edgebench.costmodel.kernels import module_kernels
    from edgebench.costmodel.model import calibration_for, estimate, params_for, rules_for
    from edgebench.data import load_data
    from edgebench.data.dataset import batches, to_device
    from edgebench.devices import get_device
    from edgebench.distill import networks
    from edgebench.distill.checkpoint import load_checkpoint
    from edgebench.model import from_module
    from edgebench.target import target_for
    from edgebench.types import Source

    started = _now()
    profile = get_device(job.device)
    profile.check_supports(job.backend, job.precision)
    threads = job.threads or profile.threads
    torch.set_num_threads(threads)
    checkpoint = load_checkpoint(job.candidate.checkpoint)
    shape = checkpoint.input_shape
    images = load_data(job.data)
    x, y = to_device(images.test, torch.device("cpu"))
    x_test, y_test = (t.numpy() for t in next(batches(x, y, images, len(y)))[:2])
    xc, yc = to_device(images.train, torch.device("cpu"))
    calibration = next(batches(xc[:CALIBRATION_IMAGES], yc[:CALIBRATION_IMAGES], images, CALIBRATION_IMAGES))[0]
    with torch.no_grad():
        reference = checkpoint.module(torch.from_numpy(x_test)).numpy()
    backend = get_backend(job.backend)
    kernels = module_kernels(checkpoint.module, shape, rules_for(profile, job.backend, job.precision))
    predicted = estimate(kernels, params_for(profile, job.backend, job.precision, threads))
    fit = calibration_for(profile, job.backend, job.precision)
    target = target_for(profile)
    with tempfile.TemporaryDirectory(prefix="edgebench-run-") as tmp:
        model = from_module("candidate", checkpoint.module, shape)  # a candidate name may hold a "/"
        artifact = backend.export(model, job.precision, Path(tmp), calibration.numpy())
        cpu, version = target.facts(job.backend)  # the agent's, or this machine's where it is scored
        with target.open(artifact, threads) as session:  # on the device's agent, if it has one
            outputs = session.run(x_test)
            agreement = parity.compare(reference, outputs, job.precision)
            timing = session.measure(x_test[:1], job.warmup, job.repeats) if target.measures else None
            compute = session.compute
        size = artifact.size_bytes
    median = timing.median_ms if timing else predicted.latency_ms
    return ResultRow(
        candidate=job.candidate.name, kind=job.candidate.kind, network=networks.label(checkpoint.network),
        checkpoint=str(job.candidate.checkpoint), device=profile.name, backend=job.backend,
        precision=str(job.precision), status=str(Status.COMPLETE), compute=compute, backend_version=version,
        threads=threads, source=str(target.source), top1_pct=_top1(outputs, y_test),
        reference_top1_pct=_top1(reference, y_test), accuracy_source=str(AccuracySource.CONVERTED),
        test_images=len(y_test), median_ms=median,
        p10_ms=timing.p10_ms if timing else None, p90_ms=timing.p90_ms if timing else None,
        predicted_ms=predicted.latency_ms, predicted_source=str(Source.ESTIMATED),
        calibration_rmspe_pct=fit.held_out.rmspe_pct if fit else None,
        parity_max_rel_err=agreement.max_rel_err, size_bytes=size,
        params=sum(p.numel() for p in checkpoint.module.parameters()),
        macs=round(sum(k.flops for k in kernels if k.kind.value.endswith("conv") or k.kind.value == "linear") / 2),
        data=images.name, cpu=cpu, host=platform.node(), started=started, finished=_now(),
    )  # fmt: skip


def _child(job: RunJob, conn: Connection) -> None:
    die_with_parent()
    try:
        conn.send(("ok", execute(job)))
    except UnreachableDeviceError as e:  # the device's fault, not the candidate's: no row
        conn.send(("unreachable", str(e)))
    except Exception as e:  # failure is data: the parent records it as the row
        conn.send(("error", error_text(e)))
    finally:
        conn.close()


def isolated(target: Callable[[Any, Connection], None], arg: Any, timeout_s: float) -> tuple[str, Any]:
    """Run ``target(arg, conn)`` in a spawned process; return what it sent, or ("error", why it sent nothing:
    timed out, or died with its exit code)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(arg, send), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout_s):
            longer = option("timeout", python="timeout_s")
            return "error", f"timed out after {timeout_s:g} s (killed); raise {longer} if it needs longer"
        try:
            return receive.recv()
        except EOFError:
            process.join()
            return "error", f"worker died with exit code {process.exitcode} (crashed or killed)"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()


def run_jobs(jobs: Sequence[RunJob], table: ResultsTable, timeout_s: float) -> Iterator[ResultRow]:
    """Run each job isolated, append its row to ``table`` as soon as it is known, and yield it.

    Raises:
        UnreachableDeviceError: the device's agent stopped answering; the rows so far are in ``table``, and a rerun
            of the same plan runs the others.
    """
    from edgebench.devices import get_device

    for done, job in enumerate(jobs):
        started = _now()
        status, value = isolated(_child, job, timeout_s)
        if status == "unreachable":
            left = len(jobs) - done
            raise UnreachableDeviceError(f"{value}; the {done} rows run so far are in {table.directory}: rerun "
                                         f"the same command once it answers to run the other {left}")  # fmt: skip
        row = value if status == "ok" else _failed(job, get_device(job.device).name, value, started)
        table.append([row])
        yield row


def _trained(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of a candidates or baseline table that finished with a checkpoint."""
    return rows[(rows["status"] == Status.COMPLETE.value) & (rows["checkpoint"].astype(str) != "")]
