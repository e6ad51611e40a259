"""``edgebench teacher train`` and ``edgebench train``: train a teacher, or a student with one of the losses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from edgebench import api
from edgebench.cli.common import (
    AugmentOption,
    BatchOption,
    DataOption,
    DecayOption,
    EpochsOption,
    LrOption,
    OldOutputOption,
    OldTorchDeviceOption,
    OptimizerOption,
    PatienceOption,
    SeedOption,
    TorchDeviceOption,
    TrainBar,
    handles_errors,
    out,
    progress,
    renamed,
)
from edgebench.cli.loss_options import (
    AlphaOption,
    EtaOption,
    NeighboursOption,
    PeersOption,
    RampupOption,
    TemperatureOption,
    ThresholdOption,
    WeightOption,
)
from edgebench.distill.teacher import DEFAULT_TEACHER, DEFAULT_TEACHER_CONFIG
from edgebench.distill.train import TrainConfig

teacher_app = typer.Typer(
    help="Train teachers to distil students from.\n\n"
    "Example: edgebench teacher train --data cifar10:~/data/cifar-10-batches-py --arch resnet18-cifar",
    no_args_is_help=True,
)


def print_run(run: api.TrainRun) -> None:
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


@teacher_app.command("train")
@handles_errors
def teacher_train(
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
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Checkpoint folder to write (default: ./teachers/DATA-ARCH).")
    ] = None,
    old_output: OldOutputOption = None,
    epochs: EpochsOption = DEFAULT_TEACHER_CONFIG.epochs,
    batch_size: BatchOption = DEFAULT_TEACHER_CONFIG.batch_size,
    optimizer: OptimizerOption = DEFAULT_TEACHER_CONFIG.optimizer,
    lr: LrOption = None,
    weight_decay: DecayOption = None,
    patience: PatienceOption = DEFAULT_TEACHER_CONFIG.patience,
    seed: SeedOption = 0,
    augment: AugmentOption = True,
    torch_device: TorchDeviceOption = None,
    old_device: OldTorchDeviceOption = None,
) -> None:
    """Train a teacher with cross-entropy and save it as a checkpoint folder (weights.pt, arch.json, metrics.json).

    Give the folder to `edgebench train --teacher PATH`. Without --teacher, distillation on a built-in data set uses
    a default teacher (resnet18-0.5-cifar) that edgebench trains once and caches.

    Example: edgebench teacher train --data cifar10:~/data/cifar-10-batches-py --arch resnet18-cifar --epochs 60
    """
    out_dir = renamed(out_dir, old_output, "--output", "--out")
    device = renamed(torch_device, old_device, "--device", "--torch-device")
    config = TrainConfig(epochs, batch_size, optimizer, lr, weight_decay, patience, seed, augment, device=device)
    with progress() as bar:
        run = api.train_teacher(arch, data=data, config=config, out=out_dir, progress=TrainBar(bar))
    print_run(run)


@handles_errors
def train(
    arch: Annotated[
        str, typer.Option("--arch", "-a", help="The student: an ArchSpec JSON (of mbv2-cifar) or a built-in network.")
    ],
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            help="ce (labels only), kd (Hinton), kd-lrds (kd with label revision and data selection), oskd (online "
            "subclass self-distillation) or dml (deep mutual learning among peers); oskd and dml need no teacher.",
        ),
    ] = "kd",
    old_loss: Annotated[str | None, typer.Option("-l", hidden=True)] = None,
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
    temperature: TemperatureOption = None,
    alpha: AlphaOption = None,
    eta: EtaOption = None,
    threshold: ThresholdOption = None,
    weight: WeightOption = None,
    neighbours: NeighboursOption = None,
    peers: PeersOption = None,
    rampup: RampupOption = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Save the student as a checkpoint here.")] = None,
    old_output: OldOutputOption = None,
    epochs: EpochsOption = TrainConfig.epochs,
    batch_size: BatchOption = TrainConfig.batch_size,
    optimizer: OptimizerOption = TrainConfig.optimizer,
    lr: LrOption = None,
    weight_decay: DecayOption = None,
    patience: PatienceOption = None,
    seed: SeedOption = 0,
    augment: AugmentOption = True,
    torch_device: TorchDeviceOption = None,
    old_device: OldTorchDeviceOption = None,
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

    Example: edgebench train -a student.json --loss kd -t teachers/cifar10-resnet18-1.0-cifar --data cifar10:DIR
    """
    loss = renamed(None, old_loss, "-l", "--loss") or loss
    out_dir = renamed(out_dir, old_output, "--output", "--out")
    device = renamed(torch_device, old_device, "--device", "--torch-device")
    options = {"temperature": temperature, "alpha": alpha, "eta": eta, "threshold": threshold, "weight": weight,
               "neighbours": neighbours, "peers": peers, "rampup": rampup}  # fmt: skip
    params = {k: v for k, v in options.items() if v is not None}
    config = TrainConfig(epochs, batch_size, optimizer, lr, weight_decay, patience, seed, augment, device=device)
    with progress() as bar:
        run = api.train_student(arch, loss=loss, data=data, teacher=teacher, loss_params=params, config=config,
                                out=out_dir, cache_dir=cache_dir, progress=TrainBar(bar))  # fmt: skip
    print_run(run)
