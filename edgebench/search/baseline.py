"""The baseline every search is compared with: the MobileNetV2 width-multiplier family (CIFAR strides, the same
stages as the default space), trained with the same recipe as the searched candidates.

Latency is the device's: measured by the backend when the device can be measured from here, otherwise the
profile's cost model on the network's kernels (``source=estimated``), the same model that prices estimated LUT rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgebench.bench import bench_model
from edgebench.data import ImageData
from edgebench.devices import DeviceProfile, latency_source
from edgebench.distill.checkpoint import save_checkpoint
from edgebench.distill.losses import DistillLoss
from edgebench.distill.networks import build_network
from edgebench.distill.train import TrainConfig, train
from edgebench.exceptions import error_text
from edgebench.lut.costmodel import estimate, params_for
from edgebench.lut.kernels import module_kernels
from edgebench.model import from_module
from edgebench.nets import NETS
from edgebench.types import Precision, Source, Status

#: Width multipliers of the baseline family.
WIDTHS = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class BaselineRow:
    """One member of the baseline family: its device latency (with source) and accuracy under the same recipe."""

    name: str
    width: float
    latency_ms: float
    latency_source: str
    status: str
    reason: str = ""
    val_top1_pct: float | None = None
    test_top1_pct: float | None = None
    params: int = 0
    train_s: float = 0.0
    checkpoint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def device_latency(
    module: nn.Module, input_shape: tuple[int, ...], profile: DeviceProfile, backend: str, precision: Precision
) -> tuple[float, str]:
    """Milliseconds of ``module`` on the device, and their source: timed by the backend (median) when the device
    is measurable from here, else the profile's cost model."""
    source = latency_source(profile)
    if source is Source.ESTIMATED:
        kernels = module_kernels(module.eval(), input_shape, backend, profile.channel_block(backend))
        e = estimate(kernels, params_for(profile, backend, precision))
        return e.latency_ms, str(source)
    with tempfile.TemporaryDirectory(prefix="edgebench-baseline-") as tmp:
        model = from_module("baseline", module.eval(), input_shape)
        (record,) = bench_model(model, profile, [(backend, precision)], Path(tmp))
    if record.median_ms is None:
        raise RuntimeError(record.error or "the backend returned no timing")
    return record.median_ms, record.source


def baseline_family(
    data: ImageData,
    loss: DistillLoss,
    teacher: nn.Module | None,
    config: TrainConfig,
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    widths: Sequence[float] = WIDTHS,
    on_row: Callable[[BaselineRow], None] | None = None,
    checkpoints: Path | None = None,
) -> list[BaselineRow]:
    """Price and train each width of the family (saved under ``checkpoints`` by name, when given); a width that
    fails is a FAILED row with its reason."""
    rows = []
    for width in widths:
        name = f"mobilenetv2-{width}-cifar"
        try:
            module = build_network(name, data.classes, config.seed)
            ms, source = device_latency(module, NETS[name].input_shape, profile, backend, precision)
            trained, result = train(name, data, loss, teacher, config)
            folder = ""
            if checkpoints is not None:
                saved = save_checkpoint(
                    checkpoints / name, name, trained, data.classes, data.name, loss, config, result
                )
                folder = str(saved.resolve())
        except Exception as e:  # one broken baseline must not end the comparison
            row = BaselineRow(name, width, float("nan"), "", str(Status.FAILED), error_text(e))
        else:
            row = BaselineRow(
                name, width, ms, source, str(Status.COMPLETE), "", result.val_top1_pct, result.test_top1_pct,
                sum(p.numel() for p in module.parameters()), result.wall_time_s, folder,
            )  # fmt: skip
        rows.append(row)
        if on_row:
            on_row(row)
    return rows
