"""A two-class data set and a prune-like output folder for the runner's tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import two_class_npz_and_checkpoint


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-class .npz, and a prune-like output folder: a candidates table naming a student checkpoint."""
    root = tmp_path_factory.mktemp("run")
    data, _ = two_class_npz_and_checkpoint(root, "prune-out/student")
    out = root / "prune-out"
    pd.DataFrame([{"trial": 0, "kind": "pruned", "status": "COMPLETE", "checkpoint": "student"}]).to_csv(
        out / "candidates.csv", index=False
    )
    return data, out
