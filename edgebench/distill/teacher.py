"""Default teachers: one per built-in data set, trained once with a fixed recipe, then cached.

The default task's teacher ships with the package (``edgebench/weights/teachers/``), made by this module's own recipe
(:func:`default_teacher` on an empty cache), so every machine distils the same teacher and none has to train it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgebench import shipped
from edgebench.data import DEFAULT_DATA, load_data
from edgebench.data.clutter import NAME as CLUTTERED_DIGITS
from edgebench.data.digits import NAME as DIGITS
from edgebench.distill.checkpoint import METRICS, Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import CrossEntropy
from edgebench.distill.train import TrainConfig, TrainStep, train
from edgebench.exceptions import ConfigError
from edgebench.lut.store import default_cache_dir


@dataclass(frozen=True)
class TeacherRecipe:
    """How the default teacher of one data set is trained; bump ``version`` when anything here changes, so a stale
    cached teacher is retrained, not reused."""

    network: str
    config: TrainConfig
    version: int


#: Small enough to train on two CPU cores (2.5 minutes on digits, 33 on cluttered-digits), well above the students.
RECIPES = {
    CLUTTERED_DIGITS: TeacherRecipe("resnet18-0.5-cifar", TrainConfig(epochs=12, batch_size=64, seed=0), 1),
    DIGITS: TeacherRecipe("resnet18-0.5-cifar", TrainConfig(epochs=15, batch_size=64, patience=6, seed=0), 1),
}
DEFAULT_TEACHER = RECIPES[DEFAULT_DATA].network
DEFAULT_TEACHER_CONFIG = RECIPES[DEFAULT_DATA].config


def recipe_for(data: str) -> TeacherRecipe:
    """The default teacher's recipe for a built-in data set; ConfigError for any other data."""
    if data not in RECIPES:
        raise ConfigError(
            f"there is no default teacher for data '{data}' (only for {', '.join(RECIPES)}): train one with "
            f"`edgebench teacher train --data {data}` and give it with --teacher PATH"
        )
    return RECIPES[data]


def _folder_name(data: str) -> str:
    recipe = recipe_for(data)
    return f"{data}-{recipe.network}-r{recipe.version}"


def default_teacher_dir(cache_dir: Path | None = None, data: str = DEFAULT_DATA) -> Path:
    """Where the default teacher of ``data`` is cached: ``$EDGEBENCH_CACHE`` or ``~/.cache/edgebench``, under
    ``teachers/``."""
    return (cache_dir or default_cache_dir()) / "teachers" / _folder_name(data)


def default_teacher(
    cache_dir: Path | None = None,
    progress: Callable[[TrainStep], None] | None = None,
    data: str = DEFAULT_DATA,
) -> Checkpoint:
    """The default teacher of the built-in data set ``data``: cached, else copied from the package, else trained
    now (minutes on two cores) and cached."""
    path = default_teacher_dir(cache_dir, data)
    shipped.seed(cache_dir or default_cache_dir(), Path("teachers", _folder_name(data)), METRICS)
    if not (path / METRICS).is_file():
        recipe, images, loss = recipe_for(data), load_data(data), CrossEntropy()
        module, result = train(recipe.network, images, loss, config=recipe.config, progress=progress)
        save_checkpoint(path, recipe.network, module, images.classes, images.name, loss, recipe.config, result)
    return load_checkpoint(path)
