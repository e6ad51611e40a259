"""Shared fixtures: a small MobileNetV2-style ONNX model on disk, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.testing.backend_suite import tiny_model


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model().to_onnx(tmp_path_factory.mktemp("models"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
