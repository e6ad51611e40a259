"""A two-class data set and a prune-like output folder for the runner's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgebench.distill.checkpoint import save_checkpoint
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig, TrainResult
from edgebench.nets import create_net


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-class .npz, and a prune-like output folder: a candidates table naming a student checkpoint."""
    root = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (rng.integers(0, 120, (60, 32, 32, 3)) + 120 * y[:, None, None, None]).astype(np.uint8)
    np.savez(root / "tiny.npz", x=x, y=y)
    module, _ = create_net("resnet18-0.25-cifar", classes=2)
    result = TrainResult("ce", 50.0, 50.0, 1, 1, 0.7, 1.0, 1.0, 0, "cpu")
    out = root / "prune-out"
    save_checkpoint(out / "student", "resnet18-0.25-cifar", module, 2, "npz:tiny.npz", get_loss("ce"),
                    TrainConfig(epochs=1), result)  # fmt: skip
    pd.DataFrame([{"trial": 0, "kind": "pruned", "status": "COMPLETE", "checkpoint": "student"}]).to_csv(
        out / "candidates.csv", index=False
    )
    return root / "tiny.npz", out
