"""The default task: cluttered digits, drawn deterministically from disjoint base digits per split, and cached."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgebench.data import DEFAULT_DATA, load_data
from edgebench.data.clutter import NAME, RECIPE, cache_path, generate, load_cluttered_digits, render

SMALL = replace(RECIPE, train_images=300, val_images=100, test_images=200)


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return generate(SMALL)


def test_it_is_the_default_data_and_meets_the_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBENCH_CACHE", str(tmp_path))
    data = load_data()
    assert DEFAULT_DATA == NAME and data.name == NAME and data.classes == 10 and not data.flip
    assert len(data.val) >= 2000 and len(data.test) >= 4000  # one test image is at most 0.025 points
    assert (len(data.train), len(data.val), len(data.test)) == (RECIPE.train_images, RECIPE.val_images,
                                                                RECIPE.test_images)  # fmt: skip
    assert data.train.x.shape[1:] == (3, 32, 32) and data.train.x.dtype == np.uint8
    for split in (data.train, data.val, data.test):  # every class about equally often
        counts = np.bincount(split.y, minlength=10)
        assert counts.min() >= 0.8 * counts.mean()
    assert cache_path(tmp_path).is_file()


def test_no_base_digit_is_shared_between_splits(arrays: dict[str, np.ndarray]) -> None:
    bases = {s: set(arrays[f"{s}_base"].tolist()) for s in ("train", "val", "test")}
    assert not bases["train"] & bases["test"] and not bases["train"] & bases["val"] and not bases["val"] & bases["test"]
    assert len(bases["test"]) == 200 and len(bases["val"]) == 100  # fewer images than base digits: each once
    assert len(arrays["train_x"]) == 300 and len(arrays["test_y"]) == 200


def test_drawing_is_deterministic_and_the_seed_matters() -> None:
    glyphs = np.random.default_rng(0).random((20, 8, 8)).astype(np.float32)
    a, order_a = render(glyphs, 50, RECIPE, seed=1)
    b, order_b = render(glyphs, 50, RECIPE, seed=1)
    c, _ = render(glyphs, 50, RECIPE, seed=2)
    assert np.array_equal(a, b) and np.array_equal(order_a, order_b)
    assert not np.array_equal(a, c)
    assert sorted(np.bincount(order_a, minlength=20).tolist()) == [2] * 10 + [3] * 10  # each digit in turn


def test_images_are_coloured_noisy_and_hold_the_digit(arrays: dict[str, np.ndarray]) -> None:
    x = arrays["test_x"].astype(np.float64)
    assert np.abs(x[:, 0] - x[:, 1]).mean() > 10  # colour: the channels differ
    assert x.std(axis=(1, 2, 3)).min() > 5  # no blank image
    ones, zeros = x[arrays["test_y"] == 1], x[arrays["test_y"] == 0]
    assert not np.allclose(ones.mean(0), zeros.mean(0), atol=1)


def test_the_cache_is_read_back_and_a_broken_one_is_regenerated(tmp_path: Path) -> None:
    first = load_cluttered_digits(cache_dir=tmp_path, recipe=SMALL)
    path = cache_path(tmp_path, SMALL)
    assert path != cache_path(tmp_path) and path.is_file()  # another recipe, another file
    stamp = path.stat().st_mtime_ns
    again = load_cluttered_digits(cache_dir=tmp_path, recipe=SMALL)
    assert path.stat().st_mtime_ns == stamp and np.array_equal(again.test.x, first.test.x)
    path.write_bytes(b"not an npz")
    regenerated = load_cluttered_digits(cache_dir=tmp_path, recipe=SMALL)
    assert np.array_equal(regenerated.train.x, first.train.x) and np.array_equal(regenerated.test.y, first.test.y)


def test_an_unwritable_cache_still_gives_the_data(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    data = load_cluttered_digits(cache_dir=blocker, recipe=SMALL)
    assert len(data.test) == SMALL.test_images
