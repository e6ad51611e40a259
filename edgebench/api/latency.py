"""Latency tables and predictions: building a device's LUT of a space (measured or estimated), validating it,
predicting an architecture or any ONNX model, and calibrating a device's cost model."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edgebench.api.resolve import device as as_device
from edgebench.api.resolve import precisions_for, runtime_for
from edgebench.benchmark import plan
from edgebench.costmodel.calibrate import CalibrationReport, calibrate_profile
from edgebench.costmodel.kernels import load_kernels
from edgebench.costmodel.measurements import read_measurements
from edgebench.costmodel.model import Estimate, estimate, params_for, rules_for
from edgebench.devices import DeviceProfile, save_profile
from edgebench.devices.registry import device_path, leading_comments
from edgebench.exceptions import MissingRowError, UnreachableDeviceError
from edgebench.lut import builder
from edgebench.lut.builder import BuildResult, BuildSettings, Progress, read_lut
from edgebench.lut.estimated import estimate_lut
from edgebench.lut.predictor import Prediction, Predictor
from edgebench.lut.store import LutId, LutMeta, default_cache_dir, writable_cache
from edgebench.lut.validate import Validation, plot, validate
from edgebench.model import check_onnx
from edgebench.searching.space import ArchSpec, SearchSpace, get_space, load_arch
from edgebench.target import source_of, target_for
from edgebench.types import Precision, Source, parse_precision


def profile_plan(
    device: str | DeviceProfile,
    *,
    backends: Sequence[str] = (),
    precisions: Sequence[str | Precision] = (),
    space: str | SearchSpace = "mbv2-cifar",
) -> tuple[DeviceProfile, list[tuple[str, Precision]], SearchSpace]:
    """Validate a LUT request (device reachable, backends and precisions it runs, space) before any work.

    No backends means all the device has; no precisions, the device's first (fp32 on CPUs, fp16 on the Myriad X).
    """
    prof = as_device(device)
    pairs = plan(prof, backends, precisions_for(prof, precisions))
    target_for(prof)  # a device behind an agent needs its token, before any work
    return prof, pairs, space if isinstance(space, SearchSpace) else get_space(space)


def build_luts(
    prof: DeviceProfile,
    pairs: Sequence[tuple[str, Precision]],
    space: SearchSpace,
    *,
    cache_dir: Path | None = None,
    settings: BuildSettings | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Iterator[BuildResult]:
    """Build (or resume, or load) the LUT of each (backend, precision) pair of :func:`profile_plan`, yielding each
    as it is done. A device that cannot be measured from here gets cost-model estimates (``source=estimated``)."""
    cache_dir = writable_cache(cache_dir) or default_cache_dir()
    estimated = source_of(prof) is Source.ESTIMATED  # a measured build resolves its target (agent token) itself
    for backend, precision in pairs:
        if estimated:
            yield estimate_lut(prof, backend, precision, space, cache_dir, force, progress)
        else:
            yield builder.build_lut(prof, backend, precision, space, cache_dir, settings or BuildSettings(), force,
                                    progress)  # fmt: skip


def build_lut(
    device: str | DeviceProfile,
    *,
    backend: str | None = None,
    precision: str | Precision | None = None,
    space: str | SearchSpace = "mbv2-cifar",
    cache_dir: Path | None = None,
    settings: BuildSettings | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildResult:
    """The latency table of ``space``'s blocks on ``device`` for one runtime (default: the device's first backend
    and precision): loaded from the cache, else measured here or through the device's agent, or, for a device
    this machine cannot reach, estimated by its profile's cost model; every row says which. A killed build resumes.
    """
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    _, pairs, sp = profile_plan(prof, backends=[backend], precisions=[prec], space=space)
    (result,) = build_luts(prof, pairs, sp, cache_dir=cache_dir, settings=settings, force=force, progress=progress)
    return result


def validate_lut(
    prof: DeviceProfile,
    result: BuildResult,
    space: SearchSpace,
    *,
    n: int = 30,
    cache_dir: Path | None = None,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
) -> tuple[Validation, Path]:
    """Time ``n`` random networks against a LUT; write the predicted-vs-measured PNG and CSV next to it."""
    cache_dir = writable_cache(cache_dir) or default_cache_dir()
    meta = result.table.meta
    if meta.source == Source.ESTIMATED:
        raise UnreachableDeviceError(
            f"device '{prof.name}' cannot be measured from here, so its estimated LUT cannot be validated by timing "
            "networks; its cost model's held-out error is in `edgebench devices show` (calibrate it with "
            "`edgebench calibrate`)"
        )
    precision = parse_precision(meta.precision)
    v = validate(prof, meta.backend, precision, space, result.table, cache_dir, n, settings, progress)
    stem = result.path.with_suffix("")
    v.networks.to_csv(stem.with_suffix(".validation.csv"), index=False)
    png = plot(
        v,
        f"{meta.device} {meta.backend} {meta.precision} ({meta.space}), {n} networks",
        stem.with_suffix(".validation.png"),
    )
    return v, png


@dataclass(frozen=True)
class ModelEstimate:
    """A cost-model latency for an ONNX model on a device, with the runtime it assumes."""

    model: Path
    device: str
    backend: str
    precision: Precision
    threads: int
    estimate: Estimate


def predict_model(
    model: Path,
    *,
    device: str | DeviceProfile,
    backend: str | None = None,
    precision: str | Precision | None = None,
    threads: int | None = None,
) -> ModelEstimate:
    """Estimate any ONNX CNN on a device from its kernels and the profile's cost model (calibrated if it can be).

    Raises:
        ModelLoadError: the file is not an ONNX model. UnsupportedOpError: an op the cost model does not know.
    """
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    threads = threads or prof.threads
    check_onnx(model)  # an empty or junk file would otherwise price as zero kernels
    kernels = load_kernels(model, rules_for(prof, backend, prec))
    return ModelEstimate(
        model, prof.name, backend, prec, threads, estimate(kernels, params_for(prof, backend, prec, threads))
    )


def predict(
    arch: Path | ArchSpec,
    *,
    device: str | DeviceProfile,
    backend: str | None = None,
    precision: str | Precision | None = None,
    space: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[Prediction, LutMeta]:
    """Predict an architecture's latency (an ``ArchSpec`` or its JSON file) from the device's LUT for its space.

    Raises:
        ConfigError: the architecture file is malformed or does not fit its space.
        MissingRowError: no measured LUT for this device/backend/precision/space, or a block without a row (a device
            that cannot be measured from here gets its estimated LUT, built or rebuilt in seconds).
    """
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    prof = as_device(device)
    sp = get_space(space or arch.space).for_device(prof.channel_multiple)
    sp.validate_arch(arch)
    backend, prec = runtime_for(prof, backend, precision)
    if source_of(prof) is Source.ESTIMATED:  # seconds to build, and rebuilt when the cost model changed
        table = estimate_lut(prof, backend, prec, sp, cache_dir or default_cache_dir()).table
        return Predictor(table, sp).predict(arch), table.meta
    path = LutId(prof.name, backend, str(prec), sp.name).table_path(cache_dir or default_cache_dir())
    if not path.exists():
        raise MissingRowError(
            f"no LUT for {prof.name} {backend} {prec} and space '{sp.name}' in {path.parent}; build it with `edgebench "
            f"profile --device {prof.name} --backend {backend} --precision {prec} --space {space or sp.name}`"
        )
    table = read_lut(path, prof)
    return Predictor(table, sp).predict(arch), table.meta


def calibrate(
    device: str,
    *,
    measurements: Path,
    latency_column: str,
    backend: str | None = None,
    precision: str | Precision | None = None,
    threads: int | None = None,
    out: Path | None = None,
    test_fraction: float = 0.5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CalibrationReport, Path]:
    """Fit a device's cost model to a measurement CSV and write the calibrated profile (default: NAME.yaml in the
    working directory, which ``EDGEBENCH_DEVICE_PATH=.`` puts ahead of the shipped one).

    Raises:
        ConfigError: the CSV cannot be read or names networks edgebench cannot rebuild.
    """
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    networks = read_measurements(measurements, latency_column, rules_for(prof, backend, prec), progress)
    threads = threads or prof.threads
    report = calibrate_profile(
        prof, backend, prec, threads, networks, f"{measurements.name}:{latency_column}", test_fraction, seed
    )
    path = out or Path(f"{prof.name}.yaml")
    source = device_path(device)
    header = leading_comments(source) if source else [prof.description]
    c = report.calibration
    tag = f"Calibrated {backend} {prec}:"
    note = f"{tag} `edgebench calibrate` {c.date}, {threads} thread(s), on {c.fitted_on}."
    save_profile(report.profile, path, [line for line in header if not line.startswith(tag)] + [note])
    return report, path
