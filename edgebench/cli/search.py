"""``edgebench search``: the most accurate students under a latency budget on a device (proxy or one-shot)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from edgebench import api
from edgebench.cli.common import (
    DEFAULT_DEVICE,
    Bar,
    BudgetOption,
    DataOption,
    DeviceOption,
    OverwriteOption,
    PhaseBar,
    RuntimeBackendOption,
    RuntimePrecisionOption,
    TrainBar,
    default_out,
    fail,
    handles_errors,
    progress,
)
from edgebench.cli.search_render import SearchLog, baseline_line, print_one_shot, print_search
from edgebench.searching.nas import PROXY
from edgebench.searching.oneshot import FINETUNE, OneShotSettings
from edgebench.types import SearchMethod
from edgebench.units import parse_ms

#: Options that only one method reads, by the method.
METHOD_OPTIONS = {
    SearchMethod.PROXY: ("trials", "time_budget", "epochs", "proxy_resolution", "storage", "resume"),
    SearchMethod.ONESHOT: ("estimator", "students", "finetune_epochs"),
}


def _on_command_line(ctx: typer.Context, name: str) -> bool:
    # by name: typer vendors its own click, so click's ParameterSource is not the enum it returns
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"


def refuse_other_methods_options(ctx: typer.Context, method: SearchMethod) -> None:
    """Exit 2 naming an option given on the command line that ``method`` would silently ignore."""
    (other,) = set(METHOD_OPTIONS) - {method}
    for name in METHOD_OPTIONS[other]:
        if _on_command_line(ctx, name):
            flag = "--" + name.replace("_", "-")
            fail(ValueError(f"{flag} applies to --method {other} only, and this search is --method {method}: add "
                            f"--method {other}, or drop {flag}"))  # fmt: skip


@handles_errors
def search(
    ctx: typer.Context,
    latency: BudgetOption,
    device: DeviceOption = DEFAULT_DEVICE,
    backend: RuntimeBackendOption = None,
    precision: RuntimePrecisionOption = None,
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    method: Annotated[
        SearchMethod,
        typer.Option(help="oneshot: the space's cached estimator; proxy: train each candidate briefly (NSGA-II)."),
    ] = SearchMethod.ONESHOT,
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
    by --method: oneshot (the default) judges thousands of architectures in seconds with the space's weight-sharing
    estimator (the default task's ships with the package; any other is built by `edgebench estimator` on first use,
    then cached for every device and budget), keeps --students spread over the estimated front, and scores each with
    the weights it inherits from the supernet (fine-tuned with --finetune-epochs); every number says which it is.
    proxy (NSGA-II, Optuna) rejects candidates predicted over budget before any training and distils the others for
    a few epochs, scored on validation; the study is stored, so the same command resumes after Ctrl-C or kill -9,
    and workers given the same --storage share it.

    Example: edgebench search --device myriadx --latency 15ms
    """
    refuse_other_methods_options(ctx, method)
    budget_ms = parse_ms(latency, "--latency")
    if method is SearchMethod.ONESHOT:
        finetune = replace(FINETUNE, epochs=finetune_epochs, seed=seed) if finetune_epochs else None
        with progress() as bar:
            shot = api.one_shot(
                device=device, budget_ms=budget_ms, backend=backend, precision=precision, space=space, data=data,
                teacher=teacher, estimator=estimator, students=students, finetune=finetune, loss=distill, seed=seed,
                baseline=baseline, out=out_dir or default_out("oneshot", device, budget_ms, backend, precision),
                overwrite=overwrite, cache_dir=cache_dir, progress=Bar(bar), steps=PhaseBar(bar),
                train_progress=TrainBar(bar), on_baseline=baseline_line(bar),
            )  # fmt: skip
        print_one_shot(shot)
        return
    config = replace(PROXY, epochs=epochs, resolution=proxy_resolution, seed=seed)
    budget_s = parse_ms(time_budget, "--time-budget") / 1000 if time_budget else None
    with progress() as bar:
        log = SearchLog(bar, trials)
        result = api.search(
            device=device, budget_ms=budget_ms, backend=backend, precision=precision, space=space, trials=trials,
            time_budget_s=budget_s, loss=distill, data=data, teacher=teacher, proxy=config, seed=seed,
            baseline=baseline, out=out_dir or default_out("search", device, budget_ms, backend, precision),
            storage=storage, resume=resume, overwrite=overwrite, cache_dir=cache_dir, on_candidate=log.candidate,
            on_baseline=log.baseline, progress=Bar(bar), train_progress=TrainBar(bar),
        )  # fmt: skip
    print_search(result)
