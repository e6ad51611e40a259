"""Build a LUT: convert every block of a space (in parallel), time them in interleaved passes, fit the boundary
correction on whole networks timed alongside, and write the table. Every timed window is journaled as it is
taken, so a killed build resumes where it stopped."""

from __future__ import annotations

import logging
import platform
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from edgebench.backends import TIMING_RULE
from edgebench.backends.base import Artifact, Opened
from edgebench.costmodel.model import COST_MODEL_VERSION, params_for, rules_for
from edgebench.devices import DeviceProfile
from edgebench.exceptions import ConfigError, UnreachableDeviceError, error_text
from edgebench.lut.convert import ConvertJob, convert_all, default_workers
from edgebench.lut.keys import KEY_COLUMNS, LutKey, arch_keys, enumerate_keys
from edgebench.lut.predictor import block_cost, io_melems
from edgebench.lut.sampling import Stats, measure_passes
from edgebench.lut.store import Correction, Journal, LutId, LutMeta, LutTable, key_id, read_table, write_table
from edgebench.searching.space import ArchSpec, SearchSpace
from edgebench.spelling import option
from edgebench.target import Target, source_of, target_for
from edgebench.types import Precision, Source, Status

if TYPE_CHECKING:
    from torch import nn

#: The columns of a LUT table, in order.
ROW_COLUMNS = (*KEY_COLUMNS, "residual", "label", "latency_ms", "median_ms", "p10_ms", "p90_ms", "spread", "cv",
               "count", "source", "status", "error")  # fmt: skip

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the builder reports: a named phase with a total, then one advance per unit of work."""

    def phase(self, name: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class Silent:
    """Progress that shows nothing."""

    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class BuildSettings:
    """How blocks are timed: ``passes`` interleaved windows of ``window`` runs each, after ``warmup`` runs."""

    passes: int = 5
    window: int = 30
    warmup: int = 5
    statistic: str = "p25"  # the row latency: one of sampling.STATISTICS
    networks: int = 24  # whole networks timed alongside the blocks to fit the boundary correction
    seed: int = 0
    workers: int = field(default_factory=default_workers)


def measured_by(cpu: str, backend_version: str, threads: int, settings: BuildSettings) -> dict[str, Any]:
    """What shapes a measured table's numbers besides its rows' keys: the CPU, the backend's version, the threads,
    the timing rule and the timing settings. Block LUTs and prune layer tables are keyed and checked by it."""
    timing = {k: v for k, v in vars(settings).items() if k != "workers"}
    return {"cpu": cpu, "backend_version": backend_version, "threads": threads, "settings": timing,
            "timing": TIMING_RULE}  # fmt: skip


def estimated_by(profile: DeviceProfile, backend: str, precision: Precision) -> dict[str, Any]:
    """What shapes an estimated table's numbers besides its rows' keys: the resolved cost model (priors, calibration,
    threads), the model's version and the runtime's kernel rules (channel and output blocks, fused activations, zero
    folding). A recalibrated or edited profile changes it, so its tables are priced again."""
    rules = rules_for(profile, backend, precision)
    return {"cost_model": repr(params_for(profile, backend, precision)), "cost_model_version": COST_MODEL_VERSION,
            "threads": profile.threads, "fuses": sorted(rules.fuses), "channel_block": rules.channel_block,
            "output_block": rules.output_block, "folds_zeros": rules.folds_zeros}  # fmt: skip


def priced_by(target: Target, backend: str, precision: Precision, settings: BuildSettings) -> dict[str, Any]:
    """The record of :func:`measured_by` for a target edgebench times, else of :func:`estimated_by`."""
    if not target.measures:
        return estimated_by(target.profile, backend, precision)
    return measured_by(*target.facts(backend), target.profile.threads, settings)


@dataclass(frozen=True)
class BuildResult:
    table: LutTable
    path: Path
    seconds: float
    built: bool  # False when an existing table was returned
    resumed_windows: int = 0  # timing windows kept from an interrupted build

    @property
    def failed(self) -> int:
        return int((self.table.rows["status"] == Status.FAILED.value).sum())


@dataclass(frozen=True)
class Network:
    """A whole network timed with the blocks, identified by its architecture."""

    job_id: str
    arch: ArchSpec


@dataclass(frozen=True)
class Timed:
    """Samples and failures per job id, and how many windows came from the journal of an earlier run."""

    samples: dict[str, list[float]]
    failures: dict[str, str]
    resumed_windows: int


def block_jobs(keys: Sequence[LutKey], out_root: Path) -> dict[str, tuple[LutKey, ConvertJob]]:
    """One conversion job per key, by job id; the id (and so the artifact folder) depends only on the key."""
    jobs = {}
    for key in keys:
        job_id = key_id(key.to_row())
        jobs[job_id] = (key, ConvertJob(job_id, key, out_root / job_id))
    return jobs


@dataclass(frozen=True)
class SpaceNetwork:
    """A whole network of a search space, as a conversion job builds it."""

    space: SearchSpace
    arch: ArchSpec

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.space.input_shape()

    def build(self) -> nn.Module:
        return self.space.build(self.arch)


def network_jobs(space: SearchSpace, archs: Sequence[ArchSpec], out_root: Path) -> list[ConvertJob]:
    jobs = []
    for arch in archs:
        job_id = "net-" + key_id(arch.to_dict())
        jobs.append(ConvertJob(job_id, SpaceNetwork(space, arch), out_root / job_id))
    return jobs


def sample_archs(space: SearchSpace, n: int, seed: int) -> list[ArchSpec]:
    """``n`` distinct random architectures, reproducible from ``seed``."""
    rng, seen = random.Random(seed), dict[ArchSpec, None]()
    for _ in range(n * 20):
        if len(seen) == n:
            break
        seen.setdefault(space.sample(rng))
    return list(seen)


def convert_and_time(
    jobs: Sequence[ConvertJob],
    target: Target,
    backend: str,
    precision: Precision,
    settings: BuildSettings,
    journal: Journal,
    progress: Progress,
) -> Timed:
    """Convert ``jobs`` here, time them on ``target`` (this machine, or a device through its agent) in passes, and
    journal every window; entries already in the journal are not redone.

    Raises:
        UnreachableDeviceError: the agent stopped answering; the journal keeps every window timed so far.
    """
    samples: dict[str, list[float]] = defaultdict(list)
    done: dict[str, set[int]] = defaultdict(set)
    failures: dict[str, str] = {}
    for entry in journal.entries():
        if "error" in entry:
            failures[entry["id"]] = entry["error"]
        elif entry["pass"] not in done[entry["id"]]:
            done[entry["id"]].add(entry["pass"])
            samples[entry["id"]].extend(entry["samples"])

    def fail(job_id: str, reason: str, transient: bool = False) -> None:
        failures[job_id] = reason
        if not transient:
            journal.append({"id": job_id, "error": reason})

    todo = [j for j in jobs if j.job_id not in failures and len(done[j.job_id]) < settings.passes]
    progress.phase(f"converting for {backend} {precision}", len(todo))
    artifacts: dict[str, Artifact] = {}
    for result in convert_all(todo, backend, precision, settings.workers):
        if result.artifact is None:
            fail(result.job_id, result.error, result.transient)
        else:
            artifacts[result.job_id] = result.artifact
        progress.advance()

    windows = sum(settings.passes - len(done[j]) for j in artifacts)
    progress.phase(f"timing on {backend} {precision}", windows)
    sessions: dict[str, Opened] = {}
    for job_id, artifact in artifacts.items():
        try:
            sessions[job_id] = target.open(artifact, target.profile.threads)
        except Exception as e:  # a runtime that refuses one artifact fails that row only
            fail(job_id, error_text(e))
    rng = np.random.default_rng(0)
    inputs = {j: rng.standard_normal(a.input_shape, dtype=np.float32) for j, a in artifacts.items()}

    def on_window(job_id: str, p: int, window_samples: list[float]) -> None:
        journal.append({"id": job_id, "pass": p, "samples": [round(s, 6) for s in window_samples]})
        samples[job_id].extend(window_samples)
        progress.advance()

    resumed = sum(len(p) for p in done.values())
    try:
        measure_passes(sessions, inputs, settings.passes, settings.window, settings.warmup, done, on_window, fail)
    except UnreachableDeviceError as e:
        kept = sum(len(s) for s in samples.values()) // max(settings.window, 1)
        raise UnreachableDeviceError(f"{e}; the {kept} windows timed so far are kept in {journal.path}: rerun the "
                                     "same command to resume") from None  # fmt: skip
    finally:
        for session in sessions.values():
            session.close()
    return Timed(dict(samples), failures, resumed)


#: Relative residual beyond which the correction fit treats a network as an outlier (Cauchy loss).
ROBUST_SCALE = 0.03


#: Whole networks the three-parameter correction needs; with fewer, only the per-network overhead is fitted.
MIN_FIT_NETWORKS = 4


def fit_correction(
    networks: Sequence[Network],
    keys_of: dict[str, list[LutKey]],
    block_ms: dict[LutKey, float],
    measured: dict[str, float],
) -> Correction:
    """Fit ``measured - sum(blocks) = overhead - c * sum(block I/O) + w * sum(block weights)`` (sizes in
    millions) with ``c, w >= 0``: robust least squares on residuals relative to the measured latency, so a network
    caught in one of this VM's slow bursts does not drag the fit."""
    ids = [n.job_id for n in networks if n.job_id in measured and all(k in block_ms for k in keys_of[n.job_id])]
    if not ids:
        log.warning("no whole network was timed: the LUT's sums carry no per-network overhead (BuildSettings.networks "
                    "sets how many are timed)")  # fmt: skip
        return Correction()
    sums = np.array([sum(block_ms[k] for k in keys_of[i]) for i in ids])
    truth = np.array([measured[i] for i in ids])
    if len(ids) < MIN_FIT_NETWORKS:  # too few for three parameters: the overhead alone, and say so
        overhead = float(np.median(truth - sums))
        rmspe = float(np.sqrt(np.mean(((sums + overhead - truth) / truth) ** 2)))
        log.warning("only %d whole networks timed (a full correction needs %d): fitting the per-network overhead "
                    "alone, %.3f ms, residual RMSPE %.1f %%", len(ids), MIN_FIT_NETWORKS, overhead,
                    100 * rmspe)  # fmt: skip
        return Correction(overhead, 0.0, 0.0, len(ids), rmspe)
    io = np.array([sum(io_melems(k) for k in keys_of[i]) for i in ids])
    weights = np.array([sum(k.params for k in keys_of[i]) / 1e6 for i in ids])
    a = np.column_stack([np.ones_like(io), -io, weights]) / truth[:, None]
    b = (truth - sums) / truth
    fit = least_squares(
        lambda x: a @ x - b, np.zeros(3), loss="cauchy", f_scale=ROBUST_SCALE, bounds=([-np.inf, 0, 0], np.inf)
    )
    overhead, c, w = (float(v) for v in fit.x)
    predicted = sums + overhead - c * io + w * weights
    rmspe = float(np.sqrt(np.mean(((predicted - truth) / truth) ** 2)))
    return Correction(overhead, c, w, len(ids), rmspe)


