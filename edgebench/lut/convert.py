"""Convert many small models (LUT blocks, calibration networks) to one backend, in parallel worker processes.

Conversion dominates a LUT build (TFLite takes ~1.5 s per block, measuring it ~0.1 s), so it runs first, on every
core, and measurement runs afterwards on a quiet machine. Workers are spawned, not forked: the TFLite quantizer
starts JAX threads, and forking a threaded process can deadlock. A finished conversion leaves a ``done.json``
marker, so a killed build reconverts only what it had not finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from edgebench.backends import get_backend
from edgebench.backends.base import Artifact
from edgebench.exceptions import error_text
from edgebench.lifetime import die_with_parent, worker_pool
from edgebench.model import from_module
from edgebench.nets import settle_batchnorm
from edgebench.types import Precision

MARKER = "done.json"
CALIBRATION_SAMPLES = 32


class Buildable(Protocol):
    """A picklable description of one module (a LUT block, a prune layer, a whole network): the worker unpickles
    it, importing its class's module there, so this module depends on none of them."""

    @property
    def input_shape(self) -> tuple[int, ...]: ...

    def build(self) -> nn.Module: ...


@dataclass(frozen=True)
class ConvertJob:
    """One module to convert: ``source`` built in the worker, its artifact written to ``out_dir``."""

    job_id: str
    source: Buildable
    out_dir: Path


@dataclass(frozen=True)
class Converted:
    """The outcome of a job: an artifact, or the reason it failed."""

    job_id: str
    artifact: Artifact | None
    error: str = ""
    transient: bool = False  # the worker died, not the conversion: a rerun retries it


def convert_one(job: ConvertJob, backend: str, precision: Precision) -> Converted:
    """Build, settle BatchNorm (seeded), export; reuse a finished earlier conversion."""
    marker = job.out_dir / MARKER
    if marker.exists():
        done = json.loads(marker.read_text())
        shape = tuple(done["input_shape"])
        return Converted(job.job_id, Artifact(job.out_dir / done["file"], backend, precision, shape))
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            shape = job.source.input_shape
            module = settle_batchnorm(job.source.build(), shape)
        calibration = None
        if precision is Precision.INT8:
            rng = np.random.default_rng(0)
            calibration = rng.standard_normal((CALIBRATION_SAMPLES, *shape[1:]), dtype=np.float32)
        artifact = get_backend(backend).export(from_module("m", module, shape), precision, job.out_dir, calibration)
    except Exception as e:  # failure is data: the row records it
        return Converted(job.job_id, None, error_text(e))
    marker.write_text(json.dumps({"file": artifact.path.name, "input_shape": list(shape)}))
    return Converted(job.job_id, artifact)


def _init_worker() -> None:
    die_with_parent()
    torch.set_num_threads(1)


def convert_all(jobs: Sequence[ConvertJob], backend: str, precision: Precision, workers: int) -> Iterator[Converted]:
    """Yield each job's outcome as it finishes (in completion order)."""
    pending = [j for j in jobs if not (j.out_dir / MARKER).exists()]
    for job in jobs:
        if (job.out_dir / MARKER).exists():
            yield convert_one(job, backend, precision)
    if not pending:
        return
    if workers <= 1 or len(pending) == 1:
        for job in pending:
            yield convert_one(job, backend, precision)
        return
    with worker_pool(workers, _init_worker) as pool:
        futures = {pool.submit(convert_one, job, backend, precision): job for job in pending}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:  # a converter crashed the process; a rerun retries what is left
                yield Converted(futures[future].job_id, None, "conversion worker died (killed or out of memory)", True)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
