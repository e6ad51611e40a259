"""Training: teachers, students, and the weight-sharing accuracy estimator; which teacher a loss distils."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edgebench.data import RESOLUTION, ImageData, load_data
from edgebench.distill import networks
from edgebench.distill.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import CrossEntropy, DistillLoss, get_loss
from edgebench.distill.networks import Network, resolve_network
from edgebench.distill.teacher import RECIPES as TEACHER_RECIPES
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import TrainConfig, TrainResult, TrainStep, train
from edgebench.exceptions import (
    ConfigError,
)
from edgebench.lut.store import writable_cache
from edgebench.searching.estimator import DEFAULT_SAMPLES, AccuracyEstimator, build_estimator
from edgebench.searching.space import SearchSpace, get_space
from edgebench.searching.supernet import SupernetConfig
from edgebench.spelling import option

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainRun:
    """A finished training run: the network, its result, the teacher it distilled (if any), its checkpoint."""

    network: str
    result: TrainResult
    teacher: Path | None = None
    teacher_test_top1_pct: float | None = None
    checkpoint: Path | None = None


def _training_network(arch: str) -> Network:
    network = resolve_network(arch)
    side = networks.resolution(network)
    if side != RESOLUTION:
        raise ConfigError(
            f"network '{arch}' is built for {side}x{side} inputs; the data loaders give {RESOLUTION}x{RESOLUTION}: "
            "train a -cifar network or an ArchSpec of a 32x32 space (mbv2-cifar)"
        )
    return network


def train_teacher(
    arch: str,
    *,
    data: str | None = None,
    config: TrainConfig | None = None,
    out: Path | None = None,
    progress: Callable[[str, TrainStep], None] | None = None,
) -> TrainRun:
    """Train a network with cross-entropy and save it as a checkpoint to distil students from.

    ``out`` defaults to ``./teachers/DATA-NETWORK`` (a teacher is trained to be distilled, so it is always saved).

    Raises:
        ConfigError: a bad data spec or files, or a network not built for 32x32 inputs.
        UnknownNameError: ``arch`` is neither an ArchSpec JSON nor a built-in network.
    """
    network = _training_network(arch)
    images = load_data(data)
    loss, config = CrossEntropy(), config or TrainConfig()
    module, result = train(network, images, loss, config=config, progress=role(progress, "teacher"))
    path = out or Path("teachers") / f"{images.name.replace(':', '-')}-{networks.label(network)}"
    save_checkpoint(path, network, module, images.classes, images.name, loss, config, result)
    return TrainRun(networks.label(network), result, checkpoint=path)


def train_student(
    arch: str,
    *,
    loss: str = "kd",
    data: str | None = None,
    teacher: Path | None = None,
    loss_params: Mapping[str, float] | None = None,
    config: TrainConfig | None = None,
    out: Path | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str, TrainStep], None] | None = None,
) -> TrainRun:
    """Train a student with a named loss, distilling ``teacher`` (a checkpoint folder) when the loss needs one.

    Without a teacher, a distillation loss on a built-in data set uses its default teacher, trained once and cached
    under ``cache_dir`` (default: ``$EDGEBENCH_CACHE`` or ``~/.cache/edgebench``); on other data it is an error,
    since a teacher must know the student's classes. With ``out``, the student is saved as a checkpoint.

    Raises:
        ConfigError: a bad data spec, checkpoint or hyper-parameter, or a teacher whose classes differ from the data's.
        UnknownNameError: an unknown loss or network.
    """
    cache_dir = writable_cache(cache_dir)
    network = _training_network(arch)
    distill_loss = get_loss(loss, loss_params)
    images = load_data(data)
    checkpoint = teacher_for(distill_loss, teacher, images, data, cache_dir, role(progress, "default teacher"))
    config = config or TrainConfig()
    teacher_module = checkpoint.module if checkpoint else None
    module, result = train(network, images, distill_loss, teacher_module, config, role(progress, "student"))
    if out is not None:
        save_checkpoint(out, network, module, images.classes, images.name, distill_loss, config, result)
    if checkpoint is None:
        return TrainRun(networks.label(network), result, checkpoint=out)
    return TrainRun(networks.label(network), result, checkpoint.path, checkpoint.test_top1_pct, out)


def teacher_for(
    loss: DistillLoss,
    teacher: Path | None,
    images: ImageData,
    data: str | None,
    cache_dir: Path | None,
    progress: Callable[[TrainStep], None] | None,
) -> Checkpoint | None:
    """The teacher a loss distils: the given checkpoint, else the default one of a built-in data set; None for a
    loss that learns from labels only. Raises ConfigError for a teacher that does not fit the data."""
    checkpoint = None
    if teacher is not None:
        if loss.needs_teacher:
            checkpoint = load_checkpoint(teacher)
        else:
            log.warning("loss '%s' learns from labels only; the teacher %s is not used", loss.name, teacher)
    if loss.needs_teacher and checkpoint is None:
        if images.name not in TEACHER_RECIPES:
            raise ConfigError(
                f"loss '{loss.name}' needs a teacher trained on '{data}': train one with `edgebench teacher train "
                f"--data {data}` and give it with {option('teacher', 'PATH')} (default teachers exist only for the "
                f"built-in {', '.join(TEACHER_RECIPES)})"
            )
        checkpoint = default_teacher(cache_dir, progress, images.name)
    if checkpoint is not None:
        if checkpoint.classes != images.classes:
            raise ConfigError(
                f"{checkpoint.path}: the teacher has {checkpoint.classes} classes, data '{images.name}' has "
                f"{images.classes}; train a teacher on this data with `edgebench teacher train --data ...`"
            )
        if checkpoint.metrics.get("data") != images.name:
            log.warning("teacher %s was trained on '%s', not on '%s'", checkpoint.path,
                        checkpoint.metrics.get("data"), images.name)  # fmt: skip
    return checkpoint


def role(progress: Callable[[str, TrainStep], None] | None, role: str) -> Callable[[TrainStep], None] | None:
    """``progress`` with the role of what is trained (teacher, student, ...) bound as its first argument."""
    return partial(progress, role) if progress else None


def trainable_space(space: str) -> SearchSpace:
    """A space whose networks take the data loaders' images; ConfigError for another input side."""
    sp = get_space(space)
    if sp.resolution != RESOLUTION:
        raise ConfigError(
            f"space '{sp.name}' is for {sp.resolution}x{sp.resolution} inputs; training uses the data loaders' "
            f"{RESOLUTION}x{RESOLUTION}: give a 32x32 space such as mbv2-cifar"
        )
    return sp


def estimator(
    *,
    space: str = "mbv2-cifar",
    data: str | None = None,
    teacher: Path | None = None,
    config: SupernetConfig | None = None,
    samples: int = DEFAULT_SAMPLES,
    cache_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AccuracyEstimator:
    """Build, resume or load the weight-sharing accuracy estimator of a 32x32 space on a data set: a supernet
    distilled from the teacher (the data's default teacher on a built-in set), ``samples`` sub-networks scored, and
    a predictor fitted on them; cached under ``cache_dir``, and reused by every search of that space and data.

    Raises:
        ConfigError, UnknownNameError: bad space, data or teacher; a cached estimator for another key in its folder.
    """
    cache_dir = writable_cache(cache_dir)
    sp = trainable_space(space)
    images = load_data(data)
    checkpoint = teacher_for(get_loss("kd"), teacher, images, data, cache_dir, None)
    return build_estimator(sp, images, checkpoint, cache_dir, config, samples, progress=progress)
