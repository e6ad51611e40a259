"""Batches are normalised with the training statistics; augmentation shifts within the padding, flips only when
asked, and repeats exactly under the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgebench.data import Augment, ImageData, batches, to_device
from edgebench.data.dataset import make_data


@pytest.fixture
def data() -> ImageData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (100, 3, 32, 32), dtype=np.uint8)
    x[:, 1] //= 2  # a darker green channel, to see per-channel statistics
    return make_data("random", ("a", "b"), x, np.arange(100) % 2, flip=True)


def test_batches_are_normalised_with_the_training_statistics(data: ImageData) -> None:
    mean, _ = data.normalization
    assert mean[1] == pytest.approx(data.train.x[:, 1].mean()) and mean[1] < 0.6 * mean[0]
    x, y = to_device(data.train, torch.device("cpu"))
    xb = torch.cat([b for b, _, _ in batches(x, y, data, 16)])
    assert xb.shape == (len(data.train), 3, 32, 32)
    assert xb.mean(dim=(0, 2, 3)).abs().max() < 1e-4 and (xb.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3


def test_shuffled_batches_drop_the_last_partial_one_and_repeat_by_seed(data: ImageData) -> None:
    x, y = to_device(data.train, torch.device("cpu"))
    first = [yb for _, yb, _ in batches(x, y, data, 16, torch.Generator().manual_seed(1))]
    again = [yb for _, yb, _ in batches(x, y, data, 16, torch.Generator().manual_seed(1))]
    assert [len(b) for b in first] == [16] * (len(data.train) // 16)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(torch.cat(first), y[: len(torch.cat(first))])


def test_crop_shifts_each_image_within_the_padding() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    out = Augment(pad=2, flip=False)(x, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)


def test_flip_mirrors_about_half_and_never_when_off() -> None:
    x = torch.randn(64, 3, 4, 4)
    flipped = Augment(pad=0, flip=True)(x, torch.Generator().manual_seed(0))
    mirrored = [bool(torch.equal(flipped[i], x[i].flip(2))) for i in range(64)]
    assert all(m or torch.equal(flipped[i], x[i]) for i, m in enumerate(mirrored))
    assert 16 < sum(mirrored) < 48
    assert torch.equal(Augment(pad=0, flip=False)(x, torch.Generator().manual_seed(0)), x)
