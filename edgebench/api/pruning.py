"""Pruning a trained network to a latency budget on a device."""

from __future__ import annotations

import copy
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgebench import outputs
from edgebench.api.provenance import calibration_error
from edgebench.api.resolve import budget, runtime_for
from edgebench.api.resolve import device as as_device
from edgebench.api.training import role, teacher_for
from edgebench.data import load_data
from edgebench.devices import DeviceProfile
from edgebench.distill import networks
from edgebench.distill.checkpoint import Checkpoint, save_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig, TrainStep
from edgebench.lut.builder import Progress
from edgebench.lut.store import default_cache_dir, writable_cache
from edgebench.pruning.history import PruneStep
from edgebench.pruning.importance import get_criterion
from edgebench.pruning.latency import LayerTable, build_layer_table, pruning_multiple
from edgebench.pruning.loop import PruneConfig, PruneResult, prune_to_budget
from edgebench.reporting import write_report
from edgebench.results import from_candidates
from edgebench.searching.nas import (
    Candidate,
)
from edgebench.types import AccuracySource, Precision, Source, Status


@dataclass(frozen=True)
class PruneOutcome:
    """A finished pruning run: its results-table row, the pruning result, the layer table and where it all is."""

    row: Candidate
    result: PruneResult
    table: LayerTable
    teacher_test_top1_pct: float | None
    out: Path | None

    def to_dataframe(self) -> pd.DataFrame:
        """The pruned network as one results-table row (latency predicted from the layer table, labelled)."""
        return pd.DataFrame([self.row.to_dict()])


def prune(
    *,
    device: str | DeviceProfile,
    budget_ms: float,
    backend: str | None = None,
    precision: str | Precision | None = None,
    teacher: Path | None = None,
    criterion: str = "l1",
    data: str | None = None,
    finetune_every: int = 8,
    finetune: TrainConfig | None = None,
    final: TrainConfig | None = None,
    loss: str = "kd",
    out: Path | None = None,
    overwrite: bool = False,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    on_step: Callable[[PruneStep], None] | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
) -> PruneOutcome:
    """Prune a trained network (the default teacher by default) to a latency budget on a device, fine-tuning it
    with ``loss`` (by default ``kd``: distilled from its unpruned self; ``ce``, ``oskd`` and ``dml`` use the labels
    and the network alone). With ``out``, writes the pruned checkpoint (``student/``), its ``history.json``, its
    results-table row (``candidates.csv``/``.parquet``) and ``report.html`` there; without, the checkpoint goes
    to a temporary folder, so ``edgebench run`` can still convert it.

    Raises:
        ConfigError, UnknownNameError: bad device, runtime, data, teacher, criterion or loss; a budget below what
            pruning can reach (nothing is pruned then).
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = budget(budget_ms)
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    get_criterion(criterion)
    distill_loss = get_loss(loss)
    images = load_data(data)
    finetune, final = finetune or TrainConfig(epochs=1), final or TrainConfig(epochs=10)
    if out is not None:
        identity = {"device": prof.name, "backend": backend, "precision": prec, "budget_ms": budget_ms,
                    "teacher": teacher, "criterion": criterion, "data": images.name, "finetune_every": finetune_every,
                    "finetune": finetune.to_dict(), "final": final.to_dict(), "loss": loss}  # fmt: skip
        outputs.claim(out, "prune", identity, overwrite)
    # the network to prune, found as kd's teacher would be (whatever the fine-tuning loss)
    checkpoint = teacher_for(get_loss("kd"), teacher, images, data, cache_dir, role(train_progress, "default teacher"))
    assert checkpoint is not None
    table = build_layer_table(checkpoint.network, checkpoint.classes, prof, backend, prec,
                              cache_dir or default_cache_dir(), progress=progress)  # fmt: skip
    config = PruneConfig(budget_ms, criterion, pruning_multiple(prof, backend), finetune_every, finetune, final,
                         loss=loss)  # fmt: skip
    student = copy.deepcopy(checkpoint.module)
    result = prune_to_budget(student, checkpoint.input_shape, table, images, checkpoint.module, config, on_step,
                             role(train_progress, f"{loss} fine-tune"))  # fmt: skip
    where = out or Path(tempfile.mkdtemp(prefix="edgebench-prune-"))
    folder = save_checkpoint(where / "student", checkpoint.network, result.module, checkpoint.classes, images.name,
                             distill_loss, config.final, result.final, pruning=result.history)  # fmt: skip
    row = Candidate(
        trial=0,
        arch=networks.label(checkpoint.network),
        predicted_ms=round(result.predicted_ms, 6),
        latency_source=str(Source.of_sum(table.source)),
        status=Status.COMPLETE.value,
        val_top1_pct=result.final.val_top1_pct,
        test_top1_pct=result.final.test_top1_pct,
        params=sum(p.numel() for p in result.module.parameters()),
        train_s=round(result.final.wall_time_s, 1),
        kind="pruned",
        checkpoint=str(folder.resolve()),
        accuracy_source=str(AccuracySource.FINETUNED),
    )
    outcome = PruneOutcome(row, result, table, checkpoint.test_top1_pct, out)
    if out is not None:
        _write(outcome, checkpoint, prof, backend, prec, images.name, budget_ms)
    return outcome


def _write(outcome: PruneOutcome, checkpoint: Checkpoint, prof: DeviceProfile, backend: str, prec: Precision,
           data: str, budget_ms: float) -> None:  # fmt: skip
    """The pruning's history, its results-table row and its report, in its ``out`` folder."""
    assert outcome.out is not None
    result, table = outcome.result, outcome.table
    result.history.save(outcome.out / "history.json")
    frame = outcome.to_dataframe()
    unpruned = {
        "name": networks.label(checkpoint.network),
        "latency_ms": result.unpruned_ms,
        "reason": "",
        "latency_source": str(Source.of_sum(table.source)),
        "status": Status.COMPLETE.value,
        "test_top1_pct": checkpoint.test_top1_pct,
        "params": sum(p.numel() for p in checkpoint.module.parameters()),
        "checkpoint": str(checkpoint.path),
        "accuracy_source": str(AccuracySource.TRAINED),
    }
    title = (f"pruning on {prof.name} ({backend} {prec}): PyTorch test top-1, latency predicted from the layer "
             "table; the unpruned network is the baseline")  # fmt: skip
    error = calibration_error(prof, backend, prec) if table.source is Source.ESTIMATED else None
    env = {"threads": prof.threads, "host": platform.node(), "calibration_rmspe_pct": error,
           "fit_rmspe_pct": 100 * table.fit_rmspe if table.networks else None}  # fmt: skip
    results = from_candidates(frame, pd.DataFrame([unpruned]), prof.name, backend, str(prec), data,
                              environment=env)  # fmt: skip
    outputs.write_tables(outcome.out, {"candidates": frame, "results": results})
    write_report(results, outcome.out / "report.html", budget_ms, title)
