"""The functions the CLI calls; each takes plain values, resolves names, and returns typed results."""

from __future__ import annotations

import copy
import json
import logging
import platform
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from edgebench import nets, outputs, pareto, shipped
from edgebench.bench import BenchRecord, bench_model, plan, require_measurable
from edgebench.data import RESOLUTION, ImageData, load_data
from edgebench.devices import DeviceProfile, get_device, latency_source, list_devices, save_profile
from edgebench.devices.registry import device_path, leading_comments
from edgebench.distill import networks
from edgebench.distill.checkpoint import METRICS, Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import CrossEntropy, DistillLoss, get_loss
from edgebench.distill.networks import Network, resolve_network
from edgebench.distill.teacher import RECIPES as TEACHER_RECIPES
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import FINAL, TrainConfig, TrainResult, TrainStep, train
from edgebench.exceptions import (
    ConfigError,
    InfeasibleBudgetError,
    MissingRowError,
    ModelLoadError,
    UnknownNameError,
    UnreachableDeviceError,
)
from edgebench.lut.builder import BuildResult, BuildSettings, Progress, build_lut, read_lut
from edgebench.lut.calibrate import CalibrationReport, calibrate_profile
from edgebench.lut.costmodel import Estimate, estimate, params_for
from edgebench.lut.estimated import estimate_lut
from edgebench.lut.kernels import load_kernels
from edgebench.lut.measurements import read_measurements
from edgebench.lut.predictor import Prediction, Predictor
from edgebench.lut.store import LutId, LutMeta, default_cache_dir, writable_cache
from edgebench.lut.validate import Validation, plot, validate
from edgebench.model import Model, check_onnx, from_module, load_onnx
from edgebench.prune.history import PruneStep
from edgebench.prune.importance import get_criterion
from edgebench.prune.latency import LayerTable, build_layer_table, pruning_multiple
from edgebench.prune.loop import PruneConfig, PruneResult, prune_to_budget
from edgebench.report import write_report
from edgebench.results import ResultRow, ResultsTable, from_candidates, read_results
from edgebench.runner import RunJob, load_candidates, plan_jobs, run_jobs
from edgebench.search.baseline import WIDTHS, BaselineRow, baseline_family, family_dir, network_name
from edgebench.search.estimator import DEFAULT_SAMPLES, AccuracyEstimator, build_estimator, load_estimator
from edgebench.search.evolution import EvolutionSettings
from edgebench.search.nas import (
    COMPLETE,
    PROXY,
    Candidate,
    Objective,
    SearchSettings,
    open_study,
    run_search,
    storage_for,
    study_exists,
)
from edgebench.search.oneshot import OneShotSettings, Student, one_shot_search
from edgebench.search.space import SearchSpace, get_space, load_arch
from edgebench.search.supernet import SupernetConfig
from edgebench.types import AccuracySource, Precision, Source, parse_precision
from edgebench.units import parse_ms

log = logging.getLogger(__name__)


def devices() -> list[DeviceProfile]:
    """Every registered device profile."""
    return list_devices()


def device(name_or_path: str) -> DeviceProfile:
    """One device profile, by name or YAML path."""
    return get_device(name_or_path)


def resolve_model(spec: str) -> Model:
    """An ONNX file path, or the name of a built-in network (randomly initialised)."""
    path = Path(spec)
    if path.suffix == ".onnx" or path.exists():
        return load_onnx(path)
    if spec in nets.NETS:
        module, shape = nets.create_net(spec)
        return from_module(spec, module, shape)
    raise UnknownNameError("model (not a file, nor a built-in network)", spec, nets.list_nets())


def load_calibration(path: Path, input_shape: tuple[int, ...]) -> np.ndarray:
    """An INT8 calibration batch from an .npz (array ``x``) or .npy file, checked against the input shape."""
    try:
        data = np.load(path)
        x = data["x"] if isinstance(data, np.lib.npyio.NpzFile) else data
    except (OSError, ValueError, KeyError) as e:
        raise ModelLoadError(
            f"{path}: cannot read a calibration array ({e}); give an .npy or an .npz with 'x'"
        ) from None
    if tuple(x.shape[1:]) != tuple(input_shape[1:]):
        raise ModelLoadError(f"{path}: calibration samples have shape {x.shape[1:]}, the model wants {input_shape[1:]}")
    return np.asarray(x, dtype=np.float32)


def _precisions(prof: DeviceProfile, names: Sequence[str]) -> list[Precision]:
    """The precisions asked for, or the device's first (fp32 on CPUs, fp16 on the Myriad X) if none."""
    return [parse_precision(p) for p in names] or [prof.runtimes[0].precisions[0]]


