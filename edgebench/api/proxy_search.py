"""Searching a space under a latency budget, the proxy route: NSGA-II over candidates each distilled briefly."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from edgebench import outputs, pareto
from edgebench.api.latency import build_lut
from edgebench.api.provenance import environment
from edgebench.api.resolve import budget, runtime_for
from edgebench.api.resolve import device as as_device
from edgebench.api.training import role, teacher_for, trainable_space
from edgebench.data import load_data
from edgebench.devices import DeviceProfile
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig, TrainStep
from edgebench.exceptions import ConfigError, InfeasibleBudgetError
from edgebench.lut.builder import Progress
from edgebench.lut.predictor import Prediction, Predictor
from edgebench.lut.store import writable_cache
from edgebench.reporting import write_report
from edgebench.results import from_candidates
from edgebench.searching.baseline import BaselineRow, baseline_family
from edgebench.searching.nas import (
    PROXY,
    Candidate,
    Objective,
    SearchSettings,
    open_study,
    run_search,
)
from edgebench.searching.space import SearchSpace
from edgebench.searching.storage import claim, release, shown, storage_for, study_exists
from edgebench.types import Precision, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchOutcome:
    """A finished (or resumed) search: every candidate, the baseline family, the feasible front, the fastest
    latency the space reaches, and where it is all kept (``out_dir`` None: nothing was written)."""

    candidates: pd.DataFrame
    baseline: pd.DataFrame
    front: pd.DataFrame
    fastest_ms: float
    latency_source: str
    out_dir: Path | None
    storage: str | None
    study: str

    def to_dataframe(self) -> pd.DataFrame:
        """Every candidate: architecture, predicted latency and its source, status, accuracies and checkpoint."""
        return self.candidates


def space_under(
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
    lut = build_lut(prof, backend=backend, precision=prec, space=space, cache_dir=cache_dir, progress=progress)
    predictor = Predictor(lut.table, space)
    fastest = predictor.fastest()
    if fastest.latency_ms > budget_ms:
        raise InfeasibleBudgetError(
            f"nothing in space '{space.name}' meets {budget_ms:g} ms on {prof.name} ({backend} {prec}): the fastest "
            f"architecture is predicted at {fastest.latency_ms:.3f} ms ({fastest.source}); raise the latency budget "
            "to at least that, or search a smaller space"
        )
    return predictor, fastest


def search(
    *,
    device: str | DeviceProfile,
    budget_ms: float,
    backend: str | None = None,
    precision: str | Precision | None = None,
    space: str = "mbv2-cifar",
    trials: int = 16,
    time_budget_s: float | None = None,
    loss: str = "kd",
    data: str | None = None,
    teacher: Path | None = None,
    proxy: TrainConfig | None = None,
    seed: int = 0,
    baseline: bool = True,
    out: Path | None = None,
    storage: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    cache_dir: Path | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    on_baseline: Callable[[BaselineRow], None] | None = None,
    progress: Progress | None = None,
    train_progress: Callable[[str, TrainStep], None] | None = None,
) -> SearchOutcome:
    """Search ``space`` for the most accurate students under ``budget_ms`` on a device: NSGA-II (Optuna) rejects
    candidates predicted over budget before any training and distils the others with ``proxy`` (default: a few
    epochs at low resolution), scored on validation; the MobileNetV2 width family is trained the same way.

    The device's LUT is built (measured) or estimated first if it is not cached. With ``out``, the study is
    stored in ``storage`` (default: ``sqlite:///OUT/study.db``), so the same call resumes it and other workers
    given the same storage join it, and ``candidates.csv``/``.parquet``, ``baseline.csv``, ``front.csv``,
    ``report.html`` and the students' checkpoints are written there; without, the study lives in memory and the
    checkpoints in a temporary folder.

    Raises:
        InfeasibleBudgetError: not even the fastest architecture of the space meets the budget.
        ConfigError, UnknownNameError: bad device, runtime, data, teacher, loss or stored study settings; ``resume``
            of a study that does not exist.
    """
    cache_dir = writable_cache(cache_dir)
    budget_ms = budget(budget_ms)
    prof = as_device(device)
    backend, prec = runtime_for(prof, backend, precision)
    sp = trainable_space(space).for_device(prof.channel_multiple)
    distill_loss = get_loss(loss)
    images = load_data(data)
    url = storage or (f"sqlite:///{(out / 'study.db').resolve()}" if out else None)
    name = f"{prof.name}-{backend}-{prec}-{sp.name}-{budget_ms:g}ms-{loss}-{images.name}"
    if resume and (url is None or not study_exists(url, name)):
        raise ConfigError(f"no study '{name}' in {url or 'memory'} to resume; start it without resuming")
    settings = SearchSettings(budget_ms, trials, time_budget_s, proxy or PROXY, seed=seed)
    if out is not None:
        identity = {
            "method": "proxy",
            "study": name,
            "storage": shown(url) if url else None,
            "teacher": teacher,
            **settings.identity(),
        }  # fmt: skip (the URL without its password: the manifest is a file)
        outputs.claim(out, "search", identity, overwrite)
    predictor, fastest = space_under(prof, backend, prec, sp, budget_ms, cache_dir, progress)
    checkpoint = teacher_for(distill_loss, teacher, images, data, cache_dir, role(train_progress, "default teacher"))
    store = storage_for(url) if url else optuna.storages.InMemoryStorage()
    study = open_study(store, name, settings)
    teacher_module = checkpoint.module if checkpoint else None
    checkpoints = out / "checkpoints" if out else Path(tempfile.mkdtemp(prefix="edgebench-search-"))
    objective = Objective(sp, predictor, images, distill_loss, teacher_module, settings, on_candidate, checkpoints)
    rows = run_search(study, objective, settings, url)
    base = pd.DataFrame(columns=list(BaselineRow.__dataclass_fields__))
    if baseline:

        def train_family() -> list[dict[str, object]]:
            family = baseline_family(images, distill_loss, teacher_module, settings.proxy, prof, backend, prec,
                                     on_row=on_baseline, checkpoints=checkpoints)  # fmt: skip
            return [r.to_dict() for r in family]

        base = pd.DataFrame(_family(study, store, resume, train_family), columns=list(BaselineRow.__dataclass_fields__))
    best = pareto.front(rows[rows["status"] == Status.COMPLETE.value], "val_top1_pct", "predicted_ms")
    if out is not None:
        title = (f"search on {prof.name} ({backend} {prec}): PyTorch test top-1 after proxy training, latency "
                 "predicted from the LUT; `edgebench run` scores and times the converted networks")  # fmt: skip
        env = environment(prof, backend, prec, predictor.table.meta)
        results = from_candidates(rows, base, prof.name, backend, str(prec), images.name, environment=env)
        outputs.write_tables(out, {"candidates": rows, "baseline": base, "front": best, "results": results})
        write_report(results, out / "report.html", budget_ms, title)
    return SearchOutcome(rows, base, best, fastest.latency_ms, fastest.source, out, shown(url) if url else None, name)


def _family(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    resume: bool,
    train: Callable[[], list[dict[str, object]]],
) -> list[dict[str, object]]:
    """The study's baseline family, trained once by the first worker to claim it; other workers take it from the
    study when it is there, and go without it (saying so) while the claimant is still training it. A resumed
    search claims it again if it is missing (its claimant was stopped)."""
    family = study.user_attrs.get("baseline")
    if family is not None:
        return list(family)
    job = f"{study.study_name}/baseline"
    if resume:
        release(storage, job)
    if not claim(storage, job):
        log.warning("the baseline family of study %s is trained by another worker; it is in the study (and in "
                    "`edgebench report`) when that worker is done", study.study_name)  # fmt: skip
        return []
    family = train()
    study.set_user_attr("baseline", family)
    return family
