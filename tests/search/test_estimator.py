"""The accuracy estimator encodes sub-networks one-hot, fits a ridge predictor that round-trips as JSON, and caches a
trained supernet with its scored samples in a folder that resumes after a kill and refuses any other key."""

from __future__ import annotations

import csv
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgebench import shipped
from edgebench.data import ImageData, Split
from edgebench.distill.checkpoint import Checkpoint
from edgebench.exceptions import ConfigError
from edgebench.searching.estimator import (
    PREDICTOR,
    PROVENANCE,
    SAMPLES,
    AccuracyEstimator,
    AccuracyPredictor,
    EstimatorKey,
    build_estimator,
    data_digest,
    estimator_dir,
    feature_length,
    features,
    load_estimator,
    teacher_digest,
)
from edgebench.searching.space import ArchSpec, SearchSpace
from edgebench.searching.supernet import CHECKPOINT, SupernetConfig

CONFIG = SupernetConfig(epochs=1, largest_epochs=0, batch_size=16, random_subnets=1, device="cpu")
SAMPLED = 6  # random sub-networks, besides the largest and the smallest
Calls = list[tuple[str, int, int]]


pytestmark = pytest.mark.usefixtures("one_thread")


def brightness(name: str = "brightness", seed: int = 0) -> ImageData:
    """Two classes of 32x32 images told apart by their brightness."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> Split:
        y = np.arange(n) % 2
        x = rng.integers(0, 100, (n, 3, 32, 32)) + 120 * y[:, None, None, None]
        return Split(x.astype(np.uint8), y.astype(np.int64))

    return ImageData(name, ("dark", "bright"), split(64), split(16), split(16), flip=False)


def recorder() -> tuple[Calls, Callable[[str, int, int], None]]:
    calls: Calls = []
    return calls, lambda phase, step, total: calls.append((phase, step, total))


def sample_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / SAMPLES, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(tiny: SearchSpace, tmp_path_factory: pytest.TempPathFactory) -> tuple[AccuracyEstimator, Calls]:
    """An estimator built from scratch, and the progress it reported."""
    calls, progress = recorder()
    cache = tmp_path_factory.mktemp("cache")
    return build_estimator(tiny, brightness(), None, cache, CONFIG, SAMPLED, progress=progress), calls


def copy_cache(estimator: AccuracyEstimator, tmp_path: Path) -> Path:
    """A cache dir holding a copy of ``estimator``'s folder, for a test to damage."""
    shutil.copytree(estimator.path, tmp_path / "estimators" / estimator.path.name)
    return tmp_path


def rebuild(tiny: SearchSpace, cache: Path, samples: int = SAMPLED) -> tuple[AccuracyEstimator, Calls]:
    """The build of the ``built`` fixture's key again in ``cache``, and the progress it reported."""
    calls, progress = recorder()
    return build_estimator(tiny, brightness(), None, cache, CONFIG, samples, progress=progress), calls


def test_features_are_one_hot_per_decision(elastic: SearchSpace) -> None:
    rng = random.Random(0)
    archs = [elastic.sample(rng) for _ in range(50)]
    x = features(elastic, archs)
    assert x.dtype == np.float32 and x.shape == (50, feature_length(elastic))
    assert set(np.unique(x)) == {0.0, 1.0}
    # per stage: width and depth, then expansion, kernel and SE of each present block
    assert x.sum(1).tolist() == [2 * len(a.stages) + 3 * a.depth() for a in archs]
    unique = {a: row.tobytes() for a, row in zip(archs, x, strict=True)}
    assert len(set(unique.values())) == len(unique)  # distinct architectures, distinct features
    assert features(elastic, []).shape == (0, feature_length(elastic))


def test_feature_blocks_follow_the_space(tiny: SearchSpace) -> None:
    # stage 0: width 1 + depth 1 + one slot of 1 + 1 + 1; stage 1: width 2 + depth 2 + two slots of 1 + 1 + 2
    assert feature_length(tiny) == 5 + 12
    shallow = ArchSpec.from_dict(
        {"space": "tiny32", "stages": [{"width": 8, "blocks": [{"expansion": 1, "kernel": 3}]},
                                       {"width": 16, "blocks": [{"expansion": 2, "kernel": 3, "se": True}]}]}
    )  # fmt: skip
    stage0, width16, depth1, slot0, slot1 = [1] * 5, [0, 1], [1, 0], [1, 1, 0, 1], [0] * 4
    assert features(tiny, [shallow])[0].tolist() == [*stage0, *width16, *depth1, *slot0, *slot1]


