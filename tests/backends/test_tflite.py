"""LiteRT-specific behaviour the shared conformance suite does not reach."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from edgebench.backends import get_backend
from edgebench.exceptions import UnsupportedError
from edgebench.model import from_module, load_onnx
from edgebench.types import Precision

pytest.importorskip("ai_edge_litert")


@pytest.mark.slow
def test_an_op_the_interpreter_lacks_is_named_not_a_raw_value_error(tmp_path: Path) -> None:
    # litert-torch 0.x lowers a long chain of stride-1 max pools to a StableHLO transpose LiteRT has no kernel for
    chain = nn.Sequential(*(nn.MaxPool2d(3, 1, 1) for _ in range(11))).eval()
    backend = get_backend("tflite")
    artifact = backend.export(load_onnx(from_module("pools", chain, (1, 8, 6, 6)).to_onnx(tmp_path)),
                              Precision.FP32, tmp_path / "tflite")  # fmt: skip
    with pytest.raises(UnsupportedError, match=r"pools\.fp32\.tflite: .* no kernel for op 'STABLEHLO_TRANSPOSE'"):
        backend.open(artifact, threads=1)