def bench(
    model: str,
    device: str,
    backends: Sequence[str] = (),
    precisions: Sequence[str] = (),
    work_dir: Path | None = None,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    calibration: Path | None = None,
) -> tuple[list[tuple[str, str]], Iterator[BenchRecord]]:
    """Validate a benchmark request, then return its plan and a lazy stream of records.

    No precisions means the device's first (fp32 on CPUs, fp16 on the Myriad X). All bad input (unknown device,
    backend, precision, model file) raises before any work starts.
    """
    profile = get_device(device)
    pairs = plan(profile, backends, _precisions(profile, precisions))
    require_measurable(profile)
    m = resolve_model(model)
    calib = load_calibration(calibration, m.input_shape) if calibration else None
    if work_dir is None:
        import tempfile

        work_dir = Path(tempfile.mkdtemp(prefix="edgebench-bench-"))
    records = bench_model(m, profile, pairs, work_dir, threads, warmup, repeats, calib)
    return [(b, str(p)) for b, p in pairs], records


def write_records(records: Sequence[BenchRecord], path: Path) -> None:
    """Write benchmark records as JSON (a list of flat objects with schema_version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_dict() for r in records], indent=2) + "\n")


def profile_plan(
    device: str, backends: Sequence[str], precisions: Sequence[str], space: str
) -> tuple[DeviceProfile, list[tuple[str, Precision]], SearchSpace]:
    """Validate a LUT request (device reachable, backends and precisions it runs, space) before any work.

    No precisions means the device's first (fp32 on CPUs, fp16 on the Myriad X).
    """
    prof = get_device(device)
    pairs = plan(prof, backends, _precisions(prof, precisions))
    if latency_source(prof) is not Source.ESTIMATED:
        require_measurable(prof)
    return prof, pairs, get_space(space)


def profile(
    prof: DeviceProfile,
    pairs: Sequence[tuple[str, Precision]],
    space: SearchSpace,
    cache_dir: Path | None = None,
    settings: BuildSettings | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Iterator[BuildResult]:
    """Build (or resume, or load) the LUT of each (backend, precision) pair, yielding each as it is done.

    A device that cannot be measured from here gets a table of cost-model estimates (``source=estimated``).
    """
    cache_dir = writable_cache(cache_dir)
    for backend, precision in pairs:
        if latency_source(prof) is Source.ESTIMATED:
            yield estimate_lut(prof, backend, precision, space, cache_dir or default_cache_dir(), force, progress)
            continue
        yield build_lut(
            prof,
            backend,
            precision,
            space,
            cache_dir or default_cache_dir(),
            settings or BuildSettings(),
            force,
            progress,
        )


def validate_lut(
    prof: DeviceProfile,
    result: BuildResult,
    space: SearchSpace,
    n: int,
    cache_dir: Path | None = None,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
) -> tuple[Validation, Path]:
    """Time ``n`` random networks against a LUT; write the predicted-vs-measured PNG and CSV next to it."""
    cache_dir = writable_cache(cache_dir)
    meta = result.table.meta
    if meta.source == Source.ESTIMATED:
        raise UnreachableDeviceError(
            f"device '{prof.name}' cannot be measured from here, so its estimated LUT cannot be validated by timing "
            "networks; its cost model's held-out error is in `edgebench devices show` (calibrate it with "
            "`edgebench calibrate`)"
        )
    precision = parse_precision(meta.precision)
    v = validate(
        prof, meta.backend, precision, space, result.table, cache_dir or default_cache_dir(), n, settings, progress
    )
    stem = result.path.with_suffix("")
    v.networks.to_csv(stem.with_suffix(".validation.csv"), index=False)
    png = plot(
        v,
        f"{meta.device} {meta.backend} {meta.precision} ({meta.space}), {n} networks",
        stem.with_suffix(".validation.png"),
    )
    return v, png


def runtime_for(prof: DeviceProfile, backend: str | None, precision: str | None) -> tuple[str, Precision]:
    """The backend and precision to use on a device: as given, else the first the device runs."""
    prec = parse_precision(precision) if precision else None
    if backend is None:
        backend = next((b for b in prof.backends if prec is None or prec in prof.precisions(b)), prof.backends[0])
    prec = prec or prof.precisions(backend)[0]
    prof.check_supports(backend, prec)
    return backend, prec


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
    model: Path, device: str, backend: str | None, precision: str | None, threads: int | None = None
) -> ModelEstimate:
    """Estimate any ONNX CNN on a device from its kernels and the profile's cost model (calibrated if it can be).

    Raises:
        ModelLoadError: the file is not an ONNX model. UnsupportedOpError: an op the cost model does not know.
    """
    prof = get_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    threads = threads or prof.threads
    check_onnx(model)  # an empty or junk file would otherwise price as zero kernels
    kernels = load_kernels(model, backend, prof.channel_block(backend))
    return ModelEstimate(
        model, prof.name, backend, prec, threads, estimate(kernels, params_for(prof, backend, prec, threads))
    )


def predict(
    arch_path: Path,
    device: str,
    backend: str | None,
    precision: str | None,
    cache_dir: Path | None = None,
    space: str | None = None,
) -> tuple[Prediction, LutMeta]:
    """Predict an ``ArchSpec`` JSON's latency from the device's LUT for its space.

    Raises:
        ConfigError: the architecture file is malformed or does not fit its space.
        MissingRowError: no measured LUT for this device/backend/precision/space, or a block without a row (a device
            that cannot be measured from here gets its estimated LUT, built or rebuilt in seconds).
    """
    arch = load_arch(arch_path)
    prof = get_device(device)
    sp = get_space(space or arch.space).for_device(prof.channel_multiple)
    sp.validate_arch(arch)
    backend, prec = runtime_for(prof, backend, precision)
    if latency_source(prof) is Source.ESTIMATED:  # seconds to build, and rebuilt when the cost model changed
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
    measurements: Path,
    latency_column: str,
    backend: str | None,
    precision: str | None,
    threads: int | None,
    output: Path | None,
    test_fraction: float = 0.5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CalibrationReport, Path]:
    """Fit a device's cost model to a measurement CSV and write the calibrated profile (default: NAME.yaml in the
    working directory, which ``EDGEBENCH_DEVICE_PATH=.`` puts ahead of the shipped one).

    Raises:
        ConfigError: the CSV cannot be read or names networks edgebench cannot rebuild.
    """
    prof = get_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    networks = read_measurements(measurements, latency_column, backend, progress, prof.channel_block(backend))
    threads = threads or prof.threads
    report = calibrate_profile(
        prof, backend, prec, threads, networks, f"{measurements.name}:{latency_column}", test_fraction, seed
    )
    path = output or Path(f"{prof.name}.yaml")
    source = device_path(device)
    header = leading_comments(source) if source else [prof.description]
    c = report.calibration
    tag = f"Calibrated {backend} {prec}:"
    note = f"{tag} `edgebench calibrate` {c.date}, {threads} thread(s), on {c.fitted_on}."
    save_profile(report.profile, path, [line for line in header if not line.startswith(tag)] + [note])
    return report, path


@dataclass(frozen=True)
class TrainRun:
    """A finished training run: the network, its result, the teacher it distilled (if any), its checkpoint."""

    network: str
    result: TrainResult
    teacher: Path | None = None
    teacher_test_top1_pct: float | None = None
    checkpoint: Path | None = None


def _training_network(arch: str) -> Network:
    network = resolve_network(arch)
    side = networks.resolution(network)
    if side != RESOLUTION:
        raise ConfigError(
            f"network '{arch}' is built for {side}x{side} inputs; the data loaders give {RESOLUTION}x{RESOLUTION}: "
            "train a -cifar network or an ArchSpec of a 32x32 space (mbv2-cifar)"
        )
    return network


def train_teacher(
    data: str | None,
    arch: str,
    output: Path | None,
    config: TrainConfig,
    progress: Callable[[str, TrainStep], None] | None = None,
) -> TrainRun:
    """Train a network with cross-entropy and save it as a checkpoint to distil students from.

    ``output`` defaults to ``./teachers/DATA-NETWORK``.

    Raises:
        ConfigError: a bad data spec or files, or a network not built for 32x32 inputs.
        UnknownNameError: ``arch`` is neither an ArchSpec JSON nor a built-in network.
    """
    network = _training_network(arch)
    images = load_data(data)
    loss = CrossEntropy()
    module, result = train(network, images, loss, config=config, progress=_role(progress, "teacher"))
    path = output or Path("teachers") / f"{images.name.replace(':', '-')}-{networks.label(network)}"
    save_checkpoint(path, network, module, images.classes, images.name, loss, config, result)
    return TrainRun(networks.label(network), result, checkpoint=path)


def train_student(
    arch: str,
    loss: str,
    data: str | None = None,
    teacher: Path | None = None,
    loss_params: Mapping[str, float] | None = None,
    config: TrainConfig | None = None,
    output: Path | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str, TrainStep], None] | None = None,
) -> TrainRun:
    """Train a student with a named loss, distilling ``teacher`` (a checkpoint folder) when the loss needs one.

    Without a teacher, a distillation loss on a built-in data set uses its default teacher, trained once and cached
    under ``cache_dir`` (default: ``$EDGEBENCH_CACHE`` or ``~/.cache/edgebench``); on other data it is an error,
    since a teacher must know the student's classes. With ``output``, the student is saved as a checkpoint.

    Raises:
        ConfigError: a bad data spec, checkpoint or hyper-parameter, or a teacher whose classes differ from the data's.
        UnknownNameError: an unknown loss or network.
    """
    cache_dir = writable_cache(cache_dir)
    network = _training_network(arch)
    distill_loss = get_loss(loss, loss_params)
    images = load_data(data)
    checkpoint = _teacher_for(distill_loss, teacher, images, data, cache_dir, _role(progress, "default teacher"))
    config = config or TrainConfig()
    teacher_module = checkpoint.module if checkpoint else None
    module, result = train(network, images, distill_loss, teacher_module, config, _role(progress, "student"))
    if output is not None:
        save_checkpoint(output, network, module, images.classes, images.name, distill_loss, config, result)
    if checkpoint is None:
        return TrainRun(networks.label(network), result, checkpoint=output)
    return TrainRun(networks.label(network), result, checkpoint.path, checkpoint.test_top1_pct, output)


def _teacher_for(
    loss: DistillLoss,
    teacher: Path | None,
    images: ImageData,
    data: str | None,
    cache_dir: Path | None,
    progress: Callable[[TrainStep], None] | None,
) -> Checkpoint | None:
    """The teacher a loss distils: the given checkpoint, else the default one of a built-in data set; None for a
    loss that learns from labels only. Raises ConfigError for a teacher that does not fit the data."""
    checkpoint = None
    if teacher is not None:
        if loss.needs_teacher:
            checkpoint = load_checkpoint(teacher)
        else:
            log.warning("loss '%s' learns from labels only; the teacher %s is not used", loss.name, teacher)
    if loss.needs_teacher and checkpoint is None:
        if images.name not in TEACHER_RECIPES:
            raise ConfigError(
                f"loss '{loss.name}' needs a teacher trained on '{data}': train one with `edgebench teacher train "
                f"--data {data}` and give it with --teacher PATH (default teachers exist only for the built-in "
                f"{', '.join(TEACHER_RECIPES)})"
            )
        checkpoint = default_teacher(cache_dir, progress, images.name)
    if checkpoint is not None:
        if checkpoint.classes != images.classes:
            raise ConfigError(
                f"{checkpoint.path}: the teacher has {checkpoint.classes} classes, data '{images.name}' has "
                f"{images.classes}; train a teacher on this data with `edgebench teacher train --data ...`"
            )
        if checkpoint.metrics.get("data") != images.name:
            log.warning("teacher %s was trained on '%s', not on '%s'", checkpoint.path,
                        checkpoint.metrics.get("data"), images.name)  # fmt: skip
    return checkpoint


def _role(progress: Callable[[str, TrainStep], None] | None, role: str) -> Callable[[TrainStep], None] | None:
    return partial(progress, role) if progress else None


def _trainable_space(space: str) -> SearchSpace:
    """A space whose networks take the data loaders' images; ConfigError for another input side."""
    sp = get_space(space)
    if sp.resolution != RESOLUTION:
        raise ConfigError(
            f"space '{sp.name}' is for {sp.resolution}x{sp.resolution} inputs; training uses the data loaders' "
            f"{RESOLUTION}x{RESOLUTION}: give a 32x32 space such as mbv2-cifar"
        )
    return sp


