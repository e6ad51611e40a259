"""Read image-classification data from the formats people keep on disk, named by a spec such as ``cifar10:/path``.

Specs (``--data``): ``cluttered-digits`` (the default task, built from bundled digits), ``digits`` (a quick demo,
bundled), ``cifar10:PATH`` and ``cifar100:PATH`` (the python versions:
``data_batch_*`` + ``test_batch``, or ``train`` + ``test``), ``imagefolder:PATH`` (one folder of images per class,
or ``train/`` and ``test/`` trees of them), ``npz:PATH`` (arrays ``x``: uint8 images, ``y``: integer labels).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgebench.data.clutter import NAME as CLUTTERED_DIGITS
from edgebench.data.clutter import load_cluttered_digits
from edgebench.data.dataset import RESOLUTION, ImageData, as_images, make_data
from edgebench.data.digits import NAME as DIGITS
from edgebench.data.digits import load_digits
from edgebench.exceptions import ConfigError

#: Data sets that need no files, by name: built from what scikit-learn ships.
BUILTIN: dict[str, Callable[[int], ImageData]] = {CLUTTERED_DIGITS: load_cluttered_digits, DIGITS: load_digits}
#: What ``--data`` means when it is not given.
DEFAULT_DATA = CLUTTERED_DIGITS
FORMS = (f"{CLUTTERED_DIGITS} (default)", DIGITS, "cifar10:PATH", "cifar100:PATH", "imagefolder:PATH", "npz:PATH")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def load_data(spec: str | None = None, resolution: int = RESOLUTION) -> ImageData:
    """The data a spec names (see the module docstring), as ``resolution``-square RGB images split three ways.

    Raises:
        ConfigError: a malformed spec, a missing path, or files not in the format; the message names the spec or
            file and lists the valid forms.
    """
    spec = spec or DEFAULT_DATA
    if spec in BUILTIN:
        return BUILTIN[spec](resolution)
    kind, sep, rest = spec.partition(":")
    readers: dict[str, Callable[[Path, int], ImageData]] = {
        "cifar10": lambda p, r: read_cifar(p, CIFAR10, r),
        "cifar100": lambda p, r: read_cifar(p, CIFAR100, r),
        "imagefolder": read_imagefolder,
        "npz": read_npz,
    }
    if not sep or kind not in readers or not rest:
        raise ConfigError(f"data spec '{spec}' is not one of: {', '.join(FORMS)}")
    path = Path(rest).expanduser()
    if not path.exists():
        raise ConfigError(f"data spec '{spec}': {path} does not exist (valid forms: {', '.join(FORMS)})")
    return readers[kind](path, resolution)


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR variant keeps its python batches and under which keys."""

    name: str
    classes: int
    folder: str
    train_glob: str
    test_file: str
    label_key: bytes
    meta_file: str
    names_key: bytes


CIFAR10 = CifarLayout("cifar10", 10, "cifar-10-batches-py", "data_batch_*", "test_batch", b"labels", "batches.meta",
                      b"label_names")  # fmt: skip
CIFAR100 = CifarLayout("cifar100", 100, "cifar-100-python", "train", "test", b"fine_labels", "meta",
                       b"fine_label_names")  # fmt: skip


