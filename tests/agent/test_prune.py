"""Pruning's per-layer latency table on a device behind an agent: timed there, labelled ``agent``."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.devices import load_profile
from edgebench.lut.builder import BuildSettings
from edgebench.pruning.latency import build_layer_table
from edgebench.types import Precision, Source
from tests.agent.conftest import ENV, TOKEN, board_profile


def test_a_layer_table_is_timed_through_the_agent(agent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    board = load_profile(board_profile(tmp_path, agent))
    settings = BuildSettings(passes=1, window=5, warmup=2, workers=1)
    table = build_layer_table("resnet18-0.25-cifar", 10, board, "onnxruntime", Precision.FP32, tmp_path, 2, settings)
    assert table.source is Source.AGENT and set(table.rows["source"]) == {"agent"}
    assert (table.rows["latency_ms"] > 0).all() and 0.3 < table.scale < 3.0
