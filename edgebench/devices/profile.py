"""DeviceProfile: what a device runs, how to reach it, and its cost-model parameters with provenance."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edgebench.exceptions import UnsupportedError
from edgebench.types import KernelKind, Precision, SizeClass, Source

#: Runtimes a profile may name. TensorRT is a real Jetson runtime edgebench estimates but does not drive.
KNOWN_RUNTIMES = ("onnxruntime", "openvino", "tflite", "tensorrt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """A number together with where it came from."""

    value: float = Field(ge=0)
    source: str = Field(min_length=1)
    note: str = ""


class Runtime(_Strict):
    """A backend the device really runs, and at which precisions."""

    backend: str
    precisions: tuple[Precision, ...] = Field(min_length=1)

    @field_validator("backend")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in KNOWN_RUNTIMES:
            raise ValueError(f"unknown runtime '{v}', expected one of {', '.join(KNOWN_RUNTIMES)}")
        return v


class AgentConnection(_Strict):
    """A remote measurement agent running on the device."""

    agent: str = Field(pattern=r"^https?://")
    token_env: str = "EDGEBENCH_AGENT_TOKEN"


def _fractions(v: dict[KernelKind, float]) -> dict[KernelKind, float]:
    bad = [str(k) for k, e in v.items() if not 0 < e <= 1]
    if bad:
        raise ValueError(f"efficiency must be in (0, 1] for {', '.join(bad)}")
    return v


class FitError(_Strict):
    """How well a calibration predicts networks it was not fitted on (nn-Meter's metrics)."""

    networks: int = Field(ge=1)
    rmspe_pct: float = Field(ge=0)
    within_10_pct: float = Field(ge=0, le=100)
    kendall_tau: float = Field(ge=-1, le=1)


class Calibration(_Strict):
    """Cost-model parameters fitted on end-to-end measurements of one backend at one precision."""

    backend: str
    precision: Precision
    threads: int = Field(ge=1)
    fitted_on: str = Field(min_length=1)
    date: datetime.date
    efficiency: dict[KernelKind, float] = Field(min_length=1)
    size_factor: dict[KernelKind, dict[SizeClass, float]] = {}
    overhead_per_layer_ms: float = Field(ge=0)
    overhead_per_network_ms: float = Field(ge=0)
    held_out: FitError

    @field_validator("efficiency")
    @classmethod
    def _fractions(cls, v: dict[KernelKind, float]) -> dict[KernelKind, float]:
        return _fractions(v)


class CostModel(_Strict):
    """Roofline priors with provenance: a kernel takes max(flops / (peak x eff), bytes / (bandwidth x eff)) plus a
    fixed per-layer overhead, where eff = efficiency[kind] (times a per-kind size-class factor that calibration
    fits, 1 before it); a network adds a fixed per-network overhead. ``peak_gflops`` is the whole device's (all
    ``cores``); at fewer threads it is scaled down, each thread past the first adding ``parallel_efficiency`` of a
    core. ``calibrations`` hold parameters fitted on measurements, per backend and precision."""

    peak_gflops: dict[Precision, Sourced] = Field(min_length=1)
    memory_bandwidth_gbps: Sourced
    efficiency: dict[KernelKind, Sourced] = Field(min_length=1)
    overhead_per_layer_ms: Sourced
    overhead_per_network_ms: Sourced
    cores: int = Field(default=1, ge=1)
    parallel_efficiency: Sourced | None = None
    calibrations: tuple[Calibration, ...] = ()

    @field_validator("efficiency")
    @classmethod
    def _fractions(cls, v: dict[KernelKind, Sourced]) -> dict[KernelKind, Sourced]:
        _fractions({k: s.value for k, s in v.items()})
        return v

    @model_validator(mode="after")
    def _complete(self) -> CostModel:
        missing = [str(k) for k in KernelKind if k not in self.efficiency]
        if missing:
            raise ValueError(f"efficiency needs every kernel kind; missing: {', '.join(missing)}")
        if self.cores > 1 and self.parallel_efficiency is None:
            raise ValueError("parallel_efficiency is required when cores > 1")
        return self


class DeviceProfile(_Strict):
    """One edge device as edgebench knows it, parsed strictly from ``devices/NAME.yaml``."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    kind: Literal["vpu", "cpu", "gpu"]
    processor: str
    runtimes: tuple[Runtime, ...] = Field(min_length=1)
    threads: int = Field(ge=1)
    channel_multiple: int = Field(default=1, ge=1)
    connection: Literal["local", "none"] | AgentConnection
    cost_model: CostModel

    @model_validator(mode="after")
    def _unique_runtimes(self) -> DeviceProfile:
        names = [r.backend for r in self.runtimes]
        if len(names) != len(set(names)):
            raise ValueError(f"runtimes lists a backend twice: {names}")
        return self

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(r.backend for r in self.runtimes)

    def precisions(self, backend: str) -> tuple[Precision, ...]:
        """Precisions the device runs on ``backend``; raise UnsupportedError if it does not run it."""
        for r in self.runtimes:
            if r.backend == backend:
                return r.precisions
        raise UnsupportedError(
            f"device '{self.name}' does not run backend '{backend}'; it runs: {', '.join(self.backends)}"
        )

    def check_supports(self, backend: str, precision: Precision) -> None:
        """Raise UnsupportedError unless the device runs ``backend`` at ``precision``."""
        allowed = self.precisions(backend)
        if precision not in allowed:
            raise UnsupportedError(
                f"device '{self.name}' runs {backend} only at {', '.join(map(str, allowed))}, "
                f"not {precision}; choose --precision {allowed[0]}"
            )


def latency_source(profile: DeviceProfile) -> Source:
    """Where this device's latencies come from: measured here, through its agent, or estimated."""
    if profile.connection == "local":
        return Source.MEASURED
    if isinstance(profile.connection, AgentConnection):
        return Source.AGENT
    return Source.ESTIMATED
