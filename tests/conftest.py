"""Shared fixtures: a small MobileNetV2-style ONNX model on disk, a tiny learnable data set (the class is the
image's brightness), and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgebench.data import ImageData
from edgebench.data.dataset import make_data
from edgebench.testing.backend_suite import tiny_model


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model().to_onnx(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def bright_dark() -> ImageData:
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = rng.integers(0, 120, (120, 3, 32, 32)) + 120 * y[:, None, None, None]
    return make_data("bright-dark", ("dark", "bright"), x.astype(np.uint8), y, flip=True)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
