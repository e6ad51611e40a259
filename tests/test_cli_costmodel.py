"""`edgebench predict MODEL.onnx` and `edgebench calibrate`: estimates labelled as such, calibrated profiles that
load back, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.costmodel.kernels import KernelRules
from edgebench.costmodel.measurements import read_measurements
from edgebench.costmodel.model import KernelTable, params_for
from edgebench.devices import load_profile
from edgebench.devices.registry import SHIPPED_DIR
from edgebench.types import Precision

from .test_cli import one_line_error

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|skip_connect~1|none~2|",
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]


def test_predict_an_onnx_model_on_an_unmeasured_device(runner: CliRunner, tiny_onnx: Path) -> None:
    result = runner.invoke(app, ["predict", str(tiny_onnx), "--device", "myriadx", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["source"] == "estimated" and record["precision"] == "fp16" and record["backend"] == "openvino"
    assert record["cost_model"].startswith("calibrated on myriadx-openvino-fp16.csv")
    kernel_ms = sum(k["ms"] for k in record["kernels"])
    assert record["latency_ms"] == kernel_ms + record["overhead_ms"]
    text = runner.invoke(app, ["predict", str(tiny_onnx), "--device", "rpi4"], terminal_width=300)
    assert text.exit_code == 0 and "estimated" in text.output and "cost model:" in text.output


@pytest.mark.parametrize("content", [b"hello", b""])
def test_predict_a_file_that_is_not_a_model(runner: CliRunner, tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(content)  # an empty file once priced as 0 kernels plus the network overhead
    line = one_line_error(runner.invoke(app, ["predict", str(junk), "--device", "rpi5"], terminal_width=300))
    assert "junk.onnx" in line and "not a valid ONNX model" in line


def test_calibrate_writes_a_profile_that_predicts_the_measurements(runner: CliRunner, tmp_path: Path) -> None:
    csv = tmp_path / "pi.csv"
    csv.write_text("arch_str,N,lat\n" + "".join(f"{a},1,1.0\n" for a in ARCHS))
    # latencies a known cost model gives, so a good fit must reproduce them on the held-out rows
    networks = read_measurements(csv, "lat", KernelRules.of("tflite"))
    truth = params_for(load_profile(SHIPPED_DIR / "rpi5.yaml"), "tflite", Precision.FP32, 1, calibrated=False)
    measured = KernelTable.of([n.kernels for n in networks]).network_ms(truth) * 1.3
    csv.write_text("arch_str,N,lat\n" + "".join(f"{a},1,{m:.6f}\n" for a, m in zip(ARCHS, measured, strict=True)))
    out = tmp_path / "rpi5.yaml"
    args = ["calibrate", "-d", "rpi5", "-m", str(csv), "--latency-column", "lat", "-b", "tflite", "--threads", "1"]
    result = runner.invoke(app, [*args, "-o", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "held out" in result.output and "FLOPs-linear" in result.output
    calibrated = load_profile(out)
    by_backend = {c.backend: c for c in calibrated.cost_model.calibrations}
    assert len(by_backend) == len(calibrated.cost_model.calibrations)  # the tflite fit replaced the shipped one
    cal = by_backend["tflite"]
    assert (cal.backend, cal.precision, cal.threads, cal.held_out.networks) == ("tflite", Precision.FP32, 1, 4)
    assert cal.held_out.within_10_pct == 100.0
    fitted = KernelTable.of([n.kernels for n in networks]).network_ms(
        params_for(calibrated, "tflite", Precision.FP32, threads=1)
    )
    assert np.allclose(fitted, measured, rtol=0.1)  # the priors were 23 % off on every network
    header = out.read_text().splitlines()[:6]
    assert header[0].startswith("# Raspberry Pi 5") and any("Calibrated tflite fp32:" in line for line in header)


def test_calibrate_with_a_missing_column_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text(f"arch_str,ms\n{ARCHS[0]},1\n")
    line = one_line_error(runner.invoke(app, ["calibrate", "-d", "rpi5", "-m", str(csv)], terminal_width=300))
    assert "m.csv" in line and "no latency column 'latency_ms'" in line


def test_devices_says_which_profiles_are_calibrated(runner: CliRunner) -> None:
    result = runner.invoke(app, ["devices"], terminal_width=300)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│")}
    assert all("calibrat" in rows[n] for n in ("rpi5", "rpi4", "jetson-nano", "myriadx"))  # console may be narrow
    assert "priors" in rows["host"]


def test_predict_names_each_kernels_role_and_warns_of_a_guess(runner: CliRunner, tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Exp", ["c"], ["y"], name="mystery"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(np.zeros((4, 4, 1, 1), np.float32), "w")],
    )
    path = tmp_path / "guess.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    record = json.loads(runner.invoke(app, ["predict", str(path), "--device", "rpi5", "--json"]).output)
    roles = {k["name"]: (k["role"], k["generic"]) for k in record["kernels"]}
    assert roles["conv"] == ("pointwise convolution", False) and roles["mystery"][1]
    assert record["generic_kernels"] == ["mystery"]
    text = runner.invoke(app, ["predict", str(path), "--device", "rpi5"], terminal_width=300).output
    assert "warning: 1 kernel(s) (Exp) are outside the cost model's vocabulary" in text
