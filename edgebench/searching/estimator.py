"""An accuracy estimator for NAS: a trained supernet, plus a ridge predictor fitted on sub-networks it scored, cached
per (space, data, teacher, supernet config) in a folder whose provenance refuses reuse for anything else.

Folder ``estimators/NAME/``: ``provenance.json`` (written first), ``supernet.pt`` (the resumable training
checkpoint), ``samples.csv`` (one row per scored sub-network, appended as it is scored) and ``predictor.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, ValidationError
from scipy.stats import kendalltau

from edgebench import shipped
from edgebench.atomic import write_text_atomic
from edgebench.data import ImageData
from edgebench.distill.checkpoint import WEIGHTS, Checkpoint
from edgebench.distill.train import TrainStep, default_device
from edgebench.exceptions import ConfigError
from edgebench.lut.store import default_cache_dir
from edgebench.searching.space import ArchSpec, SearchSpace
from edgebench.searching.supernet import CHECKPOINT, Supernet, SupernetConfig, load_supernet, score, train_supernet
from edgebench.version import __version__

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PROVENANCE, SAMPLES, PREDICTOR = "provenance.json", "samples.csv", "predictor.json"
#: Sub-networks scored to fit the predictor (besides the largest and the smallest).
DEFAULT_SAMPLES = 300
#: Ridge penalties tried, by leave-one-out error; ties go to the smallest.
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5
#: Random draws per wanted sub-network before sampling settles for fewer distinct ones (a small space; the
#: provenance records how many rows the predictor was fitted on).
MAX_DRAWS = 100

Progress = Callable[[str, int, int], None]


def _decisions(space: SearchSpace) -> Iterator[tuple[int, tuple[Any, ...], int, int]]:
    """Each decision of ``space.encode``'s vector: its column, its choices, its stage's depth column and its block
    slot (-1 for the stage's width and depth, which are always present)."""
    column = 0
    for s in space.stages:
        yield column, s.width, column + 1, -1
        yield column + 1, s.depth, column + 1, -1
        for j in range(max(s.depth)):
            for k, choices in enumerate((s.expansion, s.kernel, s.se)):
                yield column + 2 + 3 * j + k, choices, column + 1, j
        column += 2 + 3 * max(s.depth)


def feature_length(space: SearchSpace) -> int:
    return sum(len(choices) for _, choices, _, _ in _decisions(space))


def features(space: SearchSpace, archs: Sequence[ArchSpec]) -> np.ndarray:
    """One-hot encoding (float32, (n, F)) of every decision: per stage its width and depth, per block slot its
    expansion, kernel and SE (all zeros for slots past the stage's depth)."""
    codes = np.array([space.encode(a) for a in archs], dtype=np.int64).reshape(len(archs), space.encoding_length())
    out = np.zeros((len(codes), feature_length(space)), dtype=np.float32)
    rows, offset = np.arange(len(codes)), 0
    for column, choices, depth_column, slot in _decisions(space):
        value = codes[:, column]
        if column == depth_column:  # encoded as the block count, not a choice index
            value = np.searchsorted(choices, value)
        present = codes[:, depth_column] > slot
        out[rows[present], offset + value[present]] = 1.0
        offset += len(choices)
    return out


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of ridge regression (intercept not penalised), in closed form."""
    mean_x, mean_y = x.mean(0), float(y.mean())
    xc = x - mean_x
    weights = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - mean_y))
    return weights, mean_y - float(mean_x @ weights)


def _loo_rmse(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Leave-one-out error of ridge, exact from the hat matrix's diagonal."""
    xc, yc = x - x.mean(0), y - y.mean()
    solved = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T)
    hat = 1.0 / len(y) + np.einsum("ij,ji->i", xc, solved)
    residual = yc - xc @ (solved @ yc)
    return float(np.sqrt(np.mean((residual / (1.0 - hat)) ** 2)))


def _select_alpha(x: np.ndarray, y: np.ndarray) -> float:
    return min(ALPHAS, key=lambda alpha: _loo_rmse(x, y, alpha))


