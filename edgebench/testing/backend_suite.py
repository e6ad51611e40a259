"""BackendConformance: the tests every backend must pass. Subclass it and set ``backend_name``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from edgebench import parity
from edgebench.backends import Artifact, Backend, get_backend
from edgebench.exceptions import UnsupportedError
from edgebench.model import Model, from_module, load_onnx
from edgebench.nets import settle_batchnorm
from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual
from edgebench.types import Precision

INPUT_SHAPE = (1, 3, 16, 16)


def tiny_model() -> Model:
    """A small MobileNetV2-style network: stem, two inverted residuals (one residual), head."""
    torch.manual_seed(0)
    net = nn.Sequential(
        ConvBNAct(3, 8, 3, 2),
        InvertedResidual(8, 8, 1, 3),
        InvertedResidual(8, 16, 2, 3, kernel=5),
        ClassifierHead(16, 5),
    )
    return from_module("tiny", settle_batchnorm(net, INPUT_SHAPE), INPUT_SHAPE)


class BackendConformance:
    """Export, parity, run and measure contract. Artifacts are built once per class and precision."""

    backend_name: ClassVar[str]

    @pytest.fixture(scope="class")
    def backend(self) -> Backend:
        return get_backend(self.backend_name)

    @pytest.fixture(scope="class")
    def model(self) -> Model:
        return tiny_model()

    @pytest.fixture(scope="class")
    def artifacts(
        self, backend: Backend, model: Model, tmp_path_factory: pytest.TempPathFactory
    ) -> dict[Precision, Artifact]:
        out = tmp_path_factory.mktemp(self.backend_name)
        calib = np.random.default_rng(0).standard_normal((16, *INPUT_SHAPE[1:]), dtype=np.float32)
        return {p: backend.export(model, p, out / str(p), calib) for p in backend.precisions}

    def test_version_is_reported(self, backend: Backend) -> None:
        assert backend.version()[0].isdigit()

    def test_fp32_is_supported(self, backend: Backend) -> None:
        assert Precision.FP32 in backend.precisions

    def test_every_precision_passes_parity(
        self, backend: Backend, model: Model, artifacts: dict[Precision, Artifact]
    ) -> None:
        x = parity.parity_inputs(model.input_shape)
        reference = model.reference(x)
        for precision, artifact in artifacts.items():
            assert artifact.path.is_file() and artifact.size_bytes > 0
            assert artifact.backend == self.backend_name and artifact.precision is precision
            with backend.open(artifact, threads=1) as session:
                result = parity.check(reference, session.run(x), self.backend_name, precision)
            assert result.ok

    def test_run_returns_one_row_per_sample(self, backend: Backend, artifacts: dict[Precision, Artifact]) -> None:
        x = np.zeros((3, *INPUT_SHAPE[1:]), dtype=np.float32)
        with backend.open(artifacts[Precision.FP32], threads=1) as session:
            assert session.run(x).shape == (3, 5)

    def test_measure_returns_consistent_statistics(
        self, backend: Backend, artifacts: dict[Precision, Artifact]
    ) -> None:
        with backend.open(artifacts[Precision.FP32], threads=1) as session:
            m = session.measure(warmup=2, repeats=25)
        assert m.count == 25 == len(m.samples_ms)
        assert 0 < m.p10_ms <= m.median_ms <= m.p90_ms
        assert min(m.samples_ms) <= m.median_ms <= max(m.samples_ms)

    def test_each_precision_says_what_it_computes_at(
        self, backend: Backend, artifacts: dict[Precision, Artifact]
    ) -> None:
        for precision, artifact in artifacts.items():
            with backend.open(artifact, threads=1) as session:
                m = session.measure(warmup=1, repeats=3)
            assert m.compute == session.compute in {"fp32", "fp16", "bf16", "int8"}
            assert session.compute == str(precision) or precision is Precision.FP16  # FP16 may run wider

    def test_exports_from_an_onnx_file(self, backend: Backend, model: Model, tmp_path: Path) -> None:
        onnx_model = load_onnx(model.to_onnx(tmp_path / "src"))
        artifact = backend.export(onnx_model, Precision.FP32, tmp_path / "out")
        x = parity.parity_inputs(model.input_shape)
        with backend.open(artifact, threads=1) as session:
            assert parity.check(model.reference(x), session.run(x), self.backend_name, Precision.FP32).ok

    def test_unsupported_precision_is_refused(self, backend: Backend, model: Model, tmp_path: Path) -> None:
        missing = [p for p in Precision if p not in backend.precisions]
        for precision in missing:
            with pytest.raises(UnsupportedError, match=f"does not support {precision}"):
                backend.export(model, precision, tmp_path)

    def test_int8_needs_calibration(self, backend: Backend, model: Model, tmp_path: Path) -> None:
        if Precision.INT8 in backend.precisions:
            with pytest.raises(ValueError, match="calibration"):
                backend.export(model, Precision.INT8, tmp_path)
