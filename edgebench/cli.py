"""The ``edgebench`` command: parse, call one api function, render. Errors become one line and exit 2."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from edgebench import api, pareto
from edgebench.devices import latency_source
from edgebench.distill.losses import HintonKD, MutualLearning, OnlineSubclassKD, RevisedKD
from edgebench.distill.teacher import DEFAULT_TEACHER, DEFAULT_TEACHER_CONFIG
from edgebench.distill.train import Optimizer, TrainConfig, TrainStep
from edgebench.exceptions import EdgebenchError
from edgebench.lut.builder import BuildSettings
from edgebench.lut.store import NOISY_FIT
from edgebench.prune.history import PruneStep
from edgebench.results import ResultRow
from edgebench.search.baseline import BaselineRow
from edgebench.search.estimator import DEFAULT_SAMPLES
from edgebench.search.nas import COMPLETE, DUPLICATE, FAILED, INFEASIBLE, PROXY, Candidate
from edgebench.search.oneshot import FINETUNE, OneShotSettings
from edgebench.search.supernet import SupernetConfig
from edgebench.types import SearchMethod
from edgebench.units import parse_ms

app = typer.Typer(
    help="Pick the student network to deploy on an edge device, and know its accuracy and latency cost.\n\n"
    "Example: edgebench bench model.onnx --device host --backend all --precision fp32 --precision int8",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
devices_app = typer.Typer(
    help="List device profiles, or show one.\n\nExample: edgebench devices show myriadx",
    invoke_without_command=True,
)
app.add_typer(devices_app, name="devices")
teacher_app = typer.Typer(
    help="Train teachers to distil students from.\n\n"
    "Example: edgebench teacher train --data cifar10:~/data/cifar-10-batches-py --arch resnet18-cifar",
    no_args_is_help=True,
)
app.add_typer(teacher_app, name="teacher")

out = Console(emoji=False)  # a path or data spec like "imagefolder:one" is text, not an emoji code
err = Console(stderr=True, emoji=False)
F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
TargetOption = Annotated[str, typer.Option("--device", "-d", help="Device profile name or YAML path.")]
BackendsOption = Annotated[
    list[str] | None, typer.Option("--backend", "-b", help="Backend(s) (repeatable; default: all the device runs).")
]


def _fail(exc: BaseException) -> None:
    if logging.getLogger("edgebench").isEnabledFor(logging.DEBUG):  # --debug
        err.print_exception()
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def handles_errors(fn: F) -> F:
    """Turn EdgebenchError into a one-line message and exit code 2 (traceback only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EdgebenchError as e:
            _fail(e)
        except KeyboardInterrupt:
            err.print("interrupted: what was measured is kept; rerun the same command to resume")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    """edgebench: which student network should I deploy on this device, and what will it cost?"""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("edgebench").setLevel(logging.DEBUG if debug else logging.WARNING)


@devices_app.callback()
@handles_errors
def devices(ctx: typer.Context) -> None:
    """List device profiles: kind, backends and precisions, and whether latencies are measured or estimated."""
    if ctx.invoked_subcommand:
        return
    table = Table(title="Device profiles")
    for col in ("name", "kind", "processor", "backends (precisions)", "threads", "latency", "cost model"):
        table.add_column(col, no_wrap=col == "name")
    for p in api.devices():
        runtimes = ", ".join(f"{r.backend} ({'/'.join(map(str, r.precisions))})" for r in p.runtimes)
        fits = ", ".join(f"{c.backend} {c.precision}" for c in p.cost_model.calibrations)
        cost = f"calibrated: {fits}" if fits else "priors"
        table.add_row(p.name, p.kind, p.processor, runtimes, str(p.threads), str(latency_source(p)), cost)
    out.print(table)


@devices_app.command("show")
@handles_errors
def devices_show(
    name: Annotated[str, typer.Argument(help="Profile name (see `edgebench devices`) or path to a YAML file.")],
) -> None:
    """Print one device profile in full, with the provenance of every cost-model number.

    Example: edgebench devices show rpi4
    """
    import yaml

    profile = api.device(name)
    out.print(f"[bold]{profile.name}[/]: {profile.description} (latency: {latency_source(profile)})")
    out.print(yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False), highlight=False)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@app.command()
