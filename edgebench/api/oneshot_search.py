"""Searching a space under a latency budget, the one-shot route: a weight-sharing estimator judges, once for all."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgebench import outputs, pareto, shipped
from edgebench.api.provenance import environment
from edgebench.api.proxy_search import space_under
from edgebench.api.resolve import budget, runtime_for
from edgebench.api.resolve import device as as_device
from edgebench.api.training import role, teacher_for, trainable_space
from edgebench.data import load_data
from edgebench.devices import DeviceProfile
from edgebench.distill.checkpoint import METRICS
from edgebench.distill.losses import get_loss
from edgebench.distill.train import FINAL, TrainConfig, TrainStep
from edgebench.lut.builder import Progress
from edgebench.lut.predictor import Predictor
from edgebench.lut.store import default_cache_dir, writable_cache
from edgebench.reporting import write_report
from edgebench.results import from_candidates
from edgebench.searching.baseline import WIDTHS, BaselineRow, baseline_family, family_dir, network_name
from edgebench.searching.estimator import AccuracyEstimator, build_estimator, load_estimator
from edgebench.searching.evolution import EvolutionSettings
from edgebench.searching.nas import Candidate
from edgebench.searching.oneshot import OneShotSettings, Student, one_shot_search
from edgebench.types import AccuracySource, Precision, Status


@dataclass(frozen=True)
class OneShotOutcome:
    """A finished one-shot search: the students kept (scored and saved), every architecture the estimator judged
    under the budget, the baseline family, the students' front, the estimator used and where it all is
    (``out_dir`` None: no tables were written)."""

    students: pd.DataFrame
    judged: pd.DataFrame
    baseline: pd.DataFrame
    front: pd.DataFrame
    fastest_ms: float
    latency_source: str
    estimator: AccuracyEstimator
    out_dir: Path | None

    def to_dataframe(self) -> pd.DataFrame:
        """The students kept: architecture, predicted latency and its source, accuracies (labelled) and checkpoint."""
        return self.students


def one_shot(
    *,
    device: str | DeviceProfile,
    budget_ms: float,
    backend: str | None = None,
    precision: str | Precision | None = None,
    space: str = "mbv2-cifar",
    data: str | None = None,
    teacher: Path | None = None,
    estimator: Path | None = None,
    students: int = OneShotSettings.students,
    finetune: TrainConfig | None = None,
    loss: str = "kd",
    seed: int = 0,
    baseline: bool = True,
    out: Path | None = None,
    overwrite: bool = False,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    steps: Callable[[str, int, int], None] | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
    on_baseline: Callable[[BaselineRow], None] | None = None,
) -> OneShotOutcome:
    """Search ``space`` under ``budget_ms`` on a device with its weight-sharing accuracy estimator (the
    once-for-all route): built once per space, data and teacher (hours; then cached) and reused by every device and
    budget, so the search itself takes seconds. An evolutionary search finds the estimated front under the budget;
    ``students`` spread over it are scored with their inherited weights (BatchNorm recalibrated), fine-tuned with
    ``finetune`` when given, and saved for ``edgebench run``. The baseline family is trained once with the final
    recipe (cached) and priced on the device. With ``out``, writes ``candidates.csv``/``.parquet`` (the students),
    ``judged.csv`` (every architecture judged, with its estimate), ``front.csv``, ``baseline.csv``,
    ``report.html`` and the students' checkpoints there (else the checkpoints go to a temporary folder); ``steps``
    reports the estimator's and the search's (phase, step, total).

    ``estimator`` is a folder ``edgebench estimator`` built (with any recipe) for this space, data and teacher;
    by default, the cached one of the default recipe, built now if there is none.

    Raises:
        InfeasibleBudgetError: not even the fastest architecture of the space meets the budget.
        ConfigError, UnknownNameError: bad device, runtime, space, data, teacher or loss; an estimator built for
            another space, data or teacher.
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = budget(budget_ms)
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    trainable = trainable_space(space)
    distill_loss = get_loss(loss)
    images = load_data(data)
    if out is not None:
        identity = {"method": "oneshot", "device": prof.name, "backend": backend, "precision": prec,
                    "budget_ms": budget_ms, "space": trainable.name, "data": images.name, "teacher": teacher,
                    "estimator": estimator, "students": students,
                    "finetune": finetune.to_dict() if finetune else None, "loss": loss, "seed": seed,
                    "baseline": baseline}  # fmt: skip
        outputs.claim(out, "search", identity, overwrite)
    sp = trainable.for_device(prof.channel_multiple)
    predictor, fastest = space_under(prof, backend, prec, sp, budget_ms, cache_dir, progress)
    kd = get_loss("kd")  # the supernet distils the teacher, whatever loss fine-tunes the students
    checkpoint = teacher_for(kd, teacher, images, data, cache_dir, role(train_progress, "default teacher"))
    teacher_module = checkpoint.module if checkpoint is not None and distill_loss.needs_teacher else None
    if estimator is None:
        judge = build_estimator(trainable, images, checkpoint, cache_dir, progress=steps)
    else:
        judge = load_estimator(estimator)
        judge.require(trainable, images, checkpoint)
    settings = OneShotSettings(students, finetune, EvolutionSettings(seed=seed))
    checkpoints = out / "checkpoints" if out else Path(tempfile.mkdtemp(prefix="edgebench-oneshot-"))
    judged, kept = one_shot_search(predictor, judge, images, distill_loss, teacher_module, budget_ms, settings,
                                   checkpoints, steps)  # fmt: skip
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
    if out is not None:
        how = f"fine-tuned {finetune.epochs} epoch(s) from the weights" if finetune else "the weights"
        title = (f"one-shot search on {prof.name} ({backend} {prec}): students' PyTorch validation top-1 with {how} "
                 "inherited from the supernet, baselines' after the final recipe; latency predicted from the LUT; "
                 "`edgebench run` scores the converted networks on the test split and times them")  # fmt: skip
        env = environment(prof, backend, prec, predictor.table.meta)
        results = from_candidates(rows, base, prof.name, backend, str(prec), images.name, "val", env)
        outputs.write_tables(out, {"candidates": rows, "judged": table, "baseline": base, "front": best,
                                   "results": results})  # fmt: skip
        write_report(results, out / "report.html", budget_ms, title)
    return OneShotOutcome(rows, table, base, best, fastest.latency_ms, fastest.source, judge, out)


def _student_row(number: int, student: Student, predictor: Predictor) -> Candidate:
    """A kept student as a search candidate, labelled with what its accuracies are."""
    source = AccuracySource.FINETUNED if student.finetuned else AccuracySource.INHERITED
    return Candidate(number, student.arch.to_json(), student.predicted_ms, predictor.source, Status.COMPLETE.value,
                     "", student.val_top1_pct, student.test_top1_pct, student.params, student.train_s, "nas",
                     student.checkpoint, str(source), student.estimated_pct)  # fmt: skip
