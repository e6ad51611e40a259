"""The baseline every search is compared with: the MobileNetV2 width-multiplier family (CIFAR strides, the same
stages as the default space), trained with the same recipe as the searched candidates.

Latency is the device's: measured by the backend when the device can be measured from here, otherwise the
profile's cost model on the network's kernels (``source=estimated``), the same model that prices estimated LUT rows.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgebench.benchmark import bench_model
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import estimate, params_for, rules_for
from edgebench.data import ImageData
from edgebench.devices import DeviceProfile
from edgebench.distill.checkpoint import METRICS, Checkpoint, save_checkpoint
from edgebench.distill.losses import DistillLoss
from edgebench.distill.networks import build_network
from edgebench.distill.train import TrainConfig, train
from edgebench.exceptions import error_text
from edgebench.model import from_module
from edgebench.nets import NETS
from edgebench.searching.estimator import data_digest, teacher_digest
from edgebench.target import source_of
from edgebench.types import AccuracySource, Precision, Source, Status

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
    accuracy_source: str = str(AccuracySource.PROXY)  # what val_top1_pct and test_top1_pct are the top-1 of

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def network_name(width: float) -> str:
    """The built-in network of the family at ``width``."""
    return f"mobilenetv2-{width}-cifar"


def family_dir(
    cache_dir: Path, data: ImageData, loss: DistillLoss, teacher: Checkpoint | None, config: TrainConfig
) -> Path:
    """Where the family trained on ``data`` with ``loss`` from ``teacher`` under ``config`` is cached: one folder
    per data set, named by a digest of the images, the teacher's weights, the loss and the recipe."""
    record = {"data": data_digest(data), "teacher": teacher_digest(teacher), "loss": loss.name,
              "loss_params": loss.params(), "config": config.to_dict()}  # fmt: skip
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir / "baselines" / f"{data.name}-{digest}"


def device_latency(
    module: nn.Module, input_shape: tuple[int, ...], profile: DeviceProfile, backend: str, precision: Precision
) -> tuple[float, str]:
    """Milliseconds of ``module`` on the device, and their source: timed by the backend (median) when the device
    is measurable from here, else the profile's cost model."""
    if source_of(profile) is Source.ESTIMATED:
        kernels = module_kernels(module.eval(), input_shape, rules_for(profile, backend, precision))
        e = estimate(kernels, params_for(profile, backend, precision))
        return e.latency_ms, str(Source.ESTIMATED)
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
    accuracy_source: AccuracySource = AccuracySource.PROXY,
) -> list[BaselineRow]:
    """Price and train each width of the family; a width that fails is a FAILED row with its reason.

    With ``checkpoints``, each is saved there by name, and a width already saved there with the same recipe, loss
    and data is read back instead of trained again (so a cache of them serves every device and budget)."""
    rows = []
    for width in widths:
        name = network_name(width)
        try:
            module = build_network(name, data.classes, config.seed)
            ms, source = device_latency(module, NETS[name].input_shape, profile, backend, precision)
            val, test, wall, folder = _trained(name, data, loss, teacher, config, checkpoints)
        except Exception as e:  # one broken baseline must not end the comparison
            row = BaselineRow(name, width, float("nan"), "", str(Status.FAILED), error_text(e),
                              accuracy_source=str(accuracy_source))  # fmt: skip
        else:
            params = sum(p.numel() for p in module.parameters())
            row = BaselineRow(name, width, ms, source, str(Status.COMPLETE), "", val, test, params, wall, folder,
                              str(accuracy_source))  # fmt: skip
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def _trained(
    name: str, data: ImageData, loss: DistillLoss, teacher: nn.Module | None, config: TrainConfig, folder: Path | None
) -> tuple[float, float | None, float, str]:
    """Validation and test top-1, training seconds and checkpoint folder of ``name`` trained with ``config``: read
    from ``folder/name`` when it holds that training, else trained now (and saved there, with a folder)."""
    saved = None if folder is None else folder / name
    if saved is not None and (saved / METRICS).is_file():
        metrics = json.loads((saved / METRICS).read_text())
        same = (metrics.get("config"), metrics.get("loss"), metrics.get("loss_params"), metrics.get("data"))
        if same == (config.to_dict(), loss.name, loss.params(), data.name):
            result = metrics["result"]
            return result["val_top1_pct"], result["test_top1_pct"], result["wall_time_s"], str(saved.resolve())
    module, result = train(name, data, loss, teacher, config)
    if saved is None:
        return result.val_top1_pct, result.test_top1_pct, result.wall_time_s, ""
    save_checkpoint(saved, name, module, data.classes, data.name, loss, config, result)
    return result.val_top1_pct, result.test_top1_pct, result.wall_time_s, str(saved.resolve())
