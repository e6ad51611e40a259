"""Validation metrics are nn-Meter's; a real validation of the tiny LUT writes its table and plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgebench import api
from edgebench.devices import get_device
from edgebench.lut.builder import BuildResult
from edgebench.lut.metrics import Metrics, kendall_tau
from edgebench.searching.space import SearchSpace
from tests.lut.test_builder import SETTINGS, built  # noqa: F401  (module fixture)


def test_metrics_on_known_errors() -> None:
    measured = np.array([1.0, 2.0, 3.0, 4.0])
    m = Metrics.of(measured, measured * np.array([1.04, 0.92, 1.0, 1.2]))
    assert m.within_5_pct == 50 and m.within_10_pct == 75
    assert m.rmspe_pct == pytest.approx(100 * np.sqrt((0.04**2 + 0.08**2 + 0.2**2) / 4))
    assert m.rmse_ms == pytest.approx(np.sqrt((0.04**2 + 0.16**2 + 0.8**2) / 4))
    assert kendall_tau(measured, measured[::-1].copy()) == pytest.approx(-1.0)
    assert kendall_tau(measured, np.array([1.0, 3.0, 2.0, 4.0])) == pytest.approx(4 / 6)


def test_validation_of_a_real_lut(built: tuple[BuildResult, Path], tiny: SearchSpace) -> None:  # noqa: F811
    result, cache = built
    v, png = api.validate_lut(get_device("host"), result, tiny, n=5, cache_dir=cache, settings=SETTINGS)
    assert v.metrics.n == 5 and len(v.networks) == 5
    assert (v.networks["measured_ms"] > 0).all() and (v.networks["predicted_ms"] > 0).all()
    assert -1 <= v.metrics.kendall_tau <= 1 and v.row_drift_pct >= 0
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert png.with_suffix(".csv").exists()
