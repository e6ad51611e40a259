"""How a search's or pruning's latencies were made, for the report."""

from __future__ import annotations

from typing import Any

from edgebench.costmodel.model import params_for
from edgebench.devices import DeviceProfile
from edgebench.lut.store import LutMeta
from edgebench.types import Precision, Source


def environment(prof: DeviceProfile, backend: str, prec: Precision, meta: LutMeta) -> dict[str, Any]:
    """How a search's latencies were made, as its LUT records it, for the report's provenance."""
    estimated, fit = meta.source == str(Source.ESTIMATED), meta.correction
    return {"backend_version": meta.backend_version, "threads": meta.threads, "cpu": meta.cpu, "host": meta.host,
            "calibration_rmspe_pct": calibration_error(prof, backend, prec) if estimated else None,
            "fit_rmspe_pct": 100 * fit.fit_rmspe if fit.networks else None}  # fmt: skip


def calibration_error(prof: DeviceProfile, backend: str, prec: Precision) -> float | None:
    """The held-out RMSPE of the calibration the cost model uses for this backend and precision, if any."""
    calibration = params_for(prof, backend, prec).calibration
    return calibration.held_out.rmspe_pct if calibration is not None else None
