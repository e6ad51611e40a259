"""Benchmark one model on one device: convert per backend and precision, check parity, measure."""

from __future__ import annotations

import logging
import platform
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgebench import parity
from edgebench.backends import get_backend, list_backends
from edgebench.devices import DeviceProfile
from edgebench.exceptions import BackendUnavailableError, UnreachableDeviceError, UnsupportedError, error_text
from edgebench.model import Model
from edgebench.spelling import option
from edgebench.target import target_for
from edgebench.types import Precision, Status

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: Calibration batch used for INT8 when the user gives none: fixed-seed standard normal inputs.
DEFAULT_CALIBRATION_SAMPLES = 64


@dataclass(frozen=True)
class BenchRecord:
    """One (model, device, backend, precision) benchmark outcome; a failure is a row too. ``compute`` is the
    precision the runtime says it computed at (OpenVINO runs an FP16 model in fp32 on a CPU without FP16)."""

    model: str
    input_shape: tuple[int, ...]
    device: str
    backend: str
    backend_version: str
    precision: str
    threads: int
    source: str
    status: str
    error: str = ""
    compute: str = ""
    median_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    count: int = 0
    parity_max_abs_err: float | None = None
    parity_max_rel_err: float | None = None
    parity_reference: str = ""
    size_bytes: int | None = None
    calibration: str = ""
    host: str = field(default_factory=platform.node)
    timestamp: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    samples_ms: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


def plan(
    profile: DeviceProfile, backends: Sequence[str], precisions: Sequence[Precision]
) -> list[tuple[str, Precision]]:
    """Valid (backend, precision) pairs for the request; explicit requests that cannot run raise.

    ``backends`` empty means every backend the device runs that edgebench implements and finds installed;
    then precisions the device does not run on a backend are skipped rather than refused.
    """
    if backends:
        pairs = []
        for b in backends:
            get_backend(b).version()  # unknown or not installed: fail now, naming the fix
            for p in precisions:
                profile.check_supports(b, p)
                pairs.append((b, p))
        return pairs
    usable = []
    for b in (b for b in profile.backends if b in list_backends()):
        try:
            get_backend(b).version()
        except BackendUnavailableError as e:
            log.warning("skipping %s", e)
            continue
        usable.append(b)
    pairs = [(b, p) for b in usable for p in precisions if p in profile.precisions(b)]
    if not pairs:
        wanted = ", ".join(map(str, precisions))
        runs = "; ".join(f"{b} at {', '.join(map(str, profile.precisions(b)))}" for b in usable) or "nothing installed"
        raise UnsupportedError(f"device '{profile.name}' runs none of its installed backends at {wanted} ({runs}); "
                               f"choose one of those with {option('backend', python='backends')} and "
                               f"{option('precision', python='precisions')}")  # fmt: skip
    return pairs


def default_calibration(input_shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((DEFAULT_CALIBRATION_SAMPLES, *input_shape[1:]), dtype=np.float32)


def bench_model(
    model: Model,
    profile: DeviceProfile,
    pairs: Sequence[tuple[str, Precision]],
    work_dir: Path,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    calibration: np.ndarray | None = None,
) -> Iterator[BenchRecord]:
    """Yield one record per (backend, precision); a failing conversion or run is a FAILED record. A device behind
    an agent runs the parity inputs and is timed there, with its runtime's version in the record; once the agent
    stops answering, the remaining records fail without waiting for it again."""
    target = target_for(profile).require_measurable()
    threads = threads or profile.threads
    calib_note = "user" if calibration is not None else f"random-normal({DEFAULT_CALIBRATION_SAMPLES})"
    if calibration is None:
        calibration = default_calibration(model.input_shape)
    x = parity.parity_inputs(model.input_shape)
    reference = model.reference(x)
    gone = ""  # why the agent is unreachable, once it is
    for backend_name, precision in pairs:
        backend = get_backend(backend_name)
        failed = BenchRecord(
            model=model.name,
            input_shape=model.input_shape,
            device=profile.name,
            backend=backend_name,
            backend_version="",
            precision=str(precision),
            threads=threads,
            source=str(target.source),
            status=str(Status.FAILED),
            calibration=calib_note if precision is Precision.INT8 else "",
            parity_reference=model.reference_name,
        )
        if gone:
            yield replace(failed, error=f"not tried: {gone}")
            continue
        try:
            version = target.facts(backend_name)[1]
            artifact = backend.export(model, precision, work_dir / backend_name, calibration)
            with target.open(artifact, threads) as session:
                check = parity.check(reference, session.run(x), backend_name, precision)
                m = session.measure(x[:1], warmup=warmup, repeats=repeats)
        except Exception as e:  # failure is data: record it and go on with the next backend
            log.debug("%s %s failed:\n%s", backend_name, precision, traceback.format_exc())
            reason = error_text(e)
            if isinstance(e, UnreachableDeviceError):
                gone = reason
            yield replace(failed, error=reason)
            continue
        yield replace(
            failed,
            backend_version=version,
            status=str(Status.COMPLETE),
            compute=m.compute,
            median_ms=m.median_ms,
            p10_ms=m.p10_ms,
            p90_ms=m.p90_ms,
            mean_ms=m.mean_ms,
            std_ms=m.std_ms,
            count=m.count,
            parity_max_abs_err=check.max_abs_err,
            parity_max_rel_err=check.max_rel_err,
            size_bytes=artifact.size_bytes,
            samples_ms=m.samples_ms,
        )