@handles_errors
def bench(
    model: Annotated[
        str, typer.Argument(help="An .onnx file, or a built-in network name such as mobilenetv2-0.5-cifar.")
    ],
    device: TargetOption = "host",
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="onnxruntime, openvino, tflite, or all (repeatable; default all)."),
    ] = None,
    precision: Annotated[
        list[str] | None, typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default fp32).")
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads (default: the profile's).")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs before measuring.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs.")] = 100,
    calibration: Annotated[
        Path | None, typer.Option(help="INT8 calibration inputs: .npy or .npz with 'x' (default: random normal).")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where converted artifacts are written (default: a temp dir).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the records (stats, samples, versions) as JSON.")
    ] = None,
) -> None:
    """Convert a model for each backend and precision, check parity with PyTorch, and measure latency.

    An ONNX file is converted to PyTorch by edgebench's importer for the reference (and for TFLite); if it holds
    an op the importer cannot convert, ONNX Runtime's output of the original file is the reference instead.

    Example: edgebench bench model.onnx --device host --backend all --precision fp32 --precision int8
    """
    backends = [] if not backend or "all" in backend else backend
    precisions = precision or ["fp32"]
    pairs, stream = api.bench(model, device, backends, precisions, work_dir, threads, warmup, repeats, calibration)
    records = []
    with err.status("") as status:
        for i, (b, p) in enumerate(pairs):
            status.update(f"[{i + 1}/{len(pairs)}] converting and measuring {b} {p} ...")
            records.append(next(stream))
    reference = records[0].parity_reference if records else "pytorch"
    versions = ", ".join(sorted({f"{r.backend} {r.backend_version}" for r in records if r.backend_version}))
    table = Table(
        title=f"{model} on {device}",
        caption=f"latency in ms; parity = max |error| / max |{reference} output|; {versions}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("backend", "prec", "median", "p10", "p90", "runs", "parity", "source", "status"):
        table.add_column(col, justify="left" if col in ("backend", "prec", "source", "status") else "right")
    for r in records:
        table.add_row(
            r.backend,
            r.precision,
            _fmt(r.median_ms),
            _fmt(r.p10_ms),
            _fmt(r.p90_ms),
            str(r.count),
            "-" if r.parity_max_rel_err is None else f"{r.parity_max_rel_err:.1e}",
            r.source,
            r.status if not r.error else f"[red]{r.status}[/]",
        )
    out.print(table)
    for r in records:
        if r.error:
            err.print(f"[red]{r.backend} {r.precision} failed:[/] {escape(r.error)}", highlight=False, soft_wrap=True)
    if json_out:
        api.write_records(records, json_out)
        out.print(f"wrote {json_out}")
    if any(r.error for r in records):
        raise typer.Exit(1)


class _Bar:
    """Rich progress bar behind the library's Progress protocol: one task per phase, with ETA."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def phase(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True)


@app.command("profile")
@handles_errors
def profile_cmd(
    device: TargetOption = "host",
    backend: BackendsOption = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default: the device's first)."),
    ] = None,
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    cache_dir: Annotated[
        Path | None, typer.Option(help="LUT cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Re-measure even if a finished LUT exists (conversions are reused).")
    ] = False,
    validate: Annotated[
        int, typer.Option(min=0, help="Then time this many random networks end to end and score the predictor.")
    ] = 0,
    passes: Annotated[
        int, typer.Option(min=1, help="Interleaved timing passes over all blocks.")
    ] = BuildSettings.passes,
    window: Annotated[int, typer.Option(min=1, help="Timed runs per block per pass.")] = BuildSettings.window,
    workers: Annotated[int | None, typer.Option(min=1, help="Conversion processes (default: one per core).")] = None,
) -> None:
    """Build the latency lookup table (LUT) of a search space's blocks on a device, resumably.

    Every block is converted, then timed in interleaved passes; whole networks timed alongside fit the correction
    for what isolated blocks pay at their edges. A killed build resumes when rerun with the same command.

    Example: edgebench profile --device host --backend onnxruntime --precision fp32 --validate 20
    """
    prof, pairs, sp = api.profile_plan(device, backend or [], precision or [], space)
    settings = BuildSettings(passes=passes, window=window)
    if workers:
        settings = replace(settings, workers=workers)
    summary = Table(title=f"LUTs of {sp.name} on {prof.name}", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("backend", "prec", "rows", "failed", "time s", "median cv", "source"):
        summary.add_column(col, justify="right" if col in ("rows", "failed", "time s", "median cv") else "left")
    validations = []
    with _progress() as bar:
        for result in api.profile(prof, pairs, sp, cache_dir, settings, force, _Bar(bar)):
            rows, meta = result.table.rows, result.table.meta
            when = f"{result.seconds:.0f}" if result.built else "cached"
            summary.add_row(
                meta.backend, meta.precision, str(len(rows)), str(result.failed), when,
                f"{rows['cv'].median():.3f}", meta.source,
            )  # fmt: skip
            folder = result.path.parent
            if result.resumed_windows:
                err.print(f"{meta.backend} {meta.precision}: resumed, kept {result.resumed_windows} timed windows")
            if meta.correction.fit_rmspe > NOISY_FIT:
                err.print(
                    f"[yellow]warning:[/] {meta.backend} {meta.precision}: whole networks disagree with their blocks "
                    f"by {100 * meta.correction.fit_rmspe:.0f} % RMSPE (usually under 6 %): was the machine busy "
                    "during the build? Rebuild on a quiet machine with --force",
                    highlight=False, soft_wrap=True,
                )  # fmt: skip
            if validate:
                validations.append(
                    (meta, *api.validate_lut(prof, result, sp, validate, cache_dir, settings, _Bar(bar)))
                )
    out.print(summary)
    out.print(f"tables in {folder}", highlight=False)
    for meta, v, png in validations:
        m, s = v.metrics, v.metrics_same_state
        out.print(
            f"{meta.backend} {meta.precision}: {m.n} networks, RMSE {m.rmse_ms:.3f} ms, RMSPE {m.rmspe_pct:.1f} %, "
            f"within ±5 % {m.within_5_pct:.0f} %, ±10 % {m.within_10_pct:.0f} %, Kendall τ {m.kendall_tau:.2f}; "
            f"blocks re-timed now: RMSPE {s.rmspe_pct:.1f} %, ±10 % {s.within_10_pct:.0f} %; "
            f"rows drifted {v.row_drift_pct:.1f} % since the build. Plot: {png}",
            highlight=False,
        )


@app.command("calibrate")
@handles_errors
def calibrate_cmd(
    measurements: Annotated[
        Path,
        typer.Option(
            "--measurements", "-m", help="CSV of measured networks: a 'model' (ONNX) or 'arch_str' column + latency."
        ),
    ],
    device: Annotated[str, typer.Option("--device", "-d", help="Device profile name or YAML path.")],
    latency_column: Annotated[str, typer.Option(help="The CSV column holding latencies in ms.")] = "latency_ms",
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="The backend the latencies were measured with.")
    ] = None,
    precision: Annotated[str | None, typer.Option("--precision", "-p", help="Their precision.")] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads they were measured with (default: the profile's).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Calibrated profile to write (default: ./NAME.yaml).")
    ] = None,
    test_fraction: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.9, help="Share of rows held back to score the fit; 0: fit all, score by leave-one-out."
        ),
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the fit/held-out split.")] = 0,
) -> None:
    """Fit a device's cost model to your end-to-end measurements and write a calibrated profile.

    Robust least squares in log space over per-kind efficiencies, size factors and overheads (bounded to physical
    values, pulled towards the profile's priors); peaks stay the specs'. The error on held-back rows is printed,
    next to a FLOPs-linear baseline fitted on the same rows, and recorded in the profile.

    Example: edgebench calibrate --device rpi5 -m pi5.csv --latency-column pi5_onnx_lat_ms -b onnxruntime --threads 1
    """
    with _progress() as bar:
        task = bar.add_task("reading networks", total=None)
        report, path = api.calibrate(
            device, measurements, latency_column, backend, precision, threads, output, test_fraction, seed,
            lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    c = report.calibration
    table = Table(
        title=f"{report.profile.name} {c.backend} {c.precision}, {c.threads} thread(s): {c.fitted_on}",
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
    )  # fmt: skip
    for col in ("rows", "networks", "RMSE ms", "RMSPE %", "±5 %", "±10 %", "Kendall τ"):
        table.add_column(col, justify="left" if col == "rows" else "right")
    for label, m in (("fit", report.fit_metrics), ("held out", report.held_out), ("FLOPs-linear", report.baseline)):
        table.add_row(label, str(m.n), f"{m.rmse_ms:.3f}", f"{m.rmspe_pct:.1f}", f"{m.within_5_pct:.1f}",
                      f"{m.within_10_pct:.1f}", f"{m.kendall_tau:.3f}")  # fmt: skip
    out.print(table)
    out.print(f"wrote {path} (use it with --device {path}, or EDGEBENCH_DEVICE_PATH={path.parent})", highlight=False)


@app.command("predict")
@handles_errors
def predict_cmd(
    target: Annotated[
        Path, typer.Argument(help="An ONNX model (priced by the cost model), or an ArchSpec JSON (read from a LUT).")
    ],
    device: TargetOption = "host",
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="Backend (default: the device's first).")
    ] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", "-p", help="fp32, fp16 or int8 (default: the backend's first).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads, for ONNX models (default: the profile's).")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="LUT cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
    space: Annotated[
        str | None, typer.Option(help="Search space name or YAML path (default: the one the JSON names).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the prediction as JSON.")] = False,
) -> None:
    """Predict a network's latency on a device, measured or not.

    An ONNX model is split into the kernels the runtime runs (conv+bn+act, add+act, ...) and each is priced by the
    device profile's cost model: the result is an estimate, shown with the calibration behind it and its error.
    An ArchSpec JSON is predicted from the device's LUT (block rows + per-network overhead).

    Example: edgebench predict resnet18.onnx --device myriadx --json
    """
    if target.suffix == ".onnx":
        _print_model_estimate(api.predict_model(target, device, backend, precision, threads), json_out)
        return
    prediction, meta = api.predict(target, device, backend, precision, cache_dir, space)
    if json_out:
        import json

        record = {
            "arch": str(target), "device": meta.device, "backend": meta.backend,
            "backend_version": meta.backend_version, "precision": meta.precision, "threads": meta.threads,
            "latency_ms": prediction.latency_ms, "source": prediction.source, "overhead_ms": prediction.overhead_ms,
            "note": meta.note, "blocks": [{"block": label, "ms": ms} for label, ms in prediction.blocks],
        }  # fmt: skip
        out.print_json(json.dumps(record))
        return
    note = f"; {meta.note}" if meta.note else ""
    out.print(
        f"{target}: [bold]{prediction.latency_ms:.3f} ms[/] on {meta.device} {meta.backend} {meta.precision} "
        f"({prediction.source}, {len(prediction.blocks)} blocks + {prediction.overhead_ms:.3f} ms network "
        f"overhead{note})",
        highlight=False,
    )


def _print_model_estimate(m: api.ModelEstimate, json_out: bool) -> None:
    e = m.estimate
    if json_out:
        import json

        record = {
            "model": str(m.model), "device": m.device, "backend": m.backend, "precision": str(m.precision),
            "threads": m.threads, "latency_ms": e.latency_ms, "source": str(e.source),
            "overhead_ms": e.overhead_ms, "cost_model": e.provenance,
            "kernels": [{"name": k.name, "kind": str(k.kind), "ops": "+".join(k.ops), "mflops": k.flops / 1e6,
                         "ms": ms} for k, ms in e.kernels],
        }  # fmt: skip
        out.print_json(json.dumps(record))
        return
    out.print(
        f"{m.model}: [bold]{e.latency_ms:.3f} ms[/] on {m.device} {m.backend} {m.precision}, {m.threads} thread(s) "
        f"([bold]{e.source}[/]: {len(e.kernels)} kernels + {e.overhead_ms:.3f} ms network overhead)",
        highlight=False,
    )
    out.print(f"cost model: {e.provenance}", highlight=False, soft_wrap=True)


BudgetOption = Annotated[str, typer.Option("--latency", "-l", help="Latency budget: 15ms, 15 (ms) or 0.015s.")]
RuntimeBackendOption = Annotated[str | None, typer.Option("--backend", "-b", help="Default: the device's first.")]
RuntimePrecisionOption = Annotated[
    str | None, typer.Option("--precision", "-p", help="Default: the backend's first on the device.")
]
DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="cluttered-digits (default: a benchmark task built from bundled digits, no download), digits (a quick "
        "demo that saturates near 99 %), cifar10:PATH, cifar100:PATH (python batches), "
        "imagefolder:PATH (a folder of images per class) or npz:PATH (arrays x, y).",
    ),
]
EpochsOption = Annotated[int, typer.Option(min=1, help="Epochs (the cosine schedule spans them all).")]
BatchOption = Annotated[int, typer.Option(min=1, help="Images per step.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Clear --out first if another run's results are in it (else refused).")
]
OptimizerOption = Annotated[Optimizer, typer.Option(help="sgd (momentum 0.9, Nesterov) or adamw.")]
LrOption = Annotated[
    float | None, typer.Option(help="Peak learning rate of the cosine schedule (default: sgd 0.05, adamw 0.002).")
]
DecayOption = Annotated[float | None, typer.Option(help="Weight decay (default: sgd 5e-4, adamw 0.05).")]
PatienceOption = Annotated[
    int | None, typer.Option(min=1, help="Stop after this many epochs without a better validation accuracy.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the initial weights, the shuffling and the augmentation.")]
AugmentOption = Annotated[
    bool, typer.Option(help="Random crops of the 4-pixel padded image, and flips where the data allows them.")
]
DeviceOption = Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: CUDA when present).")]


class _TrainBar:
    """One progress bar per run (default teacher, student), its description the epoch's loss and accuracies."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._val: dict[str, str] = {}

    def __call__(self, role: str, step: TrainStep) -> None:
        if role not in self._tasks:
            self._tasks[role] = self._progress.add_task(role, total=step.total)
        if step.val_top1_pct is not None:
            self._val[role] = f", val {step.val_top1_pct:.1f} %"
        self._progress.update(
            self._tasks[role], completed=step.done,
            description=f"{role} epoch {step.epoch}/{step.epochs}: loss {step.loss:.3f}, "
            f"train {step.train_top1_pct:.1f} %{self._val.get(role, '')}",
        )  # fmt: skip


def _print_run(run: api.TrainRun) -> None:
    r = run.result
    table = Table(title=f"{run.network}, loss {r.loss}", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("val top-1 %", "test top-1 %", "best epoch", "epochs", "images/s", "time s", "seed", "device"):
        table.add_column(col, justify="left" if col == "device" else "right")
    table.add_row(f"{r.val_top1_pct:.2f}", f"{r.test_top1_pct:.2f}", str(r.best_epoch), str(r.epochs_run),
                  f"{r.images_per_s:.0f}", f"{r.wall_time_s:.1f}", str(r.seed), r.device)  # fmt: skip
    out.print(table)
    if run.teacher is not None:
        teacher_top1 = "unknown" if run.teacher_test_top1_pct is None else f"{run.teacher_test_top1_pct:.2f} %"
        out.print(f"teacher {run.teacher}: test top-1 {teacher_top1}", highlight=False, soft_wrap=True)
    if run.checkpoint is not None:
        out.print(f"wrote checkpoint {run.checkpoint}", highlight=False, soft_wrap=True)


@app.command("prune")
@handles_errors
def prune_cmd(
    latency: BudgetOption,
    device: TargetOption = "myriadx",
    backend: RuntimeBackendOption = None,
    precision: RuntimePrecisionOption = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            "-t",
            help="Checkpoint folder to prune (default, on a built-in data set: the cached "
            "default teacher). It also distils the pruned network.",
        ),
    ] = None,
    criterion: Annotated[
        str, typer.Option("--criterion", "-c", help="Which channels of a group go: l1, bn_scale, taylor or info.")
    ] = "l1",
    data: DataOption = None,
    finetune_every: Annotated[int, typer.Option(min=1, help="Pruning steps between short KD fine-tunes.")] = 8,
    finetune_epochs: Annotated[int, typer.Option(min=1, help="Epochs of each short KD fine-tune.")] = 1,
    final_epochs: Annotated[int, typer.Option(min=1, help="Epochs of the final KD fine-tune.")] = 10,
    seed: SeedOption = 0,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (default: reports/prune-DEVICE-...).")
    ] = None,
    overwrite: OverwriteOption = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Layer-table and teacher cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench)."),
    ] = None,
) -> None:
    """Prune a trained network's channels until its predicted latency on a device meets a budget (Opti-Cut).

    A per-layer latency table is built first (measured on this machine's backends, estimated by the cost model for
    devices that are not attached); channel counts stay multiples of the device's channel multiple and the
    runtime's channel block. Each step offers, per group, its least important channels (by --criterion), as
    few as save 3 % of the unpruned latency, and removes the cut whose saving per output change (KL on a
    calibration batch, with the cut zeroed and BatchNorm re-estimated) is best; short KD fine-tunes run every few
    steps, and a final one at the end. Writes the pruned checkpoint (its history replays on the original
    network), history.json and a candidates.csv row of kind 'pruned'.

    Example: edgebench prune --device host --latency 1.2ms --criterion info
    """
    finetune = TrainConfig(epochs=finetune_epochs, seed=seed)
    final = TrainConfig(epochs=final_epochs, seed=seed)
    with _progress() as bar:

        def step(s: PruneStep) -> None:
            bar.console.print(f"step {s.step:3d} {s.root:24} -{len(s.channels):3d} ch  -> {s.predicted_ms:8.3f} ms "
                              f"predicted", highlight=False)  # fmt: skip

        result = api.prune(device, latency, backend, precision, teacher, criterion, data, finetune_every, finetune,
                           final, out_dir, cache_dir, _Bar(bar), step, _TrainBar(bar), overwrite)  # fmt: skip
    _print_prune(result)


