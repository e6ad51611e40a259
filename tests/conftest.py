"""Shared fixtures: a small MobileNetV2-style ONNX model on disk, a tiny learnable data set (the class is the
image's brightness), and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers share the cores: one thread each, or OpenMP spin-waits
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from typer.testing import CliRunner

from edgebench.data import ImageData
from edgebench.data.dataset import make_data
from edgebench.testing.backend_suite import tiny_model


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first, so that under two workers one of them does not run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model().to_onnx(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def bright_dark() -> ImageData:
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = rng.integers(0, 120, (120, 3, 32, 32)) + 120 * y[:, None, None, None]
    return make_data("bright-dark", ("dark", "bright"), x.astype(np.uint8), y, flip=True)


def two_class_npz_and_checkpoint(root: Path, folder: str) -> tuple[Path, Path]:
    """A two-class .npz (the class is the brightness) and an untrained resnet18-0.25-cifar checkpoint for it."""
    from edgebench.distill.checkpoint import save_checkpoint
    from edgebench.distill.losses import get_loss
    from edgebench.distill.train import TrainConfig, TrainResult
    from edgebench.nets import create_net

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (rng.integers(0, 120, (60, 32, 32, 3)) + 120 * y[:, None, None, None]).astype(np.uint8)
    np.savez(root / "tiny.npz", x=x, y=y)
    module, _ = create_net("resnet18-0.25-cifar", classes=2)
    result = TrainResult("ce", 50.0, 50.0, 1, 1, 0.7, 1.0, 1.0, 0, "cpu")
    checkpoint = save_checkpoint(root / folder, "resnet18-0.25-cifar", module, 2, "npz:tiny.npz", get_loss("ce"),
                                 TrainConfig(epochs=1), result)  # fmt: skip
    return root / "tiny.npz", checkpoint


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
