"""OpenVINO-specific behaviour the shared conformance suite does not reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench import api
from edgebench.backends.openvino import computed_at
from edgebench.types import Precision, precision_label

ov = pytest.importorskip("openvino")


@pytest.mark.slow
def test_an_fp16_model_is_labelled_with_the_precision_the_cpu_plugin_computes_it_at(tiny_onnx: Path) -> None:
    units = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    # Asked for f16, the plugin computes in the narrowest float the CPU has: fp16, else bf16 (a Zen 4's
    # AVX512_BF16), else fp32 (f16 weights, f32 math).
    expected = next(name for unit, name in (("FP16", "fp16"), ("BF16", "bf16"), ("FP32", "fp32")) if unit in units)
    (record,) = api.bench(tiny_onnx, device="host", backends=["openvino"], precisions=["fp16"], repeats=5).records
    assert record.status == "COMPLETE" and record.precision == "fp16"
    assert record.compute == expected
    label = precision_label(record.precision, record.compute)
    assert label == ("fp16" if expected == "fp16" else f"fp16, computed {expected}")


def test_the_agent_and_a_local_session_name_what_openvino_computed_at_alike() -> None:
    assert computed_at(Precision.FP16, "f32") == "fp32" and computed_at(Precision.FP16, "bf16") == "bf16"
    assert computed_at(Precision.INT8, "f32") == "int8"  # a quantized model: its float layers aside
    assert computed_at(Precision.FP16, "") == "fp16"  # an agent too old to say: the artifact's own
