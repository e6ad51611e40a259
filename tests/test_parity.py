"""Parity: relative error against the reference's scale, tolerance per precision, clear failure message."""

from __future__ import annotations

import numpy as np
import pytest

from edgebench import parity
from edgebench.exceptions import ParityError
from edgebench.types import Precision


def test_relative_error_is_scaled_by_the_reference_maximum() -> None:
    ref = np.array([[1.0, -4.0, 2.0]], dtype=np.float32)
    out = np.array([[1.2, -4.0, 2.0]], dtype=np.float32)
    result = parity.compare(ref, out, Precision.INT8)
    assert result.max_abs_err == pytest.approx(0.2, rel=1e-5)
    assert result.max_rel_err == pytest.approx(0.05, rel=1e-5)
    assert result.ok


def test_violation_names_backend_precision_and_errors() -> None:
    ref = np.ones((2, 4), dtype=np.float32)
    with pytest.raises(
        ParityError, match=r"openvino fp32 .* max abs error 0\.01.* max rel error 0\.01.* > tolerance 0\.001"
    ):
        parity.check(ref, ref + 0.01, "openvino", Precision.FP32)


def test_shape_mismatch_is_a_parity_error() -> None:
    with pytest.raises(ParityError, match="shape"):
        parity.compare(np.zeros((1, 10)), np.zeros((1, 5)), Precision.FP32)


def test_parity_inputs_are_fixed() -> None:
    a, b = parity.parity_inputs((1, 3, 8, 8)), parity.parity_inputs((1, 3, 8, 8))
    assert a.shape == (parity.PARITY_SAMPLES, 3, 8, 8) and np.array_equal(a, b)