def test_predictor_recovers_a_linear_function(elastic: SearchSpace) -> None:
    rng = random.Random(1)
    archs = list(dict.fromkeys(elastic.sample(rng) for _ in range(300)))
    true = np.random.default_rng(0).normal(0, 3, feature_length(elastic))
    scores = features(elastic, archs) @ true + 50.0
    fit, held = archs[:60], archs[60:]
    predictor = AccuracyPredictor.fit(elastic, fit, scores[:60].tolist())
    assert predictor.samples == 60 and predictor.alpha == 0.1
    np.testing.assert_allclose(predictor.predict(elastic, held), scores[60:], atol=0.5)
    assert predictor.cv_kendall_tau is not None and predictor.cv_kendall_tau > 0.9
    assert predictor.cv_rmse < 1.0


def test_predictor_round_trips_exactly_through_json(elastic: SearchSpace, tiny: SearchSpace) -> None:
    rng = random.Random(2)
    archs = list(dict.fromkeys(elastic.sample(rng) for _ in range(20)))
    predictor = AccuracyPredictor.fit(elastic, archs, [rng.uniform(20, 80) for _ in archs])
    again = AccuracyPredictor.from_dict(json.loads(json.dumps(predictor.to_dict())))
    assert again == predictor
    assert np.array_equal(again.predict(elastic, archs), predictor.predict(elastic, archs))
    with pytest.raises(ConfigError, match="features"):
        predictor.predict(tiny, [])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("alpha"), "alpha"),
        (lambda d: d.update(typo=1), "typo"),
        (lambda d: d.update(weights=["a"]), "weights"),
        (lambda d: d.update(feature_length=3), "weights"),
        (lambda d: d.update(schema_version=99), "schema_version"),
    ],
)
def test_malformed_predictor_dict_is_refused(
    elastic: SearchSpace, change: Callable[[dict[str, object]], object], field: str
) -> None:
    archs = [elastic.sample(random.Random(i)) for i in range(5)]
    data = AccuracyPredictor.fit(elastic, archs, [1.0, 2.0, 3.0, 4.0, 5.0]).to_dict()
    change(data)
    with pytest.raises(ConfigError, match=field):
        AccuracyPredictor.from_dict(data)


def test_digests_see_every_byte(tmp_path: Path) -> None:
    data, other = brightness(), brightness()
    assert data_digest(data) == data_digest(other)
    other.val.x[3, 0, 0, 0] ^= 1
    assert data_digest(data) != data_digest(other)
    (tmp_path / "weights.pt").write_bytes(b"weights")
    teacher = Checkpoint(tmp_path, "resnet20", 2, nn.Identity(), {})
    assert teacher_digest(None) == "none" and len(teacher_digest(teacher)) == 12


def test_build_writes_the_folder_and_scores_samples(built: tuple[AccuracyEstimator, Calls]) -> None:
    estimator, calls = built
    for name in (PROVENANCE, CHECKPOINT, SAMPLES, PREDICTOR):
        assert (estimator.path / name).is_file(), name
    assert {phase for phase, _, _ in calls} == {"supernet", "sampling"}
    assert [c for c in calls if c[0] == "sampling"] == [("sampling", i, SAMPLED + 2) for i in range(1, SAMPLED + 3)]
    rows = sample_rows(estimator.path)
    archs = [ArchSpec.from_json(r["arch"]) for r in rows]
    assert len(set(archs)) == SAMPLED + 2 and archs[:2] == [estimator.supernet.largest(), estimator.supernet.smallest()]
    # the exact score is the one sampled, and the predictor was fitted on those rows
    assert estimator.score(archs[0], brightness()) == float(rows[0]["val_top1_pct"])
    assert estimator.predictor.samples == SAMPLED + 2
    assert estimator.predict(archs).shape == (SAMPLED + 2,)
    provenance = json.loads((estimator.path / PROVENANCE).read_text())
    assert provenance["key"] == estimator.key.to_dict() and provenance["key"]["teacher"] == "none"
    assert {"supernet", "sampling", "predictor", "edgebench_version", "torch_version"} <= set(provenance)