def _print_prune(result: api.PruneOutcome) -> None:
    r, row = result.result, result.row
    teacher = "unknown" if result.teacher_test_top1_pct is None else f"{result.teacher_test_top1_pct:.2f} %"
    out.print(
        f"{row.arch} pruned in {len(r.history.steps)} steps: {r.unpruned_ms:.3f} -> {r.predicted_ms:.3f} ms "
        f"predicted ({row.latency_source}); test top-1 {r.final.test_top1_pct:.2f} % (unpruned {teacher}); "
        f"{row.params:,} parameters",
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"results in {result.out}: student/ (checkpoint), history.json, candidates.csv", highlight=False,
              soft_wrap=True)  # fmt: skip


@teacher_app.command("train")
@handles_errors
def teacher_train_cmd(
    data: DataOption = None,
    arch: Annotated[
        str,
        typer.Option(
            "--arch",
            "-a",
            help="A built-in network (resnet18-cifar = resnet18-1.0-cifar, resnet18-0.5-cifar, "
            "mobilenetv2-1.0-cifar, ...) or an ArchSpec JSON.",
        ),
    ] = DEFAULT_TEACHER,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Checkpoint folder to write (default: ./teachers/DATA-ARCH).")
    ] = None,
    epochs: EpochsOption = DEFAULT_TEACHER_CONFIG.epochs,
    batch_size: BatchOption = DEFAULT_TEACHER_CONFIG.batch_size,
    optimizer: OptimizerOption = DEFAULT_TEACHER_CONFIG.optimizer,
    lr: LrOption = None,
    weight_decay: DecayOption = None,
    patience: PatienceOption = DEFAULT_TEACHER_CONFIG.patience,
    seed: SeedOption = 0,
    augment: AugmentOption = True,
    device: DeviceOption = None,
) -> None:
    """Train a teacher with cross-entropy and save it as a checkpoint folder (weights.pt, arch.json, metrics.json).

    Give the folder to `edgebench train --teacher PATH`. Without --teacher, distillation on a built-in data set uses
    a default teacher (resnet18-0.5-cifar) that edgebench trains once and caches.

    Example: edgebench teacher train --data cifar10:~/data/cifar-10-batches-py --arch resnet18-cifar --epochs 60
    """
    config = TrainConfig(epochs, batch_size, optimizer, lr, weight_decay, patience, seed, augment, device=device)
    with _progress() as bar:
        run = api.train_teacher(data, arch, output, config, _TrainBar(bar))
    _print_run(run)


