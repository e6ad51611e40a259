"""Model: the network a backend converts, held as a PyTorch module, an ONNX file, or both."""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from edgebench.exceptions import ModelLoadError, UnsupportedOpError

ONNX_OPSET = 17


@dataclass
class Model:
    """A single-input, single-output network with a static input shape (batch first, batch 1).

    Backends that start from ONNX call :meth:`to_onnx`; those that start from PyTorch call
    :meth:`module`. Either form is derived from the other on first use.
    """

    name: str
    input_shape: tuple[int, ...]
    torch_module: torch.nn.Module | None = None
    onnx_path: Path | None = None
    _onnx_module: torch.nn.Module | None = field(default=None, repr=False)
    #: What computed the last :meth:`reference` outputs: "pytorch" or "onnxruntime".
    reference_name: str = field(default="pytorch", init=False)

    def __post_init__(self) -> None:
        if self.torch_module is None and self.onnx_path is None:
            raise ValueError("a Model needs a torch module or an ONNX file")

    def module(self) -> torch.nn.Module:
        """The network as an eval-mode PyTorch module (imported from ONNX if that is all there is)."""
        if self.torch_module is not None:
            return self.torch_module.eval()
        if self._onnx_module is None:
            from edgebench.onnx_import import onnx_to_torch

            assert self.onnx_path is not None
            self._onnx_module = onnx_to_torch(onnx.load(str(self.onnx_path)))
        return self._onnx_module

    def to_onnx(self, out_dir: Path) -> Path:
        """Write the network as ``out_dir/NAME.onnx`` (exported or copied) and return the path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / f"{self.name}.onnx"
        if self.onnx_path is not None:
            if self.onnx_path.resolve() != dest.resolve():
                shutil.copyfile(self.onnx_path, dest)
            return dest
        example = torch.zeros(self.input_shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                self.module(),
                (example,),
                str(dest),
                input_names=["input"],
                output_names=["output"],
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        return dest

    def reference(self, x: np.ndarray) -> np.ndarray:
        """Reference outputs for a batch, one sample at a time as the backends run it (see :attr:`reference_name`).

        For an ONNX file, ONNX Runtime's CPU run of the file itself: edgebench's importer is what TFLite conversion
        goes through, so it cannot be its own check (PyTorch on the imported module only if ONNX Runtime cannot
        load the file). For a network edgebench holds, PyTorch.
        """
        if self.torch_module is None and self.onnx_path is not None:
            try:
                return self._onnxruntime_reference(x)
            except ModelLoadError as ort_error:
                try:
                    module = self.module()
                except UnsupportedOpError as e:
                    raise ModelLoadError(f"{ort_error}; and PyTorch cannot hold op '{e.op_type}'") from None
                return self._pytorch_reference(module, x, "pytorch (imported)")
        return self._pytorch_reference(self.module(), x, "pytorch")

    def _pytorch_reference(self, module: torch.nn.Module, x: np.ndarray, name: str) -> np.ndarray:
        self.reference_name = name
        with torch.inference_mode():
            outs = [module(torch.from_numpy(x[i : i + 1])).numpy() for i in range(len(x))]
        return np.concatenate(outs)

    def _onnxruntime_reference(self, x: np.ndarray) -> np.ndarray:
        import onnxruntime as ort

        assert self.onnx_path is not None
        try:
            session = ort.InferenceSession(str(self.onnx_path), providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own Fail/InvalidGraph types
            raise ModelLoadError(
                f"{self.onnx_path}: no reference to check parity against: ONNX Runtime cannot load the file "
                f"({_first_line(e)})"
            ) from e
        name = session.get_inputs()[0].name
        self.reference_name = "onnxruntime"
        return np.concatenate([session.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def from_module(name: str, module: torch.nn.Module, input_shape: tuple[int, ...]) -> Model:
    """Wrap a PyTorch module; ``input_shape`` includes the batch dimension, which must be 1."""
    if input_shape[0] != 1:
        raise ValueError(f"input_shape must have batch 1, got {input_shape}")
    return Model(name=name, input_shape=tuple(input_shape), torch_module=module.eval())


def check_onnx(path: Path) -> onnx.ModelProto:
    """The ONNX model in ``path``, checked.

    Raises:
        ModelLoadError: the file is missing, or is not a valid ONNX model (an empty file, junk, a broken graph).
    """
    if path.is_dir():
        raise ModelLoadError(f"{path}: a folder, not a model file; give an .onnx file (`edgebench run` takes "
                             "checkpoint folders)")  # fmt: skip
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as e:  # onnx raises DecodeError, ValidationError, ... for junk files
        raise ModelLoadError(f"{path}: not a valid ONNX model ({_first_line(e)})") from None
    return proto


def load_onnx(path: str | Path) -> Model:
    """Load and check an ONNX file; a symbolic batch dimension is fixed to 1.

    Raises:
        ModelLoadError: the file is missing, is not ONNX, or has not exactly one input and output.
    """
    path = Path(path)
    proto = check_onnx(path)
    init_names = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in init_names]
    if len(inputs) != 1 or len(proto.graph.output) != 1:
        raise ModelLoadError(
            f"{path}: edgebench benchmarks single-input single-output models; this one has "
            f"{len(inputs)} inputs and {len(proto.graph.output)} outputs"
        )
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
    if not shape or any(d.dim_value <= 0 for d in dims[1:]):
        raise ModelLoadError(f"{path}: input '{inputs[0].name}' needs a static shape after the batch dim")
    return Model(name=path.stem, input_shape=shape, onnx_path=path)
