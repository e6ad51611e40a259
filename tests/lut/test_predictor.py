"""The predictor sums block rows plus the correction, vectorised, and names a missing block."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from edgebench.exceptions import MissingRowError
from edgebench.lut.keys import arch_keys
from edgebench.lut.predictor import Predictor, io_melems
from edgebench.lut.store import Correction
from edgebench.searching.space import SearchSpace
from tests.lut.conftest import fake_latency, synthetic_table


def test_prediction_is_the_corrected_sum_of_rows(cifar: SearchSpace) -> None:
    correction = Correction(overhead_ms=0.2, boundary_ms_per_melem=0.5, weight_ms_per_mparam=0.1)
    predictor = Predictor(synthetic_table(cifar, correction), cifar)
    arch = cifar.sample(random.Random(0))
    keys = arch_keys(cifar, arch)
    expected = 0.2 + sum(fake_latency(k) - 0.5 * io_melems(k) + 0.1 * k.params / 1e6 for k in keys)
    prediction = predictor.predict(arch)
    assert prediction.latency_ms == pytest.approx(expected, rel=1e-12)
    assert prediction.source == "predicted" and [label for label, _ in prediction.blocks] == [k.label for k in keys]


def test_vectorised_prediction_matches_one_by_one(cifar: SearchSpace) -> None:
    predictor = Predictor(synthetic_table(cifar, Correction(0.1, 0.3, 0.2)), cifar)
    rng = random.Random(1)
    archs = [cifar.sample(rng) for _ in range(300)]
    one_by_one = np.array([predictor.predict(a).latency_ms for a in archs])
    np.testing.assert_allclose(predictor.predict_many(archs), one_by_one, rtol=1e-12)


def test_missing_row_is_an_error_naming_the_block(cifar: SearchSpace) -> None:
    table = synthetic_table(cifar, drop=1)
    missing = table.rows.iloc[0]["label"]
    predictor = Predictor(table, cifar)
    rng = random.Random(2)
    archs = [cifar.sample(rng) for _ in range(2000)]
    x = np.stack([cifar.encode(a) for a in archs])
    with pytest.raises(
        MissingRowError, match=rf"no row for block '{missing}' \(its build failed: RuntimeError: boom\)"
    ):
        predictor.predict_encoded(x)


def test_predictor_throughput_is_far_above_search_needs(cifar: SearchSpace) -> None:
    predictor = Predictor(synthetic_table(cifar), cifar)
    rng = random.Random(3)
    x = np.stack([cifar.encode(cifar.sample(rng)) for _ in range(1000)])
    x = np.tile(x, (20, 1))
    started = time.perf_counter()
    predictor.predict_encoded(x)
    assert time.perf_counter() - started < 1.0  # 20,000 architectures; benchmarks/ measures the real rate


def test_fastest_architecture_is_exact_on_a_small_space(tiny: SearchSpace) -> None:
    predictor = Predictor(synthetic_table(tiny, Correction(0.1, 0.3, 0.2)), tiny)
    rng = random.Random(0)
    every = {tiny.sample(rng) for _ in range(2000)}  # the tiny space has 2 widths x (2 + 2 * 2) blocks = 12
    fastest = predictor.fastest()
    assert fastest.latency_ms == pytest.approx(min(predictor.predict_many(sorted(every, key=str))), rel=1e-12)
    assert fastest.latency_ms == pytest.approx(predictor.predict(fastest.arch).latency_ms, rel=1e-12)


def test_fastest_architecture_beats_every_sampled_one_on_the_default_space(cifar: SearchSpace) -> None:
    predictor = Predictor(synthetic_table(cifar, Correction(0.1, 0.3, 0.2)), cifar)
    rng = random.Random(4)
    sampled = predictor.predict_many([cifar.sample(rng) for _ in range(5000)])
    assert predictor.fastest().latency_ms <= sampled.min()
