"""``edgebench prune``: prune a trained network's channels to a latency budget on a device (Opti-Cut)."""

from __future__ import annotations

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
    RuntimeBackendOption,
    RuntimePrecisionOption,
    SeedOption,
    TrainBar,
    default_out,
    handles_errors,
    out,
    progress,
)
from edgebench.distill.train import TrainConfig
from edgebench.pruning.history import PruneStep
from edgebench.units import parse_ms


@handles_errors
def prune(
    latency: BudgetOption,
    device: DeviceOption = DEFAULT_DEVICE,
    backend: RuntimeBackendOption = None,
    precision: RuntimePrecisionOption = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            "-t",
            help="Checkpoint folder to prune (default, on a built-in data set: the cached "
            "default teacher). With --loss kd it also distils the pruned network.",
        ),
    ] = None,
    criterion: Annotated[
        str, typer.Option("--criterion", "-c", help="Which channels of a group go: l1, bn_scale, taylor or info.")
    ] = "l1",
    data: DataOption = None,
    finetune_every: Annotated[int, typer.Option(min=1, help="Pruning steps between short fine-tunes.")] = 8,
    finetune_epochs: Annotated[int, typer.Option(min=1, help="Epochs of each short fine-tune.")] = 1,
    final_epochs: Annotated[int, typer.Option(min=1, help="Epochs of the final fine-tune.")] = 10,
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            help="Fine-tuning loss: kd (from the unpruned network), kd-lrds, ce, oskd or dml (see `edgebench train`).",
        ),
    ] = "kd",
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
    few as save 3 % of the unpruned latency, and removes the cut whose saving per output change (KL on a scoring
    batch, with the cut zeroed and BatchNorm re-estimated) is best; short fine-tunes (--loss, by default KD from
    the unpruned network) run every few steps, and a final one at the end. Writes the pruned checkpoint (its
    history replays on the original network), history.json and a candidates.csv row of kind 'pruned'.

    Example: edgebench prune --device host --latency 1.2ms --criterion info
    """
    budget_ms = parse_ms(latency, "--latency")
    out_dir = out_dir or default_out("prune", device, budget_ms, backend, precision, criterion)
    finetune = TrainConfig(epochs=finetune_epochs, seed=seed)
    final = TrainConfig(epochs=final_epochs, seed=seed)
    with progress() as bar:

        def step(s: PruneStep) -> None:
            bar.console.print(f"step {s.step:3d} {s.root:24} -{len(s.channels):3d} ch  -> {s.predicted_ms:8.3f} ms "
                              f"predicted", highlight=False)  # fmt: skip

        result = api.prune(device=device, budget_ms=budget_ms, backend=backend, precision=precision, teacher=teacher,
                           criterion=criterion, data=data, finetune_every=finetune_every, finetune=finetune,
                           final=final, loss=loss, out=out_dir, overwrite=overwrite, cache_dir=cache_dir,
                           progress=Bar(bar), on_step=step, train_progress=TrainBar(bar))  # fmt: skip
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
