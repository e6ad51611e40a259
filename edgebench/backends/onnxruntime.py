"""ONNX Runtime backend: FP32 as exported, INT8 by static QDQ quantization (uint8 act., int8 weights)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edgebench.backends._optional import require
from edgebench.backends.base import Artifact, Backend, Session
from edgebench.backends.registry import register
from edgebench.model import Model
from edgebench.types import Precision


def _ort() -> Any:
    return require("onnxruntime", "onnxruntime", "onnxruntime")


class OrtSession(Session):
    def __init__(self, artifact: Artifact, threads: int) -> None:
        super().__init__(artifact, threads)
        ort = _ort()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self._sess = ort.InferenceSession(str(artifact.path), opts, providers=["CPUExecutionProvider"])
        self._in = self._sess.get_inputs()[0].name
        self._out = self._sess.get_outputs()[0].name
        self._binding: Any = None

    def _infer(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._sess.run([self._out], {self._in: x})[0], dtype=np.float32)

    def _bind(self, x: np.ndarray) -> None:
        self._x = x  # IOBinding keeps a pointer; keep the array alive
        self._binding = self._sess.io_binding()
        self._binding.bind_cpu_input(self._in, x)
        self._binding.bind_output(self._out, "cpu")

    def _call_bound(self) -> None:
        self._sess.run_with_iobinding(self._binding)

    def close(self) -> None:
        self._binding = None
        del self._sess


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over a numpy batch."""

    def __init__(self, input_name: str, batch: np.ndarray) -> None:
        self._items = iter([{input_name: batch[i : i + 1].astype(np.float32)} for i in range(len(batch))])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


@register
class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    extra = "onnxruntime"
    precisions = (Precision.FP32, Precision.INT8)

    @classmethod
    def version(cls) -> str:
        return str(_ort().__version__)

    def _export(self, model: Model, precision: Precision, out_dir: Path, calibration: np.ndarray | None) -> Path:
        src = model.to_onnx(out_dir / "src")
        dest = out_dir / f"{model.name}.{precision}.onnx"
        if precision is Precision.FP32:
            shutil.copyfile(src, dest)
            return dest
        quant = require("onnxruntime.quantization", self.name, self.extra)
        prep = out_dir / f"{model.name}.prep.onnx"
        quant.quant_pre_process(str(src), str(prep))
        input_name = _ort().InferenceSession(str(prep), providers=["CPUExecutionProvider"]).get_inputs()[0].name
        assert calibration is not None
        quant.quantize_static(
            str(prep),
            str(dest),
            _Calibration(input_name, calibration),
            quant_format=quant.QuantFormat.QDQ,
            activation_type=quant.QuantType.QUInt8,
            weight_type=quant.QuantType.QInt8,
            per_channel=True,
        )
        prep.unlink()
        return dest

    def open(self, artifact: Artifact, threads: int) -> Session:
        return OrtSession(artifact, threads)