@app.command("train")
@handles_errors
def train_cmd(
    arch: Annotated[
        str, typer.Option("--arch", "-a", help="The student: an ArchSpec JSON (of mbv2-cifar) or a built-in network.")
    ],
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            "-l",
            help="ce (labels only), kd (Hinton), kd-lrds (kd with label revision and data selection), oskd (online "
            "subclass self-distillation) or dml (deep mutual learning among peers); oskd and dml need no teacher.",
        ),
    ] = "kd",
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            "-t",
            help="A checkpoint folder from `edgebench teacher train` (default, on a built-in "
            "data set only: its default teacher, trained once and cached).",
        ),
    ] = None,
    data: DataOption = None,
    temperature: Annotated[
        float | None,
        typer.Option(help=f"kd, kd-lrds, oskd: softmax temperature T (default {HintonKD.temperature:g})."),
    ] = None,
    alpha: Annotated[
        float | None, typer.Option(help=f"kd, kd-lrds: weight of the distillation term (default {HintonKD.alpha:g}).")
    ] = None,
    eta: Annotated[
        float | None, typer.Option(help=f"kd-lrds: label-revision strength, 0..1 (default {RevisedKD.eta:g}).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help=f"kd-lrds: teacher's least true-class probability to distil (default {RevisedKD.threshold:g})."
        ),
    ] = None,
    weight: Annotated[
        float | None,
        typer.Option(help=f"oskd: weight of the subclass term, >= 0 (default {OnlineSubclassKD.weight:g})."),
    ] = None,
    neighbours: Annotated[
        int | None,
        typer.Option(
            help="oskd: same-class samples of the batch each sample is pulled towards "
            f"(default {OnlineSubclassKD.neighbours})."
        ),
    ] = None,
    peers: Annotated[
        int | None,
        typer.Option(
            help=f"dml: students trained together, >= 2 (default {MutualLearning.peers}); the best on validation is "
            "kept, and training takes about that many times as long."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the student as a checkpoint here.")
    ] = None,
    epochs: EpochsOption = TrainConfig.epochs,
    batch_size: BatchOption = TrainConfig.batch_size,
    optimizer: OptimizerOption = TrainConfig.optimizer,
    lr: LrOption = None,
    weight_decay: DecayOption = None,
    patience: PatienceOption = None,
    seed: SeedOption = 0,
    augment: AugmentOption = True,
    device: DeviceOption = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Where the default teacher is cached (default: $EDGEBENCH_CACHE or ~/.cache/edgebench)."),
    ] = None,
) -> None:
    """Train a student, from labels (ce), distilling a teacher (kd, kd-lrds) or without one (oskd, dml), and report
    its accuracy.

    kd mixes cross-entropy with the labels and T²-scaled KL to the teacher's softened outputs; kd-lrds first
    revises the teacher's wrong answers towards the label and distils only samples the teacher gets confidently
    right. oskd adds to cross-entropy a term pulling each sample's softened output towards those of its nearest
    same-class samples in the batch; dml trains --peers students together, each learning from the labels and the
    others' predictions, and keeps the best. Prints validation and test top-1, epochs, training images/s.

    Example: edgebench train -a student.json -l kd -t teachers/cifar10-resnet18-1.0-cifar --data cifar10:DIR
    """
    options = {"temperature": temperature, "alpha": alpha, "eta": eta, "threshold": threshold, "weight": weight,
               "neighbours": neighbours, "peers": peers}  # fmt: skip
    params = {k: v for k, v in options.items() if v is not None}
    config = TrainConfig(epochs, batch_size, optimizer, lr, weight_decay, patience, seed, augment, device=device)
    with _progress() as bar:
        run = api.train_student(arch, loss, data, teacher, params, config, output, cache_dir, _TrainBar(bar))
    _print_run(run)