class _ArraysOnly(pickle.Unpickler):
    """CIFAR batches hold numpy arrays, lists, bytes and ints: refuse any other object a pickle could build."""

    ALLOWED = {
        (module, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
        for name in ("_reconstruct", "scalar", "_frombuffer")
    } | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # bytes, as Python 3 writes protocol 2

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR batch never does")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as f:
            data = _ArraysOnly(f, encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise ConfigError(f"{path}: not a CIFAR python batch ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a CIFAR python batch (holds a {type(data).__name__}, not a dict)")
    return data


def _cifar_batch(path: Path, layout: CifarLayout) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    for key in (b"data", layout.label_key):
        if key not in batch:
            raise ConfigError(f"{path}: not a {layout.name} batch (no key {key!r})")
    x = np.asarray(batch[b"data"], dtype=np.uint8)
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise ConfigError(f"{path}: '{layout.name}' data of shape {x.shape}, expected (N, 3072)")
    return x.reshape(-1, 3, 32, 32), np.asarray(batch[layout.label_key], dtype=np.int64)


def read_cifar(path: Path, layout: CifarLayout, resolution: int = RESOLUTION) -> ImageData:
    """CIFAR-10/100 python batches from ``path`` (or from its ``cifar-10-batches-py``/``cifar-100-python`` child);
    the official test batch is the test split, validation is carved from the training batches."""
    if (path / layout.folder).is_dir():
        path = path / layout.folder
    train_files = sorted(path.glob(layout.train_glob))
    if not train_files or not (path / layout.test_file).is_file():
        raise ConfigError(
            f"{path}: no {layout.name} batches (expected {layout.train_glob} and {layout.test_file}, as unpacked "
            f"from the python version of the archive)"
        )
    parts = [_cifar_batch(f, layout) for f in train_files]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    test_x, test_y = _cifar_batch(path / layout.test_file, layout)
    names = tuple(str(i) for i in range(layout.classes))
    if (path / layout.meta_file).is_file():
        meta = _unpickle(path / layout.meta_file)
        if layout.names_key in meta:
            names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout.names_key])
    return make_data(layout.name, names, as_images(x, str(path), resolution), y, flip=True,
                     test=(as_images(test_x, str(path), resolution), test_y))  # fmt: skip


def _read_tree(root: Path, resolution: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    classes = tuple(sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")))
    images, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                with Image.open(file) as im:
                    rgb = im.convert("RGB").resize((resolution, resolution), Image.Resampling.BILINEAR)
            except (OSError, UnidentifiedImageError) as e:
                raise ConfigError(f"{file}: not a readable image ({e})") from None
            images.append(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise ConfigError(
            f"{root}: no images in class folders (expected {root}/CLASS/IMAGE with {', '.join(IMAGE_SUFFIXES)})"
        )
    return classes, np.stack(images), np.asarray(labels, dtype=np.int64)


def read_imagefolder(root: Path, resolution: int = RESOLUTION) -> ImageData:
    """One folder per class of PNG/JPEG/BMP images, resized to ``resolution``; a root holding ``train/`` and
    ``test/`` trees keeps that test split. Flips are on: an image folder is taken to hold natural images."""
    if not root.is_dir():
        raise ConfigError(f"{root}: an image folder must be a directory of class folders")
    name = f"imagefolder:{root.name}"
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes, x, y = _read_tree(root / "train", resolution)
        test_classes, test_x, test_y = _read_tree(root / "test", resolution)
        if test_classes != classes:
            raise ConfigError(f"{root}: train/ has classes {list(classes)} but test/ has {list(test_classes)}")
        return make_data(name, classes, x, y, flip=True, test=(test_x, test_y))
    classes, x, y = _read_tree(root, resolution)
    return make_data(name, classes, x, y, flip=True)


def read_npz(path: Path, resolution: int = RESOLUTION) -> ImageData:
    """Arrays ``x`` (uint8 images, (N, H, W), (N, H, W, C) or (N, C, H, W)) and ``y`` (labels 0..K-1) of an .npz;
    split with the fixed seed. Flips are on, as for natural images."""
    try:
        npz = np.load(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not an .npz archive ({e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ConfigError(f"{path}: a single array, not an .npz archive with x (uint8 images) and y (labels)")
    with npz:
        missing = [k for k in ("x", "y") if k not in npz.files]
        if missing:
            raise ConfigError(f"{path}: no array '{missing[0]}' (an .npz needs x: uint8 images, y: labels)")
        try:
            x, y = npz["x"], npz["y"]
        except ValueError as e:  # object arrays: a pickle, refused
            raise ConfigError(f"{path}: {e}; x must be uint8 images and y integer labels") from None
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
        raise ConfigError(f"{path}: 'y' must be {len(x)} integer labels, one per image, not {y.dtype} {y.shape}")
    classes = tuple(str(i) for i in range(int(y.max()) + 1)) if len(y) else ()
    return make_data(f"npz:{path.name}", classes, as_images(x, str(path), resolution), y, flip=True)
