"""Image-classification data in memory: uint8 images split three ways, and the normalised batches training eats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from edgebench.data.augment import Augment
from edgebench.exceptions import ConfigError

#: Side of the square images every loader produces: the input of the 32x32 search space and CIFAR-form networks.
RESOLUTION = 32
#: Shares of a set that comes as one pile; a set with its own test split only has validation carved from train.
VAL_FRACTION, TEST_FRACTION = 0.1, 0.2
#: The split is part of the data, not of a training run: the same seed for every run.
SPLIT_SEED = 0


@dataclass(frozen=True, eq=False)
class Split:
    """Images as uint8 (N, 3, H, W) and their int64 labels (N,)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, eq=False)
class ImageData:
    """A classification set split into train, validation and test; ``flip`` says whether mirroring keeps labels."""

    name: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    flip: bool

    @property
    def classes(self) -> int:
        return len(self.class_names)

    @cached_property
    def normalization(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of the training images, in 0-255 units."""
        x = self.train.x
        mean = tuple(float(x[:, c].mean()) for c in range(x.shape[1]))
        std = tuple(max(float(x[:, c].std()), 1.0) for c in range(x.shape[1]))
        return mean, std


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], seed: int = SPLIT_SEED) -> list[np.ndarray]:
    """Indices of ``len(fractions) + 1`` parts: each class is shuffled and cut by the fractions, the rest last."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        cuts = np.cumsum([round(f * len(idx)) for f in fractions])
        for part, chunk in zip(parts, np.split(idx, cuts), strict=True):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def make_data(
    name: str,
    class_names: tuple[str, ...],
    x: np.ndarray,
    y: np.ndarray,
    flip: bool,
    test: tuple[np.ndarray, np.ndarray] | None = None,
) -> ImageData:
    """Split images (uint8 (N, 3, H, W)) and labels into train/val/test, stratified with the fixed seed.

    A set that brings its own ``test`` keeps it and carves validation from the rest.
    """
    if len(class_names) < 2:
        raise ConfigError(f"{name}: {len(class_names)} class(es) {list(class_names)}; a classifier needs at least two")
    y = np.asarray(y, dtype=np.int64)
    labels = y if test is None else np.concatenate([y, test[1]])
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ConfigError(f"{name}: labels must lie in 0..{len(class_names) - 1}, found {labels.min()}..{labels.max()}")
    if test is None:
        val_idx, test_idx, train_idx = stratified_split(y, (VAL_FRACTION, TEST_FRACTION))
        test_split = Split(x[test_idx], y[test_idx])
    else:
        val_idx, train_idx = stratified_split(y, (VAL_FRACTION,))
        test_split = Split(test[0], np.asarray(test[1], dtype=np.int64))
    data = ImageData(name, class_names, Split(x[train_idx], y[train_idx]), Split(x[val_idx], y[val_idx]), test_split,
                     flip)  # fmt: skip
    if not (len(data.train) and len(data.val) and len(data.test)):
        raise ConfigError(
            f"{name}: {len(y)} images are too few to split into train/val/test "
            f"({len(data.train)}/{len(data.val)}/{len(data.test)}); give at least 10 per class"
        )
    return data


def as_images(x: np.ndarray, source: str, resolution: int = RESOLUTION) -> np.ndarray:
    """uint8 images shaped (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3, as uint8 (N, 3, R, R).

    Grey images are repeated to three channels; other sizes are resized (bilinear, antialiased when shrinking).
    """
    if x.dtype != np.uint8:
        raise ConfigError(f"{source}: images must be uint8 (0-255), not {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ConfigError(
            f"{source}: images of shape {x.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3"
        )
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if x.shape[2:] != (resolution, resolution):
        x = np.concatenate([_resize(x[i : i + 4096], resolution) for i in range(0, len(x), 4096)])
    return np.ascontiguousarray(x)


def _resize(x: np.ndarray, resolution: int) -> np.ndarray:
    shrink = min(x.shape[2:]) > resolution
    t = F.interpolate(torch.from_numpy(x).float(), (resolution, resolution), mode="bilinear", antialias=shrink)
    return t.round().clamp(0, 255).to(torch.uint8).numpy()


def to_device(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's images (still uint8) and labels as tensors on ``device``."""
    return torch.from_numpy(split.x).to(device), torch.from_numpy(split.y).to(device)


def batches(
    x: torch.Tensor,
    y: torch.Tensor,
    data: ImageData,
    batch_size: int,
    generator: torch.Generator | None = None,
    augment: Augment | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Normalised float batches of uint8 images ``x`` with their labels and row indices: in order, or, with a
    ``generator``, shuffled (dropping the last partial batch when there is a full one) and augmented.

    Batches are channels-last in memory: convolutions on the CPU run up to 1.7x faster that way (MobileNetV2).
    """
    mean, std = (torch.tensor(v, device=x.device).view(1, -1, 1, 1) for v in data.normalization)
    if generator is None:
        order = torch.arange(len(y))
        size = len(y)
    else:
        order = torch.randperm(len(y), generator=generator)
        size = len(y) - len(y) % batch_size if len(y) >= batch_size else len(y)
    for i in range(0, size, batch_size):
        idx = order[i : i + batch_size].to(x.device)
        xb = (x[idx].float() - mean) / std
        if augment is not None and generator is not None:
            xb = augment(xb, generator)
        yield xb.contiguous(memory_format=torch.channels_last), y[idx], idx