def _cross_validate(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float]:
    """Kendall tau (None if undefined) and RMSE of out-of-fold predictions, each fold choosing its own alpha."""
    folds = np.arange(len(y)) % min(FOLDS, len(y))
    predicted = np.empty(len(y))
    for fold in np.unique(folds):
        held = folds == fold
        weights, intercept = _ridge(x[~held], y[~held], _select_alpha(x[~held], y[~held]))
        predicted[held] = x[held] @ weights + intercept
    tau = float(kendalltau(predicted, y)[0])
    return (None if np.isnan(tau) else tau), float(np.sqrt(np.mean((predicted - y) ** 2)))


class _PredictorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    schema_version: int
    feature_length: int
    alpha: float
    intercept: float
    weights: list[float]
    samples: int
    cv_kendall_tau: float | None
    cv_rmse: float


@dataclass(frozen=True)
class AccuracyPredictor:
    """Ridge regression of validation top-1 (%) on :func:`features`.

    ``cv_kendall_tau`` and ``cv_rmse`` are of 5-fold out-of-fold predictions of the ``samples`` sub-networks it was
    fitted on (alpha chosen inside each fold): how well it ranks sub-networks it has not seen.
    """

    weights: tuple[float, ...]
    intercept: float
    alpha: float
    samples: int
    cv_kendall_tau: float | None
    cv_rmse: float

    @classmethod
    def fit(cls, space: SearchSpace, archs: Sequence[ArchSpec], scores: Sequence[float]) -> AccuracyPredictor:
        """Fit on ``archs`` and their ``scores``; alpha is chosen from ``ALPHAS`` by leave-one-out error."""
        if len(archs) != len(scores):
            raise ValueError(f"{len(archs)} architectures but {len(scores)} scores")
        if len(archs) < 3:
            raise ConfigError(f"an accuracy predictor needs 3 or more scored sub-networks, got {len(scores)}")
        x, y = features(space, archs).astype(np.float64), np.asarray(scores, dtype=np.float64)
        alpha = _select_alpha(x, y)
        weights, intercept = _ridge(x, y, alpha)
        tau, rmse = _cross_validate(x, y)
        return cls(tuple(float(w) for w in weights), intercept, alpha, len(y), tau, rmse)

    def predict(self, space: SearchSpace, archs: Sequence[ArchSpec]) -> np.ndarray:
        """Predicted validation top-1 (%) of each of ``archs`` (float64, (n,))."""
        if feature_length(space) != len(self.weights):
            raise ConfigError(
                f"the accuracy predictor takes {len(self.weights)} features; space '{space.name}' has "
                f"{feature_length(space)}: it was fitted on another space"
            )
        return features(space, archs).astype(np.float64) @ np.asarray(self.weights) + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "feature_length": len(self.weights),
                **dataclasses.asdict(self), "weights": list(self.weights)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccuracyPredictor:
        """Parse strictly: a missing, unknown or mistyped field, another schema or a wrong length raise ConfigError."""
        try:
            model = _PredictorModel.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            raise ConfigError(f"accuracy predictor field '{'.'.join(map(str, err['loc']))}': {err['msg']}") from None
        if model.schema_version != SCHEMA_VERSION:
            raise ConfigError(f"accuracy predictor schema_version {model.schema_version} is not {SCHEMA_VERSION}")
        if model.feature_length != len(model.weights):
            raise ConfigError(
                f"accuracy predictor field 'weights' has {len(model.weights)} values, not {model.feature_length}"
            )
        fields = model.model_dump(exclude={"schema_version", "feature_length"})
        return cls(**{**fields, "weights": tuple(model.weights)})


