"""The default teacher: trained once on the default data (the bundled digits) with a fixed recipe, then cached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgebench.data import load_data
from edgebench.distill.checkpoint import METRICS, Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import CrossEntropy
from edgebench.distill.train import TrainConfig, TrainStep, train
from edgebench.lut.store import default_cache_dir

#: Small enough to train on two CPU cores in a few minutes, and well above the students on the digits.
DEFAULT_TEACHER = "resnet18-0.5-cifar"
DEFAULT_TEACHER_CONFIG = TrainConfig(epochs=15, batch_size=64, patience=6, seed=0)
#: Part of the cache folder's name: bump it when the recipe changes, so a stale teacher is retrained, not reused.
RECIPE = 1


def default_teacher_dir(cache_dir: Path | None = None) -> Path:
    """Where the default teacher is cached: ``$EDGEBENCH_CACHE`` or ``~/.cache/edgebench``, under ``teachers/``."""
    return (cache_dir or default_cache_dir()) / "teachers" / f"digits-{DEFAULT_TEACHER}-r{RECIPE}"


def default_teacher(cache_dir: Path | None = None, progress: Callable[[TrainStep], None] | None = None) -> Checkpoint:
    """The default teacher, trained now (a few minutes on two cores) if it is not cached yet."""
    path = default_teacher_dir(cache_dir)
    if not (path / METRICS).is_file():
        data, loss = load_data(), CrossEntropy()
        module, result = train(DEFAULT_TEACHER, data, loss, config=DEFAULT_TEACHER_CONFIG, progress=progress)
        save_checkpoint(path, DEFAULT_TEACHER, module, data.classes, data.name, loss, DEFAULT_TEACHER_CONFIG, result)
    return load_checkpoint(path)
