"""The baseline family: each width priced on the device and trained, a FAILED row for a width that breaks, and a
family saved once serves later searches (read back, not trained again) unless the recipe differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgebench import shipped
from edgebench.data import load_data
from edgebench.devices import get_device
from edgebench.distill.checkpoint import METRICS
from edgebench.distill.losses import get_loss
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import FINAL, TrainConfig
from edgebench.searching import baseline
from edgebench.searching.baseline import WIDTHS, baseline_family, family_dir, network_name
from edgebench.types import AccuracySource, Precision
from tests.search.test_estimator import brightness

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = TrainConfig(epochs=1, batch_size=16, augment=False, device="cpu")


def family(folder: Path | None, config: TrainConfig = QUICK, widths: tuple[float, ...] = (0.25,)) -> list[Any]:
    myriadx = get_device("myriadx")
    return baseline_family(brightness(), get_loss("ce"), None, config, myriadx, "openvino", Precision.FP16, widths,
                           checkpoints=folder, accuracy_source=AccuracySource.TRAINED)  # fmt: skip


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The networks trained from now on."""
    calls: list[str] = []
    real = baseline.train

    def counted(network: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(network)
        return real(network, *args, **kwargs)

    monkeypatch.setattr(baseline, "train", counted)
    return calls


def test_a_saved_family_is_read_back_not_trained_again(tmp_path: Path, trainings: list[str]) -> None:
    (first,) = family(tmp_path)
    assert first.status == "COMPLETE" and first.accuracy_source == "trained" and first.latency_source == "estimated"
    assert trainings == ["mobilenetv2-0.25-cifar"] and Path(first.checkpoint).is_dir()
    (again,) = family(tmp_path)
    assert trainings == ["mobilenetv2-0.25-cifar"] and again == first
    family(tmp_path, TrainConfig(epochs=1, batch_size=8, augment=False, device="cpu"))  # another recipe: trained
    assert len(trainings) == 2


def test_a_width_that_breaks_is_a_failed_row(tmp_path: Path) -> None:
    broken, fine = family(None, widths=(0.3, 0.25))
    assert broken.status == "FAILED" and "mobilenetv2-0.3-cifar" in broken.reason
    assert fine.status == "COMPLETE" and fine.checkpoint == ""


def test_the_family_folder_is_keyed_by_data_loss_and_recipe(tmp_path: Path) -> None:
    data, kd, ce = brightness(), get_loss("kd"), get_loss("ce")
    cases = [(data, ce, QUICK), (brightness(seed=1), ce, QUICK), (data, kd, QUICK), (data, ce, TrainConfig())]
    folders = {family_dir(tmp_path, d, loss, None, config) for d, loss, config in cases}
    assert len(folders) == 4 and all(f.parent == tmp_path / "baselines" for f in folders)


def test_the_default_tasks_family_ships_where_the_default_search_looks(tmp_path: Path, trainings: list[str]) -> None:
    data, kd, teacher = load_data(), get_loss("kd"), default_teacher(tmp_path)
    folder = family_dir(tmp_path, data, kd, teacher, FINAL)
    for width in WIDTHS:  # as the one-shot search seeds an empty cache
        assert shipped.seed(tmp_path, folder.relative_to(tmp_path) / network_name(width), METRICS), width
    rows = baseline_family(data, kd, teacher.module, FINAL, get_device("myriadx"), "openvino", Precision.FP16,
                           checkpoints=folder, accuracy_source=AccuracySource.TRAINED)  # fmt: skip
    assert trainings == [] and [r.status for r in rows] == ["COMPLETE"] * len(WIDTHS)  # read back: hours saved
    top1 = [r.test_top1_pct for r in rows]
    assert top1 == sorted(top1) and top1[-1] - top1[0] >= 3  # the default task separates the narrowest and widest