def _sha256(chunks: Iterable[bytes | memoryview]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()[:12]


def space_digest(space: SearchSpace) -> str:
    return _sha256([json.dumps(space.model_dump(mode="json"), sort_keys=True).encode()])


def data_digest(data: ImageData) -> str:
    """Of the train and validation images and labels (their dtypes and shapes too); the test split is not used."""
    arrays = (data.train.x, data.train.y, data.val.x, data.val.y)
    return _sha256(part for a in arrays for part in (f"{a.dtype}{a.shape}".encode(), np.ascontiguousarray(a).data))


def teacher_digest(checkpoint: Checkpoint | None) -> str:
    """Of the teacher's weights file, or "none"."""
    if checkpoint is None:
        return "none"
    with open(checkpoint.path / WEIGHTS, "rb") as f:
        return _sha256(iter(lambda: f.read(1 << 20), b""))


@dataclass(frozen=True)
class EstimatorKey:
    """What an estimator was built from; any difference means another estimator."""

    space: str
    space_digest: str
    data: str
    data_digest: str
    teacher: str
    config: dict[str, Any] = dataclasses.field(hash=False)  # SupernetConfig without the device

    @classmethod
    def of(
        cls, space: SearchSpace, data: ImageData, teacher: Checkpoint | None, config: SupernetConfig
    ) -> EstimatorKey:
        return cls(space.name, space_digest(space), data.name, data_digest(data), teacher_digest(teacher),
                   config.identity())  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def differences(self, other: dict[str, Any]) -> list[str]:
        """The fields (``config.NAME`` for the config) where ``other``, a key as a dict, differs from this key."""
        mine, theirs = self.to_dict(), other.get("config", {})
        diff = [k for k in mine if k != "config" and other.get(k) != mine[k]]
        return diff + [f"config.{k}" for k in sorted({*self.config, *theirs}) if self.config.get(k) != theirs.get(k)]

    def folder_name(self) -> str:
        everything = _sha256([json.dumps(self.to_dict(), sort_keys=True).encode()])
        return re.sub(r"[^A-Za-z0-9._-]", "-", f"{self.space}-{self.data}-{self.teacher[:8]}-{everything[:8]}")


def estimator_dir(cache_dir: Path, key: EstimatorKey) -> Path:
    return cache_dir / "estimators" / key.folder_name()


@dataclass(frozen=True, eq=False)
class AccuracyEstimator:
    """A trained supernet (exact, slow: :meth:`score`) and its predictor (approximate, fast: :meth:`predict`)."""

    key: EstimatorKey
    supernet: Supernet
    predictor: AccuracyPredictor
    path: Path
    provenance: dict[str, Any]

    def predict(self, archs: Sequence[ArchSpec]) -> np.ndarray:
        """Predicted validation top-1 (%) of each of ``archs``."""
        return self.predictor.predict(self.supernet.space, archs)

    def require(self, space: SearchSpace, data: ImageData, teacher: Checkpoint | None) -> None:
        """ConfigError naming what differs if this estimator was built for another space, data or teacher (its
        training recipe may be any)."""
        wanted = EstimatorKey.of(space, data, teacher, SupernetConfig(**self.key.config))
        diff = wanted.differences(self.key.to_dict())
        if diff:
            raise ConfigError(
                f"{self.path}: this estimator was built for another {', '.join(diff)} (space '{self.key.space}', "
                f"data '{self.key.data}'); it is refused: build one for this search with `edgebench estimator`"
            )

    def score(self, arch: ArchSpec, data: ImageData) -> float:
        """Validation top-1 (%) of ``arch`` extracted from the supernet, its BN recalibrated on ``data``."""
        if data.name != self.key.data:
            raise ConfigError(f"{self.path}: this estimator was built on data '{self.key.data}', not '{data.name}'")
        return score(self.supernet, arch, data)


def _write_json(path: Path, content: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(content, indent=2) + "\n")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it ({e}); delete the estimator folder to rebuild it") from None
    if not isinstance(content, dict) or content.get("schema_version") != SCHEMA_VERSION:
        raise ConfigError(f"{path}: not an estimator file of schema_version {SCHEMA_VERSION}")
    return content


def _claim(folder: Path, key: EstimatorKey, space: SearchSpace, classes: int) -> dict[str, Any]:
    """The folder's provenance, written now if new; ConfigError if it holds an estimator with another key."""
    if (folder / PROVENANCE).exists():
        provenance = _read_json(folder / PROVENANCE)
        diff = key.differences(provenance.get("key", {}))
        if diff:
            raise ConfigError(
                f"{folder} holds an estimator for another {', '.join(diff)}; it is refused, never reused: "
                "delete the folder or use another cache dir"
            )
        return provenance
    provenance = {
        "schema_version": SCHEMA_VERSION, "key": key.to_dict(), "space_spec": space.model_dump(mode="json"),
        "classes": classes, "edgebench_version": __version__, "torch_version": torch.__version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / PROVENANCE, provenance)
    return provenance


def _plan(supernet: Supernet, samples: int, seed: int) -> list[ArchSpec]:
    """The largest, the smallest and ``samples`` distinct random sub-networks (fewer if the space is too small)."""
    rng, wanted = random.Random(seed), min(samples + 2, supernet.space.size())
    planned = dict.fromkeys([supernet.largest(), supernet.smallest()])
    for _ in range(MAX_DRAWS * wanted):
        if len(planned) >= wanted:
            break
        planned[supernet.sample(rng)] = None
    return list(planned)


def _read_samples(path: Path) -> dict[ArchSpec, float]:
    """The rows of ``samples.csv``; a last row cut short by a kill is dropped from the file."""
    if not path.exists():
        return {}
    text = path.read_text()
    if not text.endswith("\n"):
        path.write_text(text[: text.rfind("\n") + 1])
    rows: dict[ArchSpec, float] = {}
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), 2):
            try:
                rows[ArchSpec.from_json(row["arch"])] = float(row["val_top1_pct"])
            except (KeyError, TypeError, ValueError, ConfigError) as e:
                raise ConfigError(f"{path}:{line}: not a sample row ({e}); delete the file to rescore") from None
    return rows


