"""LUTs for devices edgebench cannot measure: every block row priced by the profile's cost model.

The table has the layout of a measured one, so the predictor, the search and the report read it the same way,
but every row and its metadata say ``source=estimated``, and the metadata's ``note`` says which parameters
priced it (calibrated on what, with what held-out error, or uncalibrated priors).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import COST_MODEL_VERSION, estimate, params_for, rules_for
from edgebench.devices import DeviceProfile
from edgebench.lut.builder import ROW_COLUMNS, BuildResult, Progress, Silent, estimated_by
from edgebench.lut.keys import enumerate_keys
from edgebench.lut.store import Correction, LutId, LutMeta, LutTable, read_table, write_table
from edgebench.searching.space import SearchSpace
from edgebench.types import Precision, Source, Status

log = logging.getLogger(__name__)


def _fingerprint(profile: DeviceProfile, backend: str, precision: Precision, space: SearchSpace) -> str:
    """A digest of everything that prices an estimated table's rows: the cost model and kernel rules as the builder
    records them, and the space as the device adapts it."""
    record = [estimated_by(profile, backend, precision), space.model_dump(mode="json")]
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]


def estimate_lut(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    space: SearchSpace,
    cache_dir: Path,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """Write (or return the existing) estimated LUT of ``space`` for one device, backend and precision."""
    progress = progress or Silent()
    params = params_for(profile, backend, precision)
    rules = rules_for(profile, backend, precision)
    space = space.for_device(profile.channel_multiple)
    path = LutId(profile.name, backend, str(precision), space.name).table_path(cache_dir)
    fingerprint = _fingerprint(profile, backend, precision, space)
    if path.exists() and not force:
        cached = read_table(path)
        if cached.meta.fingerprint == fingerprint:
            return BuildResult(cached, path, 0.0, built=False)
        log.warning("%s was priced by another cost model than %s's now (recalibrated or edited); estimating it again",
                    path, profile.name)  # fmt: skip
    started = time.perf_counter()
    keys = enumerate_keys(space)
    progress.phase(f"estimating {backend} {precision} blocks", len(keys))
    rows = []
    for key in keys:
        e = estimate(module_kernels(key.build().eval(), key.input_shape, rules), params)
        ms = round(e.latency_ms - e.overhead_ms, 6)
        rows.append({**key.to_row(), "label": key.label, "latency_ms": ms, "median_ms": ms, "p10_ms": ms,
                     "p90_ms": ms, "spread": 0.0, "cv": 0.0, "count": 0, "source": str(Source.ESTIMATED),
                     "status": str(Status.COMPLETE), "error": ""})  # fmt: skip
        progress.advance()
    seconds = time.perf_counter() - started
    meta = LutMeta(
        device=profile.name,
        backend=backend,
        backend_version=COST_MODEL_VERSION,
        precision=str(precision),
        space=space.name,
        resolution=space.resolution,
        threads=profile.threads,
        source=str(Source.ESTIMATED),
        statistic="estimate",
        passes=0,
        window=0,
        host=platform.node(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        correction=Correction(overhead_ms=params.overhead_per_network_ms),
        build_seconds=round(seconds, 1),
        note=params.provenance,
        fingerprint=fingerprint,
    )
    table = LutTable(meta, pd.DataFrame(rows, columns=list(ROW_COLUMNS)))
    write_table(table, path)
    return BuildResult(table, path, seconds, built=True)
