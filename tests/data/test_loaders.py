"""Loaders read small files written here in the real formats (CIFAR python batches, image folders, .npz), keep
their pixels and labels, split them with the fixed seed, and name the spec or file when something is wrong."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgebench.data import load_data
from edgebench.data.dataset import stratified_split
from edgebench.exceptions import ConfigError


def write_cifar10(root: Path, per_batch: int = 30, batches: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The python CIFAR-10 layout: data_batch_N and test_batch dicts with bytes keys, uint8 rows of 3072."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for i in range(1, batches + 2):
        rows = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(j % 10) for j in range(per_batch)]
        name = f"data_batch_{i}" if i <= batches else "test_batch"
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": rows, b"filenames": [b"x.png"] * per_batch}
        with (root / name).open("wb") as f:
            pickle.dump(batch, f, protocol=2)
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                  "truck")]  # fmt: skip
    with (root / "batches.meta").open("wb") as f:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, f, protocol=2)
    return rows, np.asarray(labels)


def test_cifar10_batches_keep_pixels_labels_and_their_test_split(tmp_path: Path) -> None:
    test_rows, test_labels = write_cifar10(tmp_path / "cifar-10-batches-py")
    data = load_data(f"cifar10:{tmp_path}")  # the parent of the unpacked folder works too
    assert data.name == "cifar10" and data.flip and data.class_names[1] == "automobile"
    assert (len(data.train), len(data.val), len(data.test)) == (50, 10, 30)
    assert np.array_equal(data.test.x, test_rows.reshape(-1, 3, 32, 32)) and np.array_equal(data.test.y, test_labels)
    assert np.bincount(data.val.y, minlength=10).tolist() == [1] * 10  # 6 per class: 10 % rounds to 1


def test_cifar100_reads_fine_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name, n in (("train", 600), ("test", 100)):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"fine_labels": [j % 100 for j in range(n)],
                 b"coarse_labels": [j % 20 for j in range(n)]}  # fmt: skip
        with (tmp_path / name).open("wb") as f:
            pickle.dump(batch, f)
    data = load_data(f"cifar100:{tmp_path}")
    assert data.classes == 100 and len(data.test) == 100 and data.test.y[42] == 42
    assert (len(data.train), len(data.val)) == (500, 100)


class _Sneaky:
    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (os.getcwd, ())


def test_a_pickle_that_builds_other_objects_is_refused(tmp_path: Path) -> None:
    write_cifar10(tmp_path / "c")
    with (tmp_path / "c" / "data_batch_1").open("wb") as f:
        pickle.dump({b"data": _Sneaky(), b"labels": []}, f)
    with pytest.raises(ConfigError, match=r"data_batch_1: not a CIFAR python batch \(it refers to .*getcwd"):
        load_data(f"cifar10:{tmp_path / 'c'}")


def write_folder(root: Path, colours: dict[str, tuple[int, int, int]], per_class: int, size: tuple[int, int]) -> None:
    for name, colour in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", size, colour).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")


def test_imagefolder_reads_class_folders_and_resizes(tmp_path: Path) -> None:
    write_folder(tmp_path, {"cat": (250, 0, 0), "dog": (0, 0, 250)}, per_class=10, size=(40, 20))
    data = load_data(f"imagefolder:{tmp_path}")
    assert data.class_names == ("cat", "dog") and data.train.x.shape[1:] == (3, 32, 32)
    assert (len(data.train), len(data.val), len(data.test)) == (14, 2, 4)
    cats = data.train.x[data.train.y == 0].astype(int)  # JPEG is lossy: solid red stays near-red
    assert np.abs(cats[:, 0] - 250).max() <= 8 and cats[:, 2].max() <= 8


def test_imagefolder_with_train_and_test_trees_keeps_the_test_split(tmp_path: Path) -> None:
    write_folder(tmp_path / "train", {"a": (0, 0, 0), "b": (255, 255, 255)}, per_class=10, size=(32, 32))
    write_folder(tmp_path / "test", {"a": (0, 0, 0), "b": (255, 255, 255)}, per_class=3, size=(32, 32))
    data = load_data(f"imagefolder:{tmp_path}")
    assert len(data.test) == 6 and len(data.train) + len(data.val) == 20


def test_imagefolder_of_one_class_is_refused(tmp_path: Path) -> None:
    write_folder(tmp_path, {"cat": (250, 0, 0)}, per_class=10, size=(32, 32))
    with pytest.raises(ConfigError, match=r"1 class\(es\) \['cat'\]; a classifier needs at least two"):
        load_data(f"imagefolder:{tmp_path}")


def test_npz_of_grey_images_becomes_rgb_32x32(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(50) % 5)
    data = load_data(f"npz:{tmp_path / 'd.npz'}")
    assert data.classes == 5 and data.test.x.shape[1:] == (3, 32, 32)
    assert np.array_equal(data.test.x[:, 0], data.test.x[:, 2])
    assert (len(data.train), len(data.val), len(data.test)) == (35, 5, 10)


def test_npz_channels_last_keeps_its_pixels(tmp_path: Path) -> None:
    x = np.random.default_rng(3).integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 3)
    data = load_data(f"npz:{tmp_path / 'd.npz'}")
    all_x = {img.transpose(1, 2, 0).tobytes() for split in (data.train, data.val, data.test) for img in split.x}
    assert all_x == {img.tobytes() for img in x}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((10, 32, 32), np.float32), "y": np.zeros(10, np.int64)}, "must be uint8"),
        ({"images": np.zeros((10, 32, 32), np.uint8)}, "no array 'x'"),
        ({"x": np.zeros((10, 32, 32), np.uint8), "y": np.zeros(9, np.int64)}, "'y' must be 10 integer labels"),
        ({"x": np.array([None] * 10, dtype=object), "y": np.zeros(10, np.int64)}, "Object arrays cannot be loaded"),
        ({"x": np.zeros((10, 32, 32), np.uint8), "y": np.zeros(10, np.int64)}, r"1 class\(es\).*at least two"),
    ],
)
def test_bad_npz_names_the_file_and_the_problem(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ConfigError, match=message) as e:
        load_data(f"npz:{tmp_path / 'bad.npz'}")
    assert "bad.npz" in str(e.value)


@pytest.mark.parametrize(
    ("spec", "named"),
    [("cifar10", "data spec 'cifar10'"), ("mnist:/data", "data spec 'mnist:/data'"), ("npz:", "data spec 'npz:'"),
     ("imagefolder:/no/such/dir", "/no/such/dir does not exist")],
)  # fmt: skip
def test_a_bad_spec_names_it_and_the_valid_forms(spec: str, named: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_data(spec)
    message = str(e.value)
    assert named in message and "cifar10:PATH" in message and "imagefolder:PATH" in message and "\n" not in message


def test_the_digits_demo_is_a_fixed_stratified_split() -> None:
    data = load_data("digits")
    assert data.name == "digits" and data.classes == 10 and not data.flip
    assert (len(data.train), len(data.val), len(data.test)) == (1259, 179, 359)
    assert data.train.x.shape[1:] == (3, 32, 32) and data.train.x.dtype == np.uint8
    assert np.bincount(data.test.y).min() >= 35 and np.bincount(data.test.y).max() <= 37
    assert np.array_equal(load_data("digits").test.x, data.test.x)


def test_stratified_split_cuts_every_class_by_the_fractions() -> None:
    y = np.repeat(np.arange(3), [10, 20, 30])
    val, test, train = stratified_split(y, (0.1, 0.2))
    assert [np.bincount(y[p], minlength=3).tolist() for p in (val, test, train)] == [[1, 2, 3], [2, 4, 6], [7, 14, 21]]
    assert sorted(np.concatenate([val, test, train]).tolist()) == list(range(60))