def build_lut(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    space: SearchSpace,
    cache_dir: Path,
    settings: BuildSettings = BuildSettings(),
    force: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Build (or resume, or return the finished) LUT of ``space`` for one device, backend and precision.

    Raises:
        UnreachableDeviceError: the device can be neither measured here nor reached through an agent, or its
            agent stopped answering (rerun to resume: no timed window is lost).
        UnsupportedError: the device does not run this backend at this precision.
        ConfigError: a journal from a build with other settings exists (rerun with ``force``).
    """
    progress = progress or Silent()
    target = target_for(profile).require_measurable()
    profile.check_supports(backend, precision)
    space = space.for_device(profile.channel_multiple)
    lut_id = LutId(profile.name, backend, str(precision), space.name)
    path, journal = lut_id.table_path(cache_dir), Journal(lut_id.journal_path(cache_dir))
    if force:
        for stale in (path, journal.path):
            stale.unlink(missing_ok=True)
    if path.exists():
        return BuildResult(read_lut(path, profile), path, 0.0, built=False)

    started = time.perf_counter()
    cpu, version = target.facts(backend)  # an agent's facts, from the agent
    header = {
        "device": profile.name,
        "space": space.model_dump(mode="json"),
        **measured_by(cpu, version, profile.threads, settings),
    }
    old = journal.header()
    if old is not None and old != header:
        changed = sorted(k for k in header if old.get(k) != header[k])
        raise ConfigError(
            f"{journal.path}: an unfinished build with other settings ({', '.join(changed)}) is in the cache; "
            f"rerun with {option('force', True)} to discard it"
        )
    if old is None:
        journal.start(header)
    else:
        journal.repair()

    keys = enumerate_keys(space)
    out_root = lut_id.artifact_dir(cache_dir, version)
    blocks = block_jobs(keys, out_root)
    archs = sample_archs(space, settings.networks, settings.seed)
    net_jobs = network_jobs(space, archs, out_root)
    networks = [Network(j.job_id, a) for j, a in zip(net_jobs, archs, strict=True)]
    # Networks go first in each pass so they share the machine states the blocks see.
    timed = convert_and_time(
        net_jobs + [job for _, job in blocks.values()], target, backend, precision, settings, journal, progress
    )
    samples, failures = timed.samples, timed.failures

    stats = {i: Stats.of(s) for i, s in samples.items() if s}
    block_ms = {
        k: stats[i].value_ms(settings.statistic) for i, (k, _) in blocks.items() if i in stats and i not in failures
    }
    keys_of = {n.job_id: arch_keys(space, n.arch) for n in networks}
    measured = {n.job_id: stats[n.job_id].value_ms(settings.statistic) for n in networks if n.job_id in stats}
    correction = fit_correction(networks, keys_of, block_ms, measured)
    seconds = time.perf_counter() - started
    meta = LutMeta(
        device=profile.name,
        backend=backend,
        backend_version=version,
        precision=str(precision),
        space=space.name,
        resolution=space.resolution,
        threads=profile.threads,
        source=str(target.source),
        statistic=settings.statistic,
        passes=settings.passes,
        window=settings.window,
        host=platform.node(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        cpu=cpu,
        correction=correction,
        build_seconds=round(seconds, 1),
        timing=TIMING_RULE,
    )
    table = LutTable(meta, _rows(blocks, stats, failures, str(target.source), settings.statistic))
    write_table(table, path)
    _networks_frame(networks, stats, keys_of, block_ms, correction, settings.statistic).to_csv(
        path.with_suffix(".networks.csv"), index=False
    )
    journal.path.unlink()
    return BuildResult(table, path, seconds, built=True, resumed_windows=timed.resumed_windows)


def read_lut(path: Path, profile: DeviceProfile) -> LutTable:
    """A finished table of ``profile``, refused if what shaped its numbers changed since: the thread count, the timing
    rule, or (for a device measured here) the CPU or the backend's version."""
    table = read_table(path)
    meta, changed = table.meta, []
    if meta.threads != profile.threads:
        changed.append(f"threads {meta.threads} -> {profile.threads}")
    if meta.timing != TIMING_RULE:
        changed.append(f"timing {meta.timing} -> {TIMING_RULE}")
    if source_of(profile) is Source.MEASURED:  # an agent's facts are checked when it is asked to time
        cpu, version = target_for(profile).facts(meta.backend)
        if meta.cpu and meta.cpu != cpu:
            changed.append(f"CPU '{meta.cpu}' -> '{cpu}'")
        if meta.backend_version != version:
            changed.append(f"{meta.backend} {meta.backend_version} -> {version}")
    if changed:
        raise ConfigError(
            f"{path}: measured with other settings than now ({'; '.join(changed)}); rerun `edgebench profile "
            f"--device {profile.name} --backend {meta.backend} --precision {meta.precision} --force` to measure again"
        )
    return table


def _rows(
    blocks: dict[str, tuple[LutKey, ConvertJob]],
    stats: dict[str, Stats],
    failures: dict[str, str],
    source: str,
    statistic: str,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for job_id, (key, _) in sorted(blocks.items(), key=lambda item: item[1][0]):
        row: dict[str, Any] = {**key.to_row(), "label": key.label, "source": source}
        s = stats.get(job_id)
        if job_id in failures or s is None:
            row.update(status=Status.FAILED.value, error=failures.get(job_id, "not measured"))
        else:
            row.update(
                status=Status.COMPLETE.value,
                error="",
                latency_ms=round(s.value_ms(statistic), 6),
                median_ms=round(s.median_ms, 6),
                p10_ms=round(s.p10_ms, 6),
                p90_ms=round(s.p90_ms, 6),
                spread=round(s.spread, 4),
                cv=round(s.cv, 4),
                count=s.count,
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def _networks_frame(
    networks: Sequence[Network],
    stats: dict[str, Stats],
    keys_of: dict[str, list[LutKey]],
    block_ms: dict[LutKey, float],
    correction: Correction,
    statistic: str,
) -> pd.DataFrame:
    rows = []
    for n in networks:
        if n.job_id not in stats or not all(k in block_ms for k in keys_of[n.job_id]):
            continue
        blocks = sum(block_ms[k] for k in keys_of[n.job_id])
        predicted = correction.overhead_ms + sum(block_cost(block_ms[k], k, correction) for k in keys_of[n.job_id])
        rows.append(
            {
                "arch": n.arch.to_json(),
                "measured_ms": stats[n.job_id].value_ms(statistic),
                "blocks_sum_ms": blocks,
                "predicted_ms": predicted,
            }
        )
    return pd.DataFrame(rows)