def _append_sample(path: Path, arch: ArchSpec, value: float) -> None:
    with open(path, "a", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if f.tell() == 0:
            writer.writerow(["arch", "val_top1_pct"])
        writer.writerow([arch.to_json(), repr(value)])


def _sample(
    folder: Path, supernet: Supernet, data: ImageData, planned: list[ArchSpec], progress: Progress | None
) -> tuple[dict[ArchSpec, float], int]:
    """Score the planned sub-networks ``samples.csv`` lacks, appending each; every planned one's score, and how
    many were scored now."""
    rows = _read_samples(folder / SAMPLES)
    missing = [a for a in planned if a not in rows]
    for done, arch in enumerate(missing, len(planned) - len(missing) + 1):
        rows[arch] = score(supernet, arch, data)
        _append_sample(folder / SAMPLES, arch, rows[arch])
        if progress:
            progress("sampling", done, len(planned))
    return {arch: rows[arch] for arch in planned}, len(missing)


def _forward(progress: Progress, step: TrainStep) -> None:
    progress("supernet", step.done, step.total)


def build_estimator(
    space: SearchSpace,
    data: ImageData,
    teacher: Checkpoint | None,
    cache_dir: Path | None = None,
    config: SupernetConfig | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    progress: Progress | None = None,
) -> AccuracyEstimator:
    """Train (or resume, or load) the supernet of ``space`` on ``data``, score ``samples`` random sub-networks plus
    the largest and the smallest, and fit the predictor; every step is cached, so a killed run resumes and a
    finished one only loads. A finished estimator of the same key that ships with the package seeds the cache.

    Args:
        teacher: distilled by every sub-network (None: in-place distillation from the largest).
        cache_dir: holds ``estimators/NAME/`` (default: edgebench's cache).
        config: of the supernet's training; its ``seed`` also sets the initial weights.
        samples: random sub-networks to score (fewer if the space has fewer).
        seed: draws the sampled sub-networks.
        progress: called with ("supernet" or "sampling", step, total).

    Raises:
        ConfigError: the folder holds an estimator for another key, or a cached file is broken.
    """
    config = config or SupernetConfig()
    key = EstimatorKey.of(space, data, teacher, config)
    root = cache_dir or default_cache_dir()
    folder = estimator_dir(root, key)
    shipped.seed(root, folder.relative_to(root), PREDICTOR)
    provenance = _claim(folder, key, space, data.classes)
    device = torch.device(config.device) if config.device else default_device()
    supernet = load_supernet(folder, space, data.classes, config)
    if supernet is None:
        supernet = Supernet(space, data.classes, seed=config.seed)
        on_step = partial(_forward, progress) if progress else None
        result = train_supernet(supernet, data, teacher.module if teacher else None, config, on_step, folder)
        provenance["supernet"] = dataclasses.asdict(result)
        _write_json(folder / PROVENANCE, provenance)
    _warn_unlearnt(provenance.get("supernet"), data.classes, folder)
    supernet.to(device)
    started, planned = time.perf_counter(), _plan(supernet, samples, seed)
    rows, scored = _sample(folder, supernet, data, planned, progress)
    sampling = {"samples": samples, "seed": seed, "rows": len(rows)}
    cached = provenance.get("sampling", {})
    if not scored and (folder / PREDICTOR).exists() and {k: cached.get(k) for k in sampling} == sampling:
        predictor = AccuracyPredictor.from_dict(_read_json(folder / PREDICTOR))
        return AccuracyEstimator(key, supernet, predictor, folder, provenance)
    provenance["sampling"] = {**sampling, "wall_time_s": time.perf_counter() - started}
    _write_json(folder / PROVENANCE, provenance)
    predictor = AccuracyPredictor.fit(space, list(rows), list(rows.values()))
    _write_json(folder / PREDICTOR, predictor.to_dict())
    provenance["predictor"] = {k: v for k, v in predictor.to_dict().items() if k not in ("weights", "schema_version")}
    _write_json(folder / PROVENANCE, provenance)
    return AccuracyEstimator(key, supernet, predictor, folder, provenance)


def _warn_unlearnt(result: dict[str, Any] | None, classes: int, folder: Path) -> None:
    """Warn if the trained supernet's largest sub-network is within a tenth of the way from chance to 100 % on
    validation: it did not learn, and the scores of its sub-networks would rank noise."""
    chance = 100.0 / classes
    if result is not None and result["largest_val_top1_pct"] < chance + 0.1 * (100.0 - chance):
        log.warning("%s: the supernet's largest sub-network scores %.1f %% on validation, near chance (%.0f %%): it "
                    "did not learn, and its sub-networks' scores rank noise; delete the folder and train it with "
                    "other settings (more epochs or largest_epochs)", folder, result["largest_val_top1_pct"],
                    chance)  # fmt: skip


def load_estimator(path: Path, device: str | None = None) -> AccuracyEstimator:
    """A complete estimator folder, with no training or scoring.

    Raises:
        ConfigError: a file is missing or broken, or the supernet's training did not finish.
    """
    missing = [name for name in (PROVENANCE, CHECKPOINT, SAMPLES, PREDICTOR) if not (path / name).exists()]
    if missing:
        raise ConfigError(f"{path} is not a complete estimator: {', '.join(missing)} missing; build it again")
    provenance = _read_json(path / PROVENANCE)
    try:
        key = EstimatorKey(**provenance["key"])
        space = SearchSpace.model_validate(provenance["space_spec"])
        config = SupernetConfig(**key.config)
        classes = int(provenance["classes"])
    except (KeyError, TypeError, ValidationError) as e:
        raise ConfigError(f"{path / PROVENANCE}: not an estimator provenance ({e})") from None
    if space_digest(space) != key.space_digest:
        raise ConfigError(f"{path / PROVENANCE}: field 'space_spec' does not match the key's space_digest")
    supernet = load_supernet(path, space, classes, config)
    if supernet is None:
        raise ConfigError(f"{path / CHECKPOINT}: the supernet's training did not finish; build it again")
    predictor = AccuracyPredictor.from_dict(_read_json(path / PREDICTOR))
    if len(predictor.weights) != feature_length(space):
        raise ConfigError(f"{path / PREDICTOR}: fitted on {len(predictor.weights)} features, not the space's")
    supernet.to(torch.device(device) if device else default_device())
    return AccuracyEstimator(key, supernet, predictor, path, provenance)
