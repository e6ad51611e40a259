"""Training data: loaders for CIFAR, image folders and .npz arrays, and a bundled default (scikit-learn's digits).

Every loader yields an :class:`ImageData`: 32x32 RGB uint8 images with a fixed stratified train/val/test split.
"""

from __future__ import annotations

from edgebench.data.augment import Augment
from edgebench.data.dataset import RESOLUTION, ImageData, Split, batches, to_device
from edgebench.data.loaders import FORMS, load_data

__all__ = ["FORMS", "RESOLUTION", "Augment", "ImageData", "Split", "batches", "load_data", "to_device"]