class _SearchLog:
    """One line per candidate and baseline member, printed above the progress bar of trained candidates."""

    def __init__(self, bar: Progress, trials: int) -> None:
        self.bar, self.task = bar, bar.add_task("search: candidates trained", total=trials)

    def candidate(self, c: Candidate) -> None:
        acc = f"val {c.val_top1_pct:5.1f} %" if c.val_top1_pct is not None else ""
        self.bar.console.print(
            f"trial {c.trial:3d} {c.status:10} {c.predicted_ms:8.3f} ms ({c.latency_source}) {acc} {c.reason}",
            highlight=False,
        )
        if c.status == COMPLETE:
            self.bar.advance(self.task)

    def baseline(self, row: BaselineRow) -> None:
        _baseline_line(self.bar)(row)


def _baseline_line(bar: Progress) -> Callable[[BaselineRow], None]:
    """Prints one line per baseline member above the progress bars."""

    def line(row: BaselineRow) -> None:
        acc = f"val {row.val_top1_pct:5.1f} % ({row.accuracy_source})" if row.val_top1_pct is not None else row.reason
        bar.console.print(f"baseline {row.name:22} {row.latency_ms:8.3f} ms ({row.latency_source}) {acc}",
                          highlight=False)  # fmt: skip

    return line


def _print_search(result: api.SearchOutcome) -> None:
    counts = result.candidates["status"].value_counts().to_dict()
    out.print(
        f"{result.study}: {counts.get(COMPLETE, 0)} trained, {counts.get(INFEASIBLE, 0)} rejected over budget, "
        f"{counts.get(DUPLICATE, 0)} duplicates, {counts.get(FAILED, 0)} failed; the fastest architecture of the "
        f"space is {result.fastest_ms:.3f} ms ({result.latency_source})",
        highlight=False,
    )
    out.print(_front_table("Pareto front under the budget", result.front, result.baseline))
    out.print(
        f"results in {result.out_dir}: candidates.csv (every candidate), front.csv, baseline.csv; "
        f"study {result.storage} (rerun the same command to resume)",
        highlight=False,
        soft_wrap=True,
    )


