"""The backend contract: export a Model to an artifact, open it as a Session, run and measure it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol

import numpy as np

from edgebench.backends._timing import Measurement, time_calls, wall_ms
from edgebench.exceptions import UnsupportedError
from edgebench.model import Model
from edgebench.types import Precision


@dataclass(frozen=True)
class Artifact:
    """A converted model file, ready for one backend at one precision."""

    path: Path
    backend: str
    precision: Precision
    input_shape: tuple[int, ...]

    @property
    def size_bytes(self) -> int:
        files = [self.path, self.path.with_suffix(".bin")] if self.path.suffix == ".xml" else [self.path]
        return sum(f.stat().st_size for f in files if f.exists())


class Opened(Protocol):
    """An artifact ready to run and time: a local `Session`, or one on a device's agent
    (`edgebench.agent_client.RemoteSession`)."""

    artifact: Artifact

    @property
    def compute(self) -> str: ...

    def run(self, x: np.ndarray) -> np.ndarray: ...

    def measure(self, x: np.ndarray | None = None, warmup: int = 10, repeats: int = 100) -> Measurement: ...

    def close(self) -> None: ...

    def __enter__(self) -> Opened: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Session(ABC):
    """An opened artifact bound to a thread count; use it as a context manager."""

    def __init__(self, artifact: Artifact, threads: int) -> None:
        self.artifact, self.threads = artifact, threads

    @abstractmethod
    def _infer(self, x: np.ndarray) -> np.ndarray:
        """Outputs (float32) of one batch-1 input."""

    @abstractmethod
    def _bind(self, x: np.ndarray) -> None:
        """Prepare the fastest repeated-call path for input ``x`` (IOBinding, infer request, ...)."""

    @abstractmethod
    def _call_bound(self) -> None:
        """One inference on the bound input, by the backend's fastest call path."""

    @property
    def compute(self) -> str:
        """The precision the runtime computes the artifact at, as far as it says: the artifact's own, unless the
        backend reads otherwise from its runtime (OpenVINO computes an FP16 model in f32 on a CPU without FP16)."""
        return str(self.artifact.precision)

    def _timed_call(self) -> float:
        """Latency (ms) of one bound inference: wall clock around the call, for every backend (TIMING_RULE)."""
        return wall_ms(self._call_bound)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Outputs for a batch of inputs, run one sample at a time (artifacts have batch 1)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        return np.concatenate([self._infer(x[i : i + 1]) for i in range(len(x))])

    def measure(self, x: np.ndarray | None = None, warmup: int = 10, repeats: int = 100) -> Measurement:
        """Warm up, then time ``repeats`` inferences of ``x`` (default: a fixed random input)."""
        if x is None:
            x = np.random.default_rng(0).standard_normal(self.artifact.input_shape, dtype=np.float32)
        self._bind(np.ascontiguousarray(x, dtype=np.float32))
        return time_calls(self._timed_call, warmup=warmup, repeats=repeats).computed_at(self.compute)

    @abstractmethod
    def close(self) -> None:
        """Release the runtime objects."""

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Backend(ABC):
    """A real inference runtime. Subclasses register themselves in ``edgebench.backends.registry``."""

    name: ClassVar[str]
    extra: ClassVar[str]  # the pip extra that installs it
    precisions: ClassVar[tuple[Precision, ...]]

    @classmethod
    @abstractmethod
    def version(cls) -> str:
        """Installed runtime version; raises BackendUnavailableError when it is missing."""

    @abstractmethod
    def _export(self, model: Model, precision: Precision, out_dir: Path, calibration: np.ndarray | None) -> Path:
        """Write the artifact file for ``precision`` into ``out_dir`` and return its path."""

    @abstractmethod
    def open(self, artifact: Artifact, threads: int) -> Session:
        """Load an artifact for inference with a fixed number of threads."""

    def export(
        self, model: Model, precision: Precision, out_dir: Path, calibration: np.ndarray | None = None
    ) -> Artifact:
        """Convert ``model`` at ``precision``; INT8 needs a calibration batch (N, *input_shape[1:])."""
        if precision not in self.precisions:
            raise UnsupportedError(
                f"backend '{self.name}' does not support {precision}; "
                f"it supports {', '.join(map(str, self.precisions))}"
            )
        if precision is Precision.INT8 and (calibration is None or len(calibration) == 0):
            raise ValueError("INT8 export needs a non-empty calibration batch")
        self.version()  # fail early, with the pip extra, if the runtime is missing
        out_dir.mkdir(parents=True, exist_ok=True)
        path = self._export(model, precision, out_dir, calibration)
        return Artifact(path=path, backend=self.name, precision=precision, input_shape=model.input_shape)
