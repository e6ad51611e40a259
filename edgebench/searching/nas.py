"""Hardware-aware NAS: Optuna's NSGA-II over a search space, maximising accuracy and minimising latency, with the
latency budget as a hard constraint.

Latency comes from the device's LUT predictor, so a candidate predicted over budget is recorded ``INFEASIBLE``
and never trained; accuracy comes from a short distillation of the candidate (the proxy). The study lives in an
Optuna storage (SQLite by default), so a killed search resumes and several workers can share one study.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from torch import nn

from edgebench.data import ImageData
from edgebench.distill.checkpoint import save_checkpoint
from edgebench.distill.losses import DistillLoss
from edgebench.distill.train import TrainConfig, TrainResult, train
from edgebench.exceptions import ConfigError, error_text
from edgebench.lut.predictor import Predictor
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch
from edgebench.searching.storage import patiently, waiting_retries
from edgebench.spelling import option
from edgebench.types import AccuracySource, Status

#: Proposals in a row that train nothing (over budget, duplicate, failed) after which the search gives up.
MAX_FRUITLESS = 100
#: How a candidate is trained to score it: a few epochs at 16x16 without augmentation (so the teacher's outputs are
#: computed once), about 8x cheaper than a 32x32 epoch with the teacher's forward pass per step.
PROXY = TrainConfig(epochs=4, patience=None, augment=False, resolution=16)


@dataclass(frozen=True)
class SearchSettings:
    """What a search optimises and how long it runs.

    Attributes:
        budget_ms: hard latency budget on the device (LUT prediction).
        trials: candidates to train, over all workers sharing the study (rejected ones do not count).
        time_budget_s: stop starting new candidates after this long (None: no limit).
        proxy: how each candidate is trained to estimate its accuracy (a short schedule).
        population: NSGA-II population; the first generation is drawn from the architectures under budget.
        seed: sampler seed (each worker offsets it by its trial numbers, so workers do not repeat each other).
    """

    budget_ms: float
    trials: int = 16
    time_budget_s: float | None = None
    proxy: TrainConfig = field(default_factory=lambda: PROXY)
    population: int = 8
    seed: int = 0

    def identity(self) -> dict[str, Any]:
        """What must match for a worker to join (or resume) a study."""
        return {"budget_ms": self.budget_ms, "proxy": self.proxy.to_dict(), "population": self.population}


@dataclass(frozen=True)
class Candidate:
    """One row of a search: an architecture, its predicted latency and where it came from, and its accuracy."""

    trial: int
    arch: str  # ArchSpec JSON
    predicted_ms: float
    latency_source: str
    status: str  # a Status: COMPLETE, INFEASIBLE, DUPLICATE or FAILED
    reason: str = ""
    val_top1_pct: float | None = None
    test_top1_pct: float | None = None
    params: int = 0
    train_s: float = 0.0
    kind: str = "nas"  # "nas" (arch: an ArchSpec JSON) or "pruned" (arch: the network, checkpoint: its folder)
    checkpoint: str = ""
    accuracy_source: str = str(AccuracySource.PROXY)  # what val_top1_pct and test_top1_pct are the top-1 of
    estimated_pct: float | None = None  # the one-shot search's accuracy predictor, before the student was scored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Objective:
    """Turns an Optuna trial into an architecture, rejects it by the budget, else trains and scores it."""

    space: SearchSpace
    predictor: Predictor
    data: ImageData
    loss: DistillLoss
    teacher: nn.Module | None
    settings: SearchSettings
    on_candidate: Callable[[Candidate], None] | None = None
    checkpoints: Path | None = None  # each trained candidate is saved here as trial-NNNN (``edgebench run`` reads it)

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        arch = suggest_arch(trial, self.space)
        prediction = self.predictor.predict(arch)
        ms = prediction.latency_ms
        trial.set_user_attr("arch", arch.to_json())
        trial.set_user_attr("predicted_ms", ms)
        trial.set_user_attr("latency_source", prediction.source)
        trial.set_constraint("over_budget_ms", ms - self.settings.budget_ms)  # NSGA-II ranks feasible trials first
        if ms > self.settings.budget_ms:
            trial.set_user_attr("status", Status.INFEASIBLE.value)
            trial.set_user_attr("reason", f"predicted {ms:.3f} ms > budget {self.settings.budget_ms:g} ms")
            self._report(trial)
            return 0.0, ms
        first = _other_with(trial.study, arch.to_json(), trial.number)
        if first is not None:  # trained, or being trained by another worker: never train it twice
            trial.set_user_attr("status", Status.DUPLICATE.value)
            trial.set_user_attr("reason", f"same architecture as trial {first.number}")
            self._report(trial)
            if first.user_attrs.get("status") == Status.COMPLETE:
                return first.user_attrs["val_top1_pct"], ms
            raise optuna.TrialPruned(f"same architecture as trial {first.number}, still running")
        with torch.random.fork_rng():
            torch.manual_seed(self.settings.proxy.seed)
            module = self.space.model_copy(update={"classes": self.data.classes}).build(arch)
        trial.set_user_attr("params", sum(p.numel() for p in module.parameters()))
        try:
            module, result = train(module, self.data, self.loss, self.teacher, self.settings.proxy)
        except Exception as e:  # one broken candidate must not end the search
            trial.set_user_attr("status", Status.FAILED.value)
            trial.set_user_attr("reason", error_text(e))
            self._report(trial)
            raise
        if self.checkpoints is not None:
            folder = self.checkpoints / f"trial-{trial.number:04d}"
            save_checkpoint(folder, arch, module, self.data.classes, self.data.name, self.loss, self.settings.proxy,
                            result, space=self.space)  # fmt: skip
            trial.set_user_attr("checkpoint", str(folder.resolve()))
        _record(trial, result)
        self._report(trial)
        return result.val_top1_pct, ms

    def _report(self, trial: optuna.Trial) -> None:
        if self.on_candidate:
            self.on_candidate(candidate_of(trial.number, trial.user_attrs))


def _other_with(study: optuna.Study, arch: str, number: int) -> optuna.trial.FrozenTrial | None:
    """Another trial with this architecture that trained it (preferred) or holds it now, whatever its number.

    A trial's ``arch`` attribute is its claim, set before this check: of two workers that propose one
    architecture at once, the one that checks second sees the first's claim and yields (both may yield, never
    both train); looking only at earlier trials would let a later trial that checked first train it beside one.
    """
    same = [t for t in study.get_trials(deepcopy=False) if t.number != number and t.user_attrs.get("arch") == arch]
    done = [t for t in same if t.user_attrs.get("status") == Status.COMPLETE]
    live = [t for t in same if t.state is optuna.trial.TrialState.RUNNING and "status" not in t.user_attrs]
    return next(iter(done + live), None)


def _record(trial: optuna.Trial, result: TrainResult) -> None:
    trial.set_user_attr("status", Status.COMPLETE.value)
    trial.set_user_attr("val_top1_pct", result.val_top1_pct)
    trial.set_user_attr("test_top1_pct", result.test_top1_pct)
    trial.set_user_attr("train_s", result.wall_time_s)


def _param(stage: int, slot: int | None, name: str) -> str:
    return f"s{stage}.{name}" if slot is None else f"s{stage}.b{slot}.{name}"


def suggest_arch(trial: optuna.Trial, space: SearchSpace) -> ArchSpec:
    """An architecture from one categorical parameter per decision; every slot up to the stage's maximum depth
    is always suggested, so NSGA-II sees one fixed-length genome (slots past the depth are ignored)."""
    stages = []
    for i, s in enumerate(space.stages):
        width = trial.suggest_categorical(_param(i, None, "width"), s.width)
        depth = trial.suggest_categorical(_param(i, None, "depth"), s.depth)
        blocks = []
        for j in range(max(s.depth)):
            b = BlockArch(
                trial.suggest_categorical(_param(i, j, "expansion"), s.expansion),
                trial.suggest_categorical(_param(i, j, "kernel"), s.kernel),
                trial.suggest_categorical(_param(i, j, "se"), s.se),
            )
            blocks.append(b)
        stages.append(StageArch(width, tuple(blocks[:depth])))
    return ArchSpec(space.name, tuple(stages))


def arch_params(arch: ArchSpec, space: SearchSpace) -> dict[str, Any]:
    """The trial parameters that :func:`suggest_arch` turns into ``arch`` (unused slots repeat the last block)."""
    params: dict[str, Any] = {}
    for i, (stage, s) in enumerate(zip(arch.stages, space.stages, strict=True)):
        params[_param(i, None, "width")], params[_param(i, None, "depth")] = stage.width, len(stage.blocks)
        for j in range(max(s.depth)):
            b = stage.blocks[min(j, len(stage.blocks) - 1)]
            for name in ("expansion", "kernel", "se"):
                params[_param(i, j, name)] = getattr(b, name)
    return params


def feasible_seeds(predictor: Predictor, budget_ms: float, n: int, seed: int, draws: int = 20000) -> list[ArchSpec]:
    """``n`` random architectures under budget, spread over the feasible latency range (the first generation)."""
    space, rng = predictor.space, random.Random(seed)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(draws)))
    ms = predictor.predict_many(archs)
    ok = np.flatnonzero(ms <= budget_ms)
    if ok.size == 0:
        return [predictor.fastest().arch]
    ranked = ok[np.argsort(ms[ok])]
    picks = np.unique(np.linspace(0, len(ranked) - 1, num=min(n, len(ranked))).round().astype(int))
    return [archs[i] for i in ranked[picks]]


def candidate_of(number: int, attrs: dict[str, Any]) -> Candidate:
    return Candidate(
        trial=number,
        arch=attrs.get("arch", ""),
        predicted_ms=float(attrs.get("predicted_ms", float("nan"))),
        latency_source=attrs.get("latency_source", ""),
        status=str(attrs.get("status", Status.FAILED)),
        reason=attrs.get("reason", "" if "status" in attrs else "interrupted before it finished"),
        val_top1_pct=attrs.get("val_top1_pct"),
        test_top1_pct=attrs.get("test_top1_pct"),
        params=int(attrs.get("params", 0)),
        train_s=float(attrs.get("train_s", 0.0)),
        checkpoint=attrs.get("checkpoint", ""),
    )


def candidates(study: optuna.Study) -> pd.DataFrame:
    """One row per trial of the study that got as far as an architecture (all workers, any state)."""
    rows = [candidate_of(t.number, t.user_attrs).to_dict() for t in study.get_trials(deepcopy=False)
            if "arch" in t.user_attrs and t.state is not optuna.trial.TrialState.RUNNING]  # fmt: skip
    return pd.DataFrame(rows, columns=[f for f in Candidate.__dataclass_fields__])


def open_study(storage: optuna.storages.BaseStorage, name: str, settings: SearchSettings) -> optuna.Study:
    """Create or join the study ``name``; ConfigError if it exists with other settings."""
    optuna.logging.set_verbosity(logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=settings.population, seed=settings.seed)
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=sampler, directions=["maximize", "minimize"], load_if_exists=True
    )
    identity = json.loads(json.dumps(settings.identity()))
    old = study.user_attrs.get("settings")
    if old is None:
        study.set_user_attr("settings", identity)
    elif old != identity:
        changed = sorted(k for k in identity if old.get(k) != identity[k])
        raise ConfigError(
            f"study '{name}' exists with other settings ({', '.join(changed)}); give another "
            f"{option('out')}/{option('storage')}, or the same settings to resume it"
        )
    return study


def trained(study: optuna.Study) -> int:
    """Candidates trained so far by every worker."""
    return sum(t.user_attrs.get("status") == Status.COMPLETE for t in study.get_trials(deepcopy=False))


def run_search(
    study: optuna.Study,
    objective: Objective,
    settings: SearchSettings,
    url: str | None = None,
) -> pd.DataFrame:
    """Run (or resume, or join) the study until ``settings.trials`` candidates are trained (and no dead worker's
    candidate waits to be trained again), the time budget is spent, or too many proposals in a row fall over
    budget; returns every candidate as a table. While the database at ``url`` does not answer, it waits (see
    :func:`~edgebench.searching.storage.patiently`)."""
    if not any(t.user_attrs.get("arch") for t in study.get_trials(deepcopy=False)):
        for arch in feasible_seeds(objective.predictor, settings.budget_ms, settings.population, settings.seed):
            study.enqueue_trial(arch_params(arch, objective.space), skip_if_exists=True)
    started, fruitless = time.perf_counter(), 0

    def stop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal fruitless
        fruitless = 0 if trial.user_attrs.get("status") == Status.COMPLETE else fruitless + 1
        out_of_time = settings.time_budget_s is not None and time.perf_counter() - started > settings.time_budget_s
        done = trained(study) >= settings.trials and not waiting_retries(study)
        if done or out_of_time or fruitless >= MAX_FRUITLESS:
            study.stop()

    if patiently(lambda: trained(study) < settings.trials or waiting_retries(study) > 0, study, url):

        def optimize() -> None:
            study.optimize(objective, callbacks=[stop], catch=(Exception,), gc_after_trial=False)

        patiently(optimize, study, url)
    return patiently(lambda: candidates(study), study, url)