def estimator(
    space: str = "mbv2-cifar",
    data: str | None = None,
    teacher: Path | None = None,
    config: SupernetConfig | None = None,
    samples: int = DEFAULT_SAMPLES,
    cache_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AccuracyEstimator:
    """Build, resume or load the weight-sharing accuracy estimator of a 32x32 space on a data set: a supernet
    distilled from the teacher (the data's default teacher on a built-in set), ``samples`` sub-networks scored, and
    a predictor fitted on them; cached under ``cache_dir``, and reused by every search of that space and data.

    Raises:
        ConfigError, UnknownNameError: bad space, data or teacher; a cached estimator for another key in its folder.
    """
    cache_dir = writable_cache(cache_dir)
    sp = _trainable_space(space)
    images = load_data(data)
    checkpoint = _teacher_for(get_loss("kd"), teacher, images, data, cache_dir, None)
    return build_estimator(sp, images, checkpoint, cache_dir, config, samples, progress=progress)


@dataclass(frozen=True)
class SearchOutcome:
    """A finished (or resumed) search: every candidate, the baseline family, the feasible front, and where they are."""

    candidates: pd.DataFrame
    baseline: pd.DataFrame
    front: pd.DataFrame
    fastest_ms: float
    latency_source: str
    out_dir: Path
    storage: str
    study: str


def _space_under(
    prof: DeviceProfile,
    backend: str,
    prec: Precision,
    space: SearchSpace,
    budget_ms: float,
    cache_dir: Path | None,
    progress: Progress | None,
) -> tuple[Predictor, Prediction]:
    """The device's LUT predictor of ``space`` (built or estimated first if not cached) and its fastest
    architecture; InfeasibleBudgetError if even that is over budget."""
    (lut,) = profile(prof, [(backend, prec)], space, cache_dir, progress=progress)
    predictor = Predictor(lut.table, space)
    fastest = predictor.fastest()
    if fastest.latency_ms > budget_ms:
        raise InfeasibleBudgetError(
            f"nothing in space '{space.name}' meets {budget_ms:g} ms on {prof.name} ({backend} {prec}): the fastest "
            f"architecture is predicted at {fastest.latency_ms:.3f} ms ({fastest.source}); raise --latency to at "
            "least that, or search a smaller space"
        )
    return predictor, fastest


def search(
    device: str,
    budget: str,
    backend: str | None = None,
    precision: str | None = None,
    space: str = "mbv2-cifar",
    trials: int = 16,
    time_budget_s: float | None = None,
    loss: str = "kd",
    data: str | None = None,
    teacher: Path | None = None,
    proxy: TrainConfig | None = None,
    seed: int = 0,
    out: Path | None = None,
    storage: str | None = None,
    resume: bool = False,
    baseline: bool = True,
    cache_dir: Path | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    on_baseline: Callable[[BaselineRow], None] | None = None,
    progress: Progress | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
    overwrite: bool = False,
) -> SearchOutcome:
    """Search ``space`` for the most accurate students under a latency budget on a device.

    The device's LUT is built (measured) or estimated first if it is not cached; the study is stored in
    ``storage`` (default: ``sqlite:///OUT/study.db``), so the same command resumes it and other workers given the
    same storage join it. Writes ``candidates.csv``/``.parquet``, ``baseline.csv`` and ``front.csv`` to ``out``.

    Raises:
        InfeasibleBudgetError: not even the fastest architecture of the space meets the budget.
        ConfigError, UnknownNameError: bad device, runtime, data, teacher, loss or stored study settings; ``resume``
            of a study that does not exist.
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = parse_ms(budget, "--latency")
    prof = get_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    sp = _trainable_space(space).for_device(prof.channel_multiple)
    distill_loss = get_loss(loss)
    images = load_data(data)
    out = out or Path("reports") / f"search-{prof.name}-{backend}-{prec}-{budget_ms:g}ms"
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    name = f"{prof.name}-{backend}-{prec}-{sp.name}-{budget_ms:g}ms-{loss}-{images.name}"
    if resume and not study_exists(url, name):
        raise ConfigError(f"no study '{name}' in {url} to resume; drop --resume to start it")
    settings = SearchSettings(budget_ms, trials, time_budget_s, proxy or PROXY, seed=seed)
    identity = {"method": "proxy", "study": name, "storage": url, "teacher": teacher, **settings.identity()}
    outputs.claim(out, "search", identity, overwrite)
    predictor, fastest = _space_under(prof, backend, prec, sp, budget_ms, cache_dir, progress)
    checkpoint = _teacher_for(distill_loss, teacher, images, data, cache_dir, _role(train_progress, "default teacher"))
    study = open_study(storage_for(url), name, settings)
    teacher_module = checkpoint.module if checkpoint else None
    objective = Objective(sp, predictor, images, distill_loss, teacher_module, settings, on_candidate,
                          out / "checkpoints")  # fmt: skip
    rows = run_search(study, objective, settings)
    base = pd.DataFrame(columns=list(BaselineRow.__dataclass_fields__))
    if baseline:
        family = study.user_attrs.get("baseline")
        if family is None:  # trained once per study; a resumed search or another worker reuses it
            done = baseline_family(images, distill_loss, teacher_module, settings.proxy, prof, backend, prec,
                                   on_row=on_baseline, checkpoints=out / "checkpoints")  # fmt: skip
            family = [r.to_dict() for r in done]
            study.set_user_attr("baseline", family)
        base = pd.DataFrame(family, columns=list(BaselineRow.__dataclass_fields__))
    best = pareto.front(rows[rows["status"] == COMPLETE], "val_top1_pct", "predicted_ms")
    rows.to_csv(out / "candidates.csv", index=False)
    rows.to_parquet(out / "candidates.parquet", index=False)
    base.to_csv(out / "baseline.csv", index=False)
    best.to_csv(out / "front.csv", index=False)
    title = (f"search on {prof.name} ({backend} {prec}): PyTorch test top-1 after proxy training, latency predicted "
             "from the LUT; `edgebench run` scores and times the converted networks")  # fmt: skip
    env = _environment(prof, backend, prec, predictor.table.meta)
    results = from_candidates(rows, base, prof.name, backend, str(prec), images.name, environment=env)
    write_report(results, out / "report.html", budget_ms, title)
    return SearchOutcome(rows, base, best, fastest.latency_ms, fastest.source, out, url, name)


@dataclass(frozen=True)
class OneShotOutcome:
    """A finished one-shot search: the students kept (scored and saved), every architecture the estimator judged
    under the budget, the baseline family, the students' front, the estimator used and where it all is."""

    students: pd.DataFrame
    judged: pd.DataFrame
    baseline: pd.DataFrame
    front: pd.DataFrame
    fastest_ms: float
    latency_source: str
    estimator: AccuracyEstimator
    out_dir: Path


def one_shot(
    device: str,
    budget: str,
    backend: str | None = None,
    precision: str | None = None,
    space: str = "mbv2-cifar",
    data: str | None = None,
    teacher: Path | None = None,
    estimator: Path | None = None,
    students: int = OneShotSettings.students,
    finetune: TrainConfig | None = None,
    loss: str = "kd",
    seed: int = 0,
    out: Path | None = None,
    baseline: bool = True,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    steps: Callable[[str, int, int], None] | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
    on_baseline: Callable[[BaselineRow], None] | None = None,
    overwrite: bool = False,
) -> OneShotOutcome:
    """Search ``space`` under a latency budget on a device with its weight-sharing accuracy estimator (the
    once-for-all route): built once per space, data and teacher (hours; then cached) and reused by every device and
    budget, so the search itself takes seconds. An evolutionary search finds the estimated front under the budget;
    ``students`` spread over it are scored with their inherited weights (BatchNorm recalibrated), fine-tuned with
    ``finetune`` when given, and saved for ``edgebench run``. The baseline family is trained once with the final
    recipe (cached) and priced on the device. Writes ``candidates.csv``/``.parquet`` (the students),
    ``judged.csv`` (every architecture judged, with its estimate), ``front.csv``, ``baseline.csv`` and
    ``report.html`` to ``out``; ``steps`` reports the estimator's and the search's (phase, step, total).

    ``estimator`` is a folder ``edgebench estimator`` built (with any recipe) for this space, data and teacher;
    by default, the cached one of the default recipe, built now if there is none.

    Raises:
        InfeasibleBudgetError: not even the fastest architecture of the space meets the budget.
        ConfigError, UnknownNameError: bad device, runtime, space, data, teacher or loss; an estimator built for
            another space, data or teacher.
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = parse_ms(budget, "--latency")
    prof = get_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    trainable = _trainable_space(space)
    distill_loss = get_loss(loss)
    images = load_data(data)
    out = out or Path("reports") / f"oneshot-{prof.name}-{backend}-{prec}-{budget_ms:g}ms"
    identity = {"method": "oneshot", "device": prof.name, "backend": backend, "precision": prec,
                "budget_ms": budget_ms, "space": trainable.name, "data": images.name, "teacher": teacher,
                "estimator": estimator, "students": students, "finetune": finetune.to_dict() if finetune else None,
                "loss": loss, "seed": seed, "baseline": baseline}  # fmt: skip
    outputs.claim(out, "search", identity, overwrite)
    sp = trainable.for_device(prof.channel_multiple)
    predictor, fastest = _space_under(prof, backend, prec, sp, budget_ms, cache_dir, progress)
    kd = get_loss("kd")  # the supernet distils the teacher, whatever loss fine-tunes the students
    checkpoint = _teacher_for(kd, teacher, images, data, cache_dir, _role(train_progress, "default teacher"))
    teacher_module = checkpoint.module if checkpoint is not None and distill_loss.needs_teacher else None
    if estimator is None:
        judge = build_estimator(trainable, images, checkpoint, cache_dir, progress=steps)
    else:
        judge = load_estimator(estimator)
        judge.require(trainable, images, checkpoint)
    settings = OneShotSettings(students, finetune, EvolutionSettings(seed=seed))
    judged, kept = one_shot_search(predictor, judge, images, distill_loss, teacher_module, budget_ms, settings,
                                   out / "checkpoints", steps)  # fmt: skip
    rows = pd.DataFrame([_student_row(i, s, predictor) for i, s in enumerate(kept)],
                        columns=list(Candidate.__dataclass_fields__))  # fmt: skip
    table = pd.DataFrame({"arch": [j.arch.to_json() for j in judged], "predicted_ms": [j.latency_ms for j in judged],
                          "estimated_pct": [j.accuracy_pct for j in judged]})  # fmt: skip
    base = pd.DataFrame(columns=list(BaselineRow.__dataclass_fields__))
    if baseline:
        root = cache_dir or default_cache_dir()
        folder = family_dir(root, images, distill_loss, checkpoint, FINAL)
        for width in WIDTHS:  # the default task's family ships with the package
            shipped.seed(root, folder.relative_to(root) / network_name(width), METRICS)
        family = baseline_family(images, distill_loss, teacher_module, FINAL, prof, backend, prec, on_row=on_baseline,
                                 checkpoints=folder, accuracy_source=AccuracySource.TRAINED)  # fmt: skip
        base = pd.DataFrame([r.to_dict() for r in family], columns=list(BaselineRow.__dataclass_fields__))
    best = pareto.front(rows, "val_top1_pct", "predicted_ms")
    rows.to_csv(out / "candidates.csv", index=False)
    rows.to_parquet(out / "candidates.parquet", index=False)
    table.to_csv(out / "judged.csv", index=False)
    base.to_csv(out / "baseline.csv", index=False)
    best.to_csv(out / "front.csv", index=False)
    how = f"fine-tuned {finetune.epochs} epoch(s) from the weights" if finetune else "the weights"
    title = (f"one-shot search on {prof.name} ({backend} {prec}): students' PyTorch validation top-1 with {how} "
             "inherited from the supernet, baselines' after the final recipe; latency predicted from the LUT; "
             "`edgebench run` scores the converted networks on the test split and times them")  # fmt: skip
    env = _environment(prof, backend, prec, predictor.table.meta)
    results = from_candidates(rows, base, prof.name, backend, str(prec), images.name, "val", env)
    write_report(results, out / "report.html", budget_ms, title)
    return OneShotOutcome(rows, table, base, best, fastest.latency_ms, fastest.source, judge, out)


def _environment(prof: DeviceProfile, backend: str, prec: Precision, meta: LutMeta) -> dict[str, Any]:
    """How a search's latencies were made, as its LUT records it, for the report's provenance."""
    estimated, fit = meta.source == str(Source.ESTIMATED), meta.correction
    return {"backend_version": meta.backend_version, "threads": meta.threads, "cpu": meta.cpu, "host": meta.host,
            "calibration_rmspe_pct": _calibration_error(prof, backend, prec) if estimated else None,
            "fit_rmspe_pct": 100 * fit.fit_rmspe if fit.networks else None}  # fmt: skip


def _calibration_error(prof: DeviceProfile, backend: str, prec: Precision) -> float | None:
    """The held-out RMSPE of the calibration the cost model uses for this backend and precision, if any."""
    calibration = params_for(prof, backend, prec).calibration
    return calibration.held_out.rmspe_pct if calibration is not None else None


def _student_row(number: int, student: Student, predictor: Predictor) -> Candidate:
    """A kept student as a search candidate, labelled with what its accuracies are."""
    source = AccuracySource.FINETUNED if student.finetuned else AccuracySource.INHERITED
    return Candidate(number, student.arch.to_json(), student.predicted_ms, predictor.source,
                     COMPLETE, "", student.val_top1_pct, student.test_top1_pct, student.params, student.train_s,
                     "nas", student.checkpoint, str(source), student.estimated_pct)  # fmt: skip


@dataclass(frozen=True)
class PruneOutcome:
    """A finished pruning run: its results-table row, the pruning result, the layer table and where it all is."""

    row: Candidate
    result: PruneResult
    table: LayerTable
    teacher_test_top1_pct: float | None
    out: Path


def prune(
    device: str,
    budget: str,
    backend: str | None = None,
    precision: str | None = None,
    teacher: Path | None = None,
    criterion: str = "l1",
    data: str | None = None,
    finetune_every: int = 8,
    finetune: TrainConfig | None = None,
    final: TrainConfig | None = None,
    out: Path | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    on_step: Callable[[PruneStep], None] | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
    overwrite: bool = False,
) -> PruneOutcome:
    """Prune a trained network (the default teacher by default) to a latency budget on a device, distilling it
    from its unpruned self; writes the pruned checkpoint, its history and a results-table row to ``out``.

    Raises:
        ConfigError, UnknownNameError: bad device, runtime, data, teacher or criterion; a budget below what pruning
            can reach (nothing is pruned then).
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = parse_ms(budget, "--latency")
    prof = get_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    get_criterion(criterion)
    images = load_data(data)
    loss = get_loss("kd")
    finetune, final = finetune or TrainConfig(epochs=1), final or TrainConfig(epochs=10)
    out = out or Path("reports") / f"prune-{prof.name}-{backend}-{prec}-{budget_ms:g}ms-{criterion}"
    identity = {"device": prof.name, "backend": backend, "precision": prec, "budget_ms": budget_ms,
                "teacher": teacher, "criterion": criterion, "data": images.name, "finetune_every": finetune_every,
                "finetune": finetune.to_dict(), "final": final.to_dict()}  # fmt: skip
    outputs.claim(out, "prune", identity, overwrite)
    checkpoint = _teacher_for(loss, teacher, images, data, cache_dir, _role(train_progress, "default teacher"))
    assert checkpoint is not None  # kd needs a teacher
    shape = checkpoint.input_shape
    table = build_layer_table(checkpoint.network, checkpoint.classes, prof, backend, prec,
                              cache_dir or default_cache_dir(), progress=progress)  # fmt: skip
    config = PruneConfig(budget_ms, criterion, pruning_multiple(prof, backend), finetune_every, finetune, final)
    student = copy.deepcopy(checkpoint.module)
    result = prune_to_budget(student, shape, table, images, checkpoint.module, config, on_step,
                             _role(train_progress, "KD fine-tune"))  # fmt: skip
    result.history.save(out / "history.json")
    folder = save_checkpoint(out / "student", checkpoint.network, result.module, checkpoint.classes, images.name,
                             loss, config.final, result.final, pruning=result.history)  # fmt: skip
    row = Candidate(
        trial=0,
        arch=networks.label(checkpoint.network),
        predicted_ms=round(result.predicted_ms, 6),
        latency_source=str(Source.of_sum(table.source)),
        status=COMPLETE,
        val_top1_pct=result.final.val_top1_pct,
        test_top1_pct=result.final.test_top1_pct,
        params=sum(p.numel() for p in result.module.parameters()),
        train_s=round(result.final.wall_time_s, 1),
        kind="pruned",
        checkpoint=str(folder.resolve()),
        accuracy_source=str(AccuracySource.FINETUNED),
    )
    frame = pd.DataFrame([row.to_dict()])
    frame.to_csv(out / "candidates.csv", index=False)
    frame.to_parquet(out / "candidates.parquet", index=False)
    unpruned = {
        "name": networks.label(checkpoint.network),
        "latency_ms": result.unpruned_ms,
        "reason": "",
        "latency_source": str(Source.of_sum(table.source)),
        "status": COMPLETE,
        "test_top1_pct": checkpoint.test_top1_pct,
        "params": sum(p.numel() for p in checkpoint.module.parameters()),
        "checkpoint": str(checkpoint.path),
        "accuracy_source": str(AccuracySource.TRAINED),
    }
    title = (f"pruning on {prof.name} ({backend} {prec}): PyTorch test top-1, latency predicted from the layer "
             "table; the unpruned network is the baseline")  # fmt: skip
    error = _calibration_error(prof, backend, prec) if table.source is Source.ESTIMATED else None
    env = {"threads": prof.threads, "host": platform.node(), "calibration_rmspe_pct": error,
           "fit_rmspe_pct": 100 * table.fit_rmspe if table.networks else None}  # fmt: skip
    results = from_candidates(frame, pd.DataFrame([unpruned]), prof.name, backend, str(prec), images.name,
                              environment=env)  # fmt: skip
    write_report(results, out / "report.html", budget_ms, title)
    return PruneOutcome(row, result, table, checkpoint.test_top1_pct, out)


def report(results: Path, out: Path | None = None, budget: str | None = None, title: str | None = None) -> Path:
    """Render a results table (``edgebench run``'s) as one self-contained HTML page; returns its path.

    Raises:
        ConfigError: the file is not a results table.
    """
    frame = read_results(results)
    budget_ms = parse_ms(budget, "--latency") if budget else None
    folder = results if results.is_dir() else results.parent
    return write_report(frame, out or Path("reports") / f"{folder.resolve().name}.html", budget_ms, title)


@dataclass(frozen=True)
class RunPlan:
    """What ``edgebench run`` will do: its rows still to run, how many earlier rows it keeps (and how many of those
    FAILED), where it writes."""

    device: str
    source: Source
    jobs: list[RunJob]
    kept: int
    kept_failed: int
    table: ResultsTable


def run(
    paths: Sequence[Path],
    device: str = "host",
    backends: Sequence[str] = (),
    precisions: Sequence[str] = (),
    data: str | None = None,
    out: Path | None = None,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    timeout_s: float = 600.0,
    retry_failed: bool = False,
    overwrite: bool = False,
) -> tuple[RunPlan, Iterator[ResultRow]]:
    """Plan every candidate x (backend, precision) the device runs (all its precisions unless given), less the
    rows ``out`` already holds, and return the plan and a lazy stream of rows, each written as it finishes.

    Raises:
        ConfigError, UnknownNameError, UnsupportedError: bad paths, device, backend, precision or data, before any
            work starts. UnreachableDeviceError: a device behind an agent whose token is not set.
    """
    prof = get_device(device)
    if latency_source(prof) is not Source.ESTIMATED:
        require_measurable(prof)
    wanted = [parse_precision(p) for p in precisions] or list(Precision)
    pairs = plan(prof, backends, wanted)
    load_data(data)  # a bad --data fails here, in one line, not in every row
    candidates = load_candidates(paths)
    out = out or Path("reports") / f"run-{prof.name}"
    identity = {"device": prof.name, "data": data, "threads": threads, "warmup": warmup, "repeats": repeats}
    table = ResultsTable(outputs.claim(out, "run", identity, overwrite))
    jobs = plan_jobs(candidates, device, pairs, data, table.done(retry_failed), threads, warmup, repeats)
    kept = len(candidates) * len(pairs) - len(jobs)
    kept_failed = len(plan_jobs(candidates, device, pairs, data, table.done(retry_failed=True))) - len(jobs)
    run_plan = RunPlan(prof.name, latency_source(prof), jobs, kept, kept_failed, table)
    return run_plan, run_jobs(jobs, table, timeout_s)
