"""What every command shares: the consoles, one-line errors, the options that mean the same in every command, and
progress bars behind the library's callbacks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
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

from edgebench import api
from edgebench.distill.train import Optimizer, TrainStep
from edgebench.exceptions import ConfigError, EdgebenchError
from edgebench.spelling import cli_spelling

out = Console(emoji=False)  # a path or data spec like "imagefolder:one" is text, not an emoji code
err = Console(stderr=True, emoji=False)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: The device every command defaults to, and why.
DEFAULT_DEVICE = "myriadx"
DEVICE_HELP = (
    "Device profile name or YAML path. Default myriadx, the Intel Movidius Myriad X (NCS2) the project's anchors "
    "were measured on: estimated by its cost model unless an agent reaches it; --device host measures this machine."
)
DeviceOption = Annotated[str, typer.Option("--device", "-d", help=DEVICE_HELP)]
BackendsOption = Annotated[
    list[str] | None, typer.Option("--backend", "-b", help="Backend(s) (repeatable; default: all the device runs).")
]
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
TorchDeviceOption = Annotated[
    str | None, typer.Option("--torch-device", help="Where PyTorch trains: cpu, cuda, ... (default: CUDA if present).")
]
#: ``--device`` meant the torch device in the training commands before it meant a device profile everywhere.
OldTorchDeviceOption = Annotated[str | None, typer.Option("--device", hidden=True)]
OldOutputOption = Annotated[Path | None, typer.Option("--output", hidden=True)]


def renamed(new: T | None, old: T | None, old_flag: str, new_flag: str) -> T | None:
    """The value of an option given by its new spelling, or by its old one with a deprecation line."""
    if old is None:
        return new
    if new is not None:
        raise ConfigError(f"{old_flag} is the old spelling of {new_flag}: give {new_flag} only")
    err.print(f"[yellow]deprecated:[/] {old_flag} is now {new_flag}; the old spelling goes in the next release",
              highlight=False, soft_wrap=True)  # fmt: skip
    return old


def default_out(command: str, device: str, budget_ms: float, backend: str | None, precision: str | None,
                *extra: str) -> Path:  # fmt: skip
    """Where a search or a pruning writes unless given --out: ``reports/COMMAND-DEVICE-BACKEND-PREC-BUDGETms...``."""
    prof = api.device(device)
    backend, prec = api.runtime_for(prof, backend, precision)
    return Path("reports") / "-".join([command, prof.name, backend, str(prec), f"{budget_ms:g}ms", *extra])


def fail(exc: BaseException) -> None:
    """One ``error:`` line (the traceback only with --debug) and exit status 2."""
    if logging.getLogger("edgebench").isEnabledFor(logging.DEBUG):  # --debug
        err.print_exception()
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def handles_errors(fn: F) -> F:
    """Turn EdgebenchError into a one-line message and exit code 2 (traceback only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with cli_spelling():
                return fn(*args, **kwargs)
        except EdgebenchError as e:
            fail(e)
        except KeyboardInterrupt:
            err.print("interrupted: what was measured is kept; rerun the same command to resume")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.1f}"


def progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True)


class Bar:
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


class PhaseBar:
    """Rich progress bars behind a (phase, step, total) callback: one bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, step: int, total: int) -> None:
        if phase not in self._tasks:
            self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(self._tasks[phase], completed=step, total=total)


class TrainBar:
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
