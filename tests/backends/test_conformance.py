"""Every registered backend runs the shipped conformance suite; a new backend is covered automatically."""

from __future__ import annotations

import pytest

from edgebench.backends import list_backends
from edgebench.testing.backend_suite import BackendConformance

for _name in list_backends():
    globals()[f"Test{_name.title()}"] = pytest.mark.slow(
        type(f"Test{_name.title()}", (BackendConformance,), {"backend_name": _name})
    )


def test_the_three_real_backends_are_registered() -> None:
    assert {"onnxruntime", "openvino", "tflite"} <= set(list_backends())
