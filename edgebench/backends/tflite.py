"""TFLite backend (LiteRT): PyTorch -> .tflite with litert-torch, INT8 with ai-edge-quantizer."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgebench.backends._optional import require
from edgebench.backends.base import Artifact, Backend, Session
from edgebench.backends.registry import register
from edgebench.exceptions import BackendUnavailableError, UnsupportedError
from edgebench.model import Model
from edgebench.types import Precision


def _interpreter_cls() -> Any:
    """LiteRT's interpreter; tflite-runtime only as a fallback for devices that have nothing else."""
    try:
        return require("ai_edge_litert.interpreter", "tflite", "tflite").Interpreter
    except BackendUnavailableError:
        with contextlib.suppress(BackendUnavailableError):
            return require("tflite_runtime.interpreter", "tflite", "tflite").Interpreter
        raise


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence the converters' console chatter (Python prints and native stderr lines)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class TfliteSession(Session):
    def __init__(self, artifact: Artifact, threads: int) -> None:
        super().__init__(artifact, threads)
        try:
            with _quiet():  # the XNNPACK delegate announces itself on stderr
                self._interp = _interpreter_cls()(model_path=str(artifact.path), num_threads=threads)
                self._interp.allocate_tensors()
        except ValueError as e:
            missing = re.search(r"Didn't find op for builtin opcode '([^']+)'", str(e))
            if not missing:
                raise
            raise UnsupportedError(
                f"{artifact.path.name}: the LiteRT interpreter has no kernel for op '{missing.group(1)}', which "
                "litert-torch converted the model to; time it with another backend, or change the layers that "
                "produce it"
            ) from e
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]

    def _quantize_input(self, x: np.ndarray) -> np.ndarray:
        dtype = self._in["dtype"]
        if dtype == np.float32:
            return x
        scale, zero = self._in["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _infer(self, x: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self._in["index"], self._quantize_input(x))
        self._interp.invoke()
        y = self._interp.get_tensor(self._out["index"]).astype(np.float32)
        if self._out["dtype"] != np.float32:
            scale, zero = self._out["quantization"]
            y = (y - zero) * scale
        return y

    def _bind(self, x: np.ndarray) -> None:
        self._interp.set_tensor(self._in["index"], self._quantize_input(x))

    def _call_bound(self) -> None:
        self._interp.invoke()

    def close(self) -> None:
        del self._interp


@register
class TfliteBackend(Backend):
    name = "tflite"
    extra = "tflite"
    precisions = (Precision.FP32, Precision.INT8)

    @classmethod
    def version(cls) -> str:
        _interpreter_cls()
        from importlib.metadata import PackageNotFoundError, version

        for dist in ("ai-edge-litert", "tflite-runtime"):
            with contextlib.suppress(PackageNotFoundError):
                return version(dist)
        return "unknown"

    def _export(self, model: Model, precision: Precision, out_dir: Path, calibration: np.ndarray | None) -> Path:
        fp32 = out_dir / f"{model.name}.fp32.tflite"
        with _quiet():  # importing litert_torch alone prints a page of warnings
            litert_torch = require("litert_torch", self.name, self.extra)
            litert_torch.convert(model.module(), (torch.zeros(model.input_shape),)).export(str(fp32))
        if precision is Precision.FP32:
            return fp32
        assert calibration is not None
        dest = out_dir / f"{model.name}.{precision}.tflite"
        self._quantize_int8(fp32, dest, calibration)
        return dest

    def _quantize_int8(self, src: Path, dest: Path, calibration: np.ndarray) -> None:
        with _quiet():
            aeq = require("ai_edge_quantizer", self.name, self.extra)
        quantizer = aeq.quantizer.Quantizer(str(src))
        quantizer.load_quantization_recipe(aeq.recipe.static_wi8_ai8())
        signature = _interpreter_cls()(model_path=str(src)).get_signature_list()
        key = next(iter(signature))
        input_name = signature[key]["inputs"][0]
        samples = [{input_name: calibration[i : i + 1].astype(np.float32)} for i in range(len(calibration))]
        with _quiet():
            result = quantizer.quantize(quantizer.calibrate({key: samples}))
            result.export_model(str(dest), overwrite=True)

    def open(self, artifact: Artifact, threads: int) -> Session:
        return TfliteSession(artifact, threads)