def _front_table(title: str, front: pd.DataFrame, baseline: pd.DataFrame) -> Table:
    """Students and baselines with their latency and accuracy, each with what it is (source, accuracy of what)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    columns = ("network", "latency ms", "source", "estimated %", "val top-1 %", "test top-1 %", "accuracy of", "params")
    for col in columns:
        table.add_column(col, justify="left" if col in ("network", "source", "accuracy of") else "right")
    for r in front.itertuples():
        table.add_row(f"trial {r.trial}", f"{r.predicted_ms:.3f}", r.latency_source, _pct(r.estimated_pct),
                      _pct(r.val_top1_pct), _pct(r.test_top1_pct), r.accuracy_source, f"{r.params:,}")  # fmt: skip
    for b in baseline.itertuples():
        table.add_row(f"baseline {b.name}", f"{b.latency_ms:.3f}", b.latency_source, "-", _pct(b.val_top1_pct),
                      _pct(b.test_top1_pct), b.accuracy_source, f"{b.params:,}")  # fmt: skip
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.1f}"


def _print_one_shot(result: api.OneShotOutcome) -> None:
    p = result.estimator.predictor
    tau = "undefined" if p.cv_kendall_tau is None else f"{p.cv_kendall_tau:.2f}"
    out.print(
        f"{len(result.judged)} architectures judged under the budget by the estimator in {result.estimator.path} "
        f"(its predictor, fitted on {p.samples} scored sub-networks: held-out Kendall tau {tau}); the fastest of "
        f"the space is {result.fastest_ms:.3f} ms ({result.latency_source})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(_front_table("Students kept, over the estimated front", result.students, result.baseline))
    out.print(
        "estimated %: the estimator's prediction; val/test top-1: the saved network's own (inherited: weights from "
        "the supernet, BatchNorm recalibrated, its test top-1 left to `edgebench run`; fine-tuned: then trained "
        "further; trained: the final recipe)",
        highlight=False,
    )
    out.print(
        f"results in {result.out_dir}: candidates.csv (the students), judged.csv (every architecture judged), "
        "front.csv, baseline.csv, report.html; `edgebench run` converts and times the students",
        highlight=False,
        soft_wrap=True,
    )


class _PhaseBar:
    """Rich progress bars behind a (phase, step, total) callback: one bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, step: int, total: int) -> None:
        if phase not in self._tasks:
            self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(self._tasks[phase], completed=step, total=total)


@app.command("estimator")
@handles_errors
def estimator_cmd(
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    data: DataOption = None,
    teacher: Annotated[
        Path | None, typer.Option(help="Teacher checkpoint folder (default, on a built-in data set: the cached one).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Supernet training epochs.")] = SupernetConfig.epochs,
    largest_epochs: Annotated[
        int,
        typer.Option(min=0, help="Of them, the first that train the largest sub-network alone (before the sandwich)."),
    ] = SupernetConfig.largest_epochs,
    samples: Annotated[int, typer.Option(min=2, help="Sub-networks scored to fit the predictor.")] = DEFAULT_SAMPLES,
    seed: Annotated[int, typer.Option(help="The supernet's initial weights, shuffling and sub-networks drawn.")] = 0,
    device: DeviceOption = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Estimator and teacher cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
) -> None:
    """Train the accuracy estimator of a search space on a data set, once: a weight-sharing supernet distilled
    from the teacher, sub-networks scored with their BatchNorm recalibrated, and a predictor fitted on them.

    Searches of that space and data reuse it on any device and budget. It is cached per space, data, teacher and
    recipe, and refused for anything else; a killed build resumes from its last epoch or scored sub-network.

    Example: edgebench estimator --space mbv2-cifar
    """
    config = SupernetConfig(epochs=epochs, largest_epochs=largest_epochs, seed=seed, device=device)
    with _progress() as bar:
        result = api.estimator(space, data, teacher, config, samples, cache_dir, _PhaseBar(bar))
    p, trained = result.predictor, result.provenance.get("supernet")
    tau = "undefined" if p.cv_kendall_tau is None else f"{p.cv_kendall_tau:.2f}"
    out.print(f"estimator {result.path}", highlight=False, soft_wrap=True)
    if trained:
        largest, smallest = trained["largest_val_top1_pct"], trained["smallest_val_top1_pct"]
        out.print(f"supernet: validation top-1 of the largest sub-network {largest:.1f} %, of the smallest "
                  f"{smallest:.1f} % (BN recalibrated)", highlight=False)  # fmt: skip
    out.print(f"predictor on {p.samples} scored sub-networks: held-out Kendall tau {tau}, RMSE {p.cv_rmse:.2f} "
              "points (5-fold)", highlight=False)  # fmt: skip


