"""OpenVINO backend on CPU: FP32 (f32 hint, never the silent bf16 default), FP16, INT8 via NNCF."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgebench.backends._optional import require
from edgebench.backends.base import Artifact, Backend, Session
from edgebench.backends.registry import register
from edgebench.model import Model
from edgebench.types import Precision

#: Inference precision per artifact precision. INT8 keeps f32 for layers NNCF leaves unquantized.
INFERENCE_HINT = {Precision.FP32: "f32", Precision.FP16: "f16", Precision.INT8: "f32"}


#: Artifact precision names of OpenVINO's inference precisions (a CPU with bf16 arithmetic runs bf16 unless told).
COMPUTE = {"f32": "fp32", "f16": "fp16", "bf16": "bf16"}


def computed_at(precision: Precision, ov_type: str) -> str:
    """What an artifact at ``precision`` computes at where OpenVINO compiled it to infer in ``ov_type`` ("f32"):
    that precision by edgebench's name ("fp32"; an unknown one as it is), INT8 for a quantized model (its float
    layers aside), and the artifact's own where OpenVINO did not say ('')."""
    if precision is Precision.INT8 or not ov_type:
        return str(precision)
    return COMPUTE.get(ov_type, ov_type)


#: The first OpenVINO that reads the IR version (v11) this one writes.
READS_IR_V11 = (2022, 1)


def source_onnx(artifact: Artifact) -> Path | None:
    """The ONNX an FP32 or FP16 IR was converted from (``src/NAME.onnx`` beside it), for a runtime too old to read
    the IR; None for INT8, whose quantization exists only in the IR."""
    if artifact.precision is Precision.INT8:
        return None
    onnx = artifact.path.parent / "src" / (artifact.path.name.rsplit(".", 2)[0] + ".onnx")
    return onnx if onnx.exists() else None


def _ov() -> Any:
    return require("openvino", "openvino", "openvino")


def compile_config(precision: Precision, threads: int) -> dict[str, Any]:
    """The CPU plugin settings edgebench uses: one stream, fixed threads, explicit precision.

    No performance hint: these explicit settings are what benchmark_app applies with ``-hint none``.
    """
    return {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": INFERENCE_HINT[precision]}


class OvSession(Session):
    def __init__(self, artifact: Artifact, threads: int) -> None:
        super().__init__(artifact, threads)
        ov = _ov()
        self._compiled = ov.Core().compile_model(str(artifact.path), "CPU", compile_config(artifact.precision, threads))
        self._request = self._compiled.create_infer_request()
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self._compute = computed_at(artifact.precision, hint)

    @property
    def compute(self) -> str:
        """What the CPU plugin compiled the float layers to compute in (an INT8 model's quantized layers aside)."""
        return self._compute

    def _infer(self, x: np.ndarray) -> np.ndarray:
        result = self._request.infer({0: x})
        return np.asarray(result[0], dtype=np.float32).copy()

    def _bind(self, x: np.ndarray) -> None:
        self._request.set_input_tensor(_ov().Tensor(x, shared_memory=True))
        self._x = x

    def _call_bound(self) -> None:
        self._request.infer(share_outputs=True)  # no copy of the outputs, as IOBinding and invoke() make none

    def close(self) -> None:
        del self._request, self._compiled


@register
class OpenVinoBackend(Backend):
    name = "openvino"
    extra = "openvino"
    precisions = (Precision.FP32, Precision.FP16, Precision.INT8)

    @classmethod
    def version(cls) -> str:
        return str(_ov().get_version()).split("-")[0]

    def _export(self, model: Model, precision: Precision, out_dir: Path, calibration: np.ndarray | None) -> Path:
        ov = _ov()
        # Core.read_model, not convert_model: the converter sends usage telemetry from forked processes.
        ir = ov.Core().read_model(str(model.to_onnx(out_dir / "src")))
        if precision is Precision.INT8:
            ir = self._quantize(ir, calibration)
        dest = out_dir / f"{model.name}.{precision}.xml"
        ov.save_model(ir, str(dest), compress_to_fp16=precision is Precision.FP16)
        return dest

    def _quantize(self, ir: Any, calibration: np.ndarray | None) -> Any:
        # NNCF sends usage telemetry unless this is set before its import; edgebench does not report on its users.
        os.environ.setdefault("NNCF_CI", "1")
        nncf = require("nncf", self.name, self.extra)
        assert calibration is not None
        samples = [calibration[i : i + 1].astype(np.float32) for i in range(len(calibration))]
        logging.getLogger("nncf").setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF draws its own progress bars
            return nncf.quantize(ir, nncf.Dataset(samples), subset_size=len(samples))

    def open(self, artifact: Artifact, threads: int) -> Session:
        return OvSession(artifact, threads)
