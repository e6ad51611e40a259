"""A synthetic LUT (latency a known function of the key) for predictor and store tests, and a tiny space."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edgebench.backends import TIMING_RULE, get_backend
from edgebench.lut.keys import LutKey, enumerate_keys
from edgebench.lut.store import Correction, LutMeta, LutTable
from edgebench.searching.space import SearchSpace, get_space, load_space

TINY_SPACE = Path(__file__).with_name("tiny.yaml")


def fake_latency(key: LutKey) -> float:
    return 0.01 * key.in_channels + 0.001 * key.out_channels * key.kernel + (0.05 if key.se else 0.0)


def synthetic_table(space: SearchSpace, correction: Correction | None = None, drop: int = 0) -> LutTable:
    rows = []
    for i, key in enumerate(enumerate_keys(space)):
        failed = i < drop
        rows.append(
            {
                **key.to_row(),
                "label": key.label,
                "latency_ms": None if failed else fake_latency(key),
                "source": "measured",
                "status": "FAILED" if failed else "COMPLETE",
                "error": "RuntimeError: boom" if failed else "",
            }
        )
    meta = LutMeta(
        device="host", backend="onnxruntime", backend_version=get_backend("onnxruntime").version(), precision="fp32",
        space=space.name,
        resolution=space.resolution, threads=1, source="measured", statistic="p25", passes=1, window=1,
        host="test", created="2026-01-01T00:00:00+00:00", correction=correction or Correction(), timing=TIMING_RULE,
    )  # fmt: skip
    return LutTable(meta, pd.DataFrame(rows))


@pytest.fixture
def cifar() -> SearchSpace:
    return get_space("mbv2-cifar")


@pytest.fixture
def tiny() -> SearchSpace:
    return load_space(TINY_SPACE)
