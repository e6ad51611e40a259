"""Parity of a converted artifact against the PyTorch reference, with a tolerance per precision."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgebench.exceptions import ParityError
from edgebench.types import Precision

#: Largest allowed |artifact - reference| as a fraction of max |reference| over the parity batch.
TOLERANCE = {Precision.FP32: 1e-3, Precision.FP16: 2e-2, Precision.INT8: 0.1}
#: Parity inputs: fixed seed, standard normal, this many samples.
PARITY_SEED, PARITY_SAMPLES = 1234, 4


@dataclass(frozen=True)
class Parity:
    """Worst-case disagreement between an artifact and its reference."""

    max_abs_err: float
    max_rel_err: float  # max abs error / max |reference|
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel_err <= self.tolerance


def parity_inputs(input_shape: tuple[int, ...]) -> np.ndarray:
    """The fixed random batch every parity check uses."""
    rng = np.random.default_rng(PARITY_SEED)
    return rng.standard_normal((PARITY_SAMPLES, *input_shape[1:]), dtype=np.float32)


def compare(reference: np.ndarray, output: np.ndarray, precision: Precision) -> Parity:
    """Measure the disagreement; shapes must match."""
    if reference.shape != output.shape:
        raise ParityError(f"output shape {output.shape} differs from the reference {reference.shape}")
    abs_err = float(np.max(np.abs(reference.astype(np.float64) - output)))
    scale = float(np.max(np.abs(reference))) or 1.0
    return Parity(abs_err, abs_err / scale, TOLERANCE[precision])


def check(reference: np.ndarray, output: np.ndarray, backend: str, precision: Precision) -> Parity:
    """Like :func:`compare`, but raise ParityError when the tolerance is exceeded."""
    parity = compare(reference, output, precision)
    if not parity.ok:
        raise ParityError(
            f"{backend} {precision} output disagrees with PyTorch: max abs error {parity.max_abs_err:.3g}, "
            f"max rel error {parity.max_rel_err:.3g} > tolerance {parity.tolerance:g}"
        )
    return parity
