"""Training data: loaders for CIFAR, image folders and .npz arrays, and built-in sets that need no download (the
default task, cluttered digits, and the plain digits demo, both from scikit-learn's bundled digits).

Every loader yields an :class:`ImageData`: 32x32 RGB uint8 images with a fixed stratified train/val/test split.
"""

from __future__ import annotations

from edgebench.data.augment import Augment
from edgebench.data.dataset import RESOLUTION, ImageData, Split, batches, to_device
from edgebench.data.loaders import BUILTIN, DEFAULT_DATA, FORMS, load_data

__all__ = [
    "BUILTIN",
    "DEFAULT_DATA",
    "FORMS",
    "RESOLUTION",
    "Augment",
    "ImageData",
    "Split",
    "batches",
    "load_data",
    "to_device",
]