def test_second_build_and_load_only_read(
    built: tuple[AccuracyEstimator, Calls], tiny: SearchSpace, tmp_path: Path
) -> None:
    estimator, _ = built
    again, calls = rebuild(tiny, copy_cache(estimator, tmp_path))
    assert calls == []
    assert again.predictor == estimator.predictor and again.key == estimator.key
    loaded = load_estimator(again.path, "cpu")
    assert loaded.predictor == estimator.predictor
    for name, value in estimator.supernet.state_dict().items():
        assert torch.equal(loaded.supernet.state_dict()[name], value), name


def test_a_shipped_estimator_seeds_an_empty_cache(
    built: tuple[AccuracyEstimator, Calls], tiny: SearchSpace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estimator, _ = built
    monkeypatch.setattr(shipped, "SHIPPED", copy_cache(estimator, tmp_path / "package"))
    again, calls = rebuild(tiny, tmp_path / "cache")
    assert calls == [] and again.path == tmp_path / "cache" / "estimators" / estimator.path.name
    assert again.predictor == estimator.predictor


def test_estimator_for_the_data_refuses_other_data(built: tuple[AccuracyEstimator, Calls]) -> None:
    estimator, _ = built
    with pytest.raises(ConfigError, match="other"):
        estimator.score(estimator.supernet.largest(), brightness("other"))


@pytest.mark.parametrize("field", ["data", "data_digest", "teacher", "space", "space_digest", "config.lr"])
def test_folder_of_another_key_is_refused_by_name(
    built: tuple[AccuracyEstimator, Calls], tiny: SearchSpace, tmp_path: Path, field: str
) -> None:
    """The folder another key would use holds this estimator (a digest collision or a copied folder)."""
    estimator, _ = built
    space, data, teacher, config = tiny, brightness(), None, CONFIG
    if field == "data":
        data = brightness("brightness2")
    elif field == "data_digest":
        data = brightness(seed=1)
    elif field == "teacher":
        (tmp_path / "teacher").mkdir()
        (tmp_path / "teacher" / "weights.pt").write_bytes(b"weights")
        teacher = Checkpoint(tmp_path / "teacher", "resnet20", 2, nn.Identity(), {})
    elif field == "space":
        space = tiny.model_copy(update={"name": "tiny32b"})
    elif field == "space_digest":
        space = tiny.model_copy(update={"description": "changed"})
    else:
        config = SupernetConfig(epochs=1, largest_epochs=0, batch_size=16, random_subnets=1, lr=0.1, device="cpu")
    other = estimator_dir(tmp_path, EstimatorKey.of(space, data, teacher, config))
    shutil.copytree(estimator.path, other)
    with pytest.raises(ConfigError, match=rf"another {field}\b.*refused") as error:
        build_estimator(space, data, teacher, tmp_path, config, SAMPLED)
    assert str(other) in str(error.value)


def test_killed_sampling_resumes_with_the_missing_rows(
    built: tuple[AccuracyEstimator, Calls], tiny: SearchSpace, tmp_path: Path
) -> None:
    estimator, _ = built
    cache = copy_cache(estimator, tmp_path)
    folder = estimator_dir(cache, estimator.key)
    lines = (folder / SAMPLES).read_text().splitlines(keepends=True)
    (folder / SAMPLES).write_text("".join(lines[:3]) + lines[3][:20])  # header, 2 rows, a row cut mid-write
    (folder / PREDICTOR).unlink()
    again, calls = rebuild(tiny, cache)
    assert [phase for phase, _, _ in calls] == ["sampling"] * SAMPLED
    assert sample_rows(folder) == sample_rows(estimator.path)
    assert again.predictor == estimator.predictor


def test_more_samples_reuse_the_scored_rows(
    built: tuple[AccuracyEstimator, Calls], tiny: SearchSpace, tmp_path: Path
) -> None:
    estimator, _ = built
    more, calls = rebuild(tiny, copy_cache(estimator, tmp_path), SAMPLED + 2)
    assert calls == [("sampling", SAMPLED + 3, SAMPLED + 4), ("sampling", SAMPLED + 4, SAMPLED + 4)]
    assert more.predictor.samples == SAMPLED + 4


def test_load_of_an_incomplete_folder_names_what_is_missing(
    built: tuple[AccuracyEstimator, Calls], tmp_path: Path
) -> None:
    estimator, _ = built
    folder = estimator_dir(copy_cache(estimator, tmp_path), estimator.key)
    (folder / PREDICTOR).unlink()
    with pytest.raises(ConfigError, match=PREDICTOR):
        load_estimator(folder)