@app.command("search")
@handles_errors
def search_cmd(
    latency: BudgetOption,
    device: TargetOption = "myriadx",
    backend: RuntimeBackendOption = None,
    precision: RuntimePrecisionOption = None,
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    method: Annotated[
        SearchMethod,
        typer.Option(help="proxy: train each candidate briefly (NSGA-II); oneshot: the space's cached estimator."),
    ] = SearchMethod.PROXY,
    trials: Annotated[int, typer.Option(min=1, help="proxy: candidates to train, all workers together.")] = 16,
    time_budget: Annotated[
        str | None, typer.Option(help="proxy: start no new candidate after this long, e.g. 10min or 600s.")
    ] = None,
    estimator: Annotated[
        Path | None,
        typer.Option(help="oneshot: an estimator folder `edgebench estimator` built (default: the cached one)."),
    ] = None,
    students: Annotated[
        int, typer.Option(min=1, help="oneshot: students kept, spread over the estimated front.")
    ] = OneShotSettings.students,
    finetune_epochs: Annotated[
        int, typer.Option(min=0, help="oneshot: epochs fine-tuning each student from its inherited weights.")
    ] = 0,
    distill: Annotated[
        str, typer.Option(help="Training loss: ce, kd, kd-lrds, oskd or dml (see `edgebench train`).")
    ] = "kd",
    data: DataOption = None,
    teacher: Annotated[
        Path | None, typer.Option(help="Teacher checkpoint folder (default, on a built-in data set: the cached one).")
    ] = None,
    epochs: Annotated[
        int, typer.Option(min=1, help="proxy: training epochs per candidate (and baseline).")
    ] = PROXY.epochs,
    proxy_resolution: Annotated[
        int, typer.Option(min=8, help="proxy: input side of training (the data's side trains at full size).")
    ] = PROXY.resolution or 32,
    seed: Annotated[int, typer.Option(help="Sampler and training seed.")] = 0,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (default: reports/search-DEVICE-...).")
    ] = None,
    overwrite: OverwriteOption = False,
    storage: Annotated[
        str | None,
        typer.Option(
            help="proxy: Optuna storage shared by workers, an RDB URL or a journal file (default: OUT/study.db)."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="proxy: join an existing study (error if there is none).")] = False,
    baseline: Annotated[
        bool,
        typer.Option(
            help="Compare with the MobileNetV2 width family (proxy: trained the same way; oneshot: "
            "trained once with the final recipe and cached)."
        ),
    ] = True,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="LUT, teacher and estimator cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench)."),
    ] = None,
) -> None:
    """Find the most accurate students under a latency budget on a device.

    Latency comes from the device's LUT (built, or estimated from its cost model, first if not cached). Accuracy,
    by --method: proxy (NSGA-II, Optuna) rejects candidates predicted over budget before any training and distils
    the others for a few epochs, scored on validation; the study is stored, so the same command resumes after
    Ctrl-C or kill -9, and workers given the same --storage share it. oneshot judges thousands of architectures in
    seconds with the space's weight-sharing estimator (built by `edgebench estimator` on first use, then cached for
    every device and budget), keeps --students spread over the estimated front, and scores each with the weights it
    inherits from the supernet (fine-tuned with --finetune-epochs); every number says which it is.

    Example: edgebench search --device myriadx --latency 15ms --method oneshot
    """
    if method is SearchMethod.ONESHOT:
        finetune = replace(FINETUNE, epochs=finetune_epochs, seed=seed) if finetune_epochs else None
        with _progress() as bar:
            shot = api.one_shot(device, latency, backend, precision, space, data, teacher, estimator, students,
                                finetune, distill, seed, out_dir, baseline, cache_dir, _Bar(bar), _PhaseBar(bar),
                                _TrainBar(bar), _baseline_line(bar), overwrite)  # fmt: skip
        _print_one_shot(shot)
        return
    config = replace(PROXY, epochs=epochs, resolution=proxy_resolution, seed=seed)
    budget_s = parse_ms(time_budget, "--time-budget") / 1000 if time_budget else None
    with _progress() as bar:
        log = _SearchLog(bar, trials)
        result = api.search(
            device, latency, backend, precision, space, trials, budget_s, distill, data, teacher, config, seed,
            out_dir, storage, resume, baseline, cache_dir, log.candidate, log.baseline, _Bar(bar), _TrainBar(bar),
            overwrite,
        )  # fmt: skip
    _print_search(result)


def _row_line(row: ResultRow) -> str:
    where = f"{escape(row.candidate)} {row.backend} {row.precision}"
    if row.status != "COMPLETE":
        return f"[red]FAILED[/] {where}: {escape(row.error)}"
    drop = (row.top1_pct or 0.0) - (row.reference_top1_pct or 0.0)
    return (f"{where}: top-1 {row.top1_pct:.2f} % ({drop:+.2f} vs PyTorch), {row.median_ms:.3f} ms "
            f"({row.source}), {(row.size_bytes or 0) / 1e6:.2f} MB")  # fmt: skip


