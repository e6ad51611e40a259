"""The quick demo data (``--data digits``): scikit-learn's bundled handwritten digits, as they come.

A small demo set, not a benchmark: 1,797 real 8x8 grey digits (UCI "Optical Recognition of Handwritten Digits",
about 180 per class) upscaled to 32x32x3 to fit the 32x32 search space, split per class with a fixed seed into
1,259 train, 179 validation and 359 test images. Accuracies on it saturate in the high 90s (the default task,
``cluttered-digits``, is built from the same digits to avoid that); for your own task, point ``--data`` at CIFAR
(``cifar10:/path/to/cifar-10-batches-py``) or your own images (``imagefolder:/path``, ``npz:/path/data.npz``).
"""

from __future__ import annotations

import numpy as np

from edgebench.data.dataset import RESOLUTION, ImageData, as_images, make_data

NAME = "digits"


def load_digits(resolution: int = RESOLUTION) -> ImageData:
    """The digits at ``resolution`` (bilinear), three identical channels; no flips (a mirrored 2 is no 2)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)  # the set's grey levels are 0..16
    classes = tuple(str(c) for c in bunch.target_names)
    return make_data(NAME, classes, as_images(images, NAME, resolution), bunch.target, flip=False)