@app.command("run")
@handles_errors
def run_cmd(
    candidates: Annotated[
        list[Path],
        typer.Argument(help="Search or prune output folders (or their candidates table), or checkpoint folders."),
    ],
    device: TargetOption = "host",
    backend: BackendsOption = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default: all the device runs)."),
    ] = None,
    data: DataOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (default: reports/run-DEVICE).")
    ] = None,
    overwrite: OverwriteOption = False,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads (default: the profile's).")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs before measuring.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs.")] = 100,
    timeout: Annotated[
        str, typer.Option(help="Per row: convert, score and time within this long, or fail (e.g. 10min).")
    ] = "10min",
    retry_failed: Annotated[bool, typer.Option(help="Rerun the rows an earlier run recorded as FAILED.")] = False,
    latency: Annotated[
        str | None, typer.Option("--latency", "-l", help="Budget the fronts and the report judge feasibility by.")
    ] = None,
) -> None:
    """Convert every candidate for each backend and precision the device runs, score the converted artifact on the
    test split, and time it (measured here, or estimated by the device's cost model).

    Each row runs in its own process with a timeout: a crash or a hang is a FAILED row with its reason, and the
    run goes on. Rows are appended to OUT/results.parquet and .csv as they finish; rerunning the same command
    skips them. Ends with OUT/report.html. Exit status 1 if a row failed, in this run or a kept earlier one (the
    others are kept; --retry-failed reruns the failed).

    Example: edgebench run reports/prune-host-onnxruntime-fp32-1.4ms-l1 students/ --device host -p fp32 -p int8
    """
    backends = [] if not backend or "all" in backend else backend
    timeout_s = parse_ms(timeout, "--timeout") / 1000
    budget_ms = parse_ms(latency, "--latency") if latency else None
    plan, rows = api.run(candidates, device, backends, precision or [], data, out_dir, threads, warmup, repeats,
                         timeout_s, retry_failed, overwrite)  # fmt: skip
    err.print(f"{len(plan.jobs)} rows to run on {plan.device} (latency {plan.source}); {plan.kept} kept from an "
              f"earlier run in {plan.table.directory}")  # fmt: skip
    failed = 0
    with _progress() as bar:
        task = bar.add_task("converting, scoring, timing", total=len(plan.jobs))
        for row in rows:
            failed += row.status != "COMPLETE"
            bar.console.print(_row_line(row), highlight=False, soft_wrap=True)
            bar.advance(task)
    summary = pareto.front_summary(pareto.fronts(plan.table.frame, budget_ms), budget_ms)
    table = Table(title="Pareto fronts (accuracy up, latency down)", box=box.SIMPLE_HEAD, show_edge=False)
    for col in summary.columns:
        table.add_column(col, justify="left" if col in pareto.GROUP else "right")
    for r in summary.itertuples(index=False):
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r))
    out.print(table)
    report = api.report(plan.table.directory, plan.table.directory / "report.html", latency)
    out.print(f"results in {plan.table.directory / 'results.parquet'} (and .csv), report in {report}")
    if failed:
        err.print(f"[red]{failed} of {len(plan.jobs)} rows failed[/]; their reasons are in the table")
    if plan.kept_failed:
        err.print(f"[red]{plan.kept_failed} rows kept from an earlier run are FAILED[/]; --retry-failed reruns them")
    if failed or plan.kept_failed:
        raise typer.Exit(1)


@app.command("report")
@handles_errors
def report_cmd(
    results: Annotated[Path, typer.Argument(help="A results table (results.parquet or .csv) or the folder of one.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file to write (default: reports/FOLDER.html).")
    ] = None,
    latency: Annotated[
        str | None, typer.Option("--latency", "-l", help="Budget to draw and judge feasibility by, e.g. 15ms.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Page title (default: the devices and backends).")] = None,
) -> None:
    """Render a results table as one self-contained HTML page: summary, Pareto plots per device, backend and
    precision, the precision drop, predicted vs measured latency, every row, and how each number was obtained.

    Example: edgebench report reports/run-host --latency 2ms --out reports/host.html
    """
    t0 = time.perf_counter()
    path = api.report(results, out_file, latency, title)
    out.print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB in {time.perf_counter() - t0:.1f} s)")


@app.command("agent")
def agent_cmd(
    host: Annotated[str, typer.Option(help="Address to bind; give 0.0.0.0 to accept other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    token_file: Annotated[
        Path | None, typer.Option(help="File holding the token (default: $EDGEBENCH_AGENT_TOKEN, else a new one).")
    ] = None,
    max_mb: Annotated[float, typer.Option(help="Largest request body accepted (artifact plus inputs).")] = 256.0,
    timeout: Annotated[float, typer.Option(help="Seconds a connection may stay silent.")] = 60.0,
    cache_mb: Annotated[
        float,
        typer.Option(help="Artifact bytes kept loaded between requests (lower it if the device runs out of memory)."),
    ] = 256.0,
) -> None:
    """Serve this machine's runtimes to a workstation: time and run the artifacts it sends (the measurement agent).

    Run it on the device, export the token it prints on the workstation, and give the device's profile
    connection: {agent: http://DEVICE:PORT, token_env: EDGEBENCH_AGENT_TOKEN}; then bench, profile and run measure
    there (source: agent). A device without edgebench runs a copy of edgebench/agent.py the same way.

    Example: edgebench agent --host 0.0.0.0 --port 8765
    """
    from edgebench import agent

    argv = ["--host", host, "--port", str(port), "--max-mb", str(max_mb), "--timeout", str(timeout),
            "--cache-mb", str(cache_mb)]  # fmt: skip
    agent.main(argv + (["--token-file", str(token_file)] if token_file else []))
