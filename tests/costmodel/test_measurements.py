"""Measurement CSVs: NAS-Bench-201 rows and ONNX rows become networks with kernels; bad files say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.costmodel.measurements import read_measurements
from edgebench.exceptions import ConfigError
from edgebench.types import KernelKind

CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOLS = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(text)
    return path


def test_nb201_rows_become_kernels_and_bad_latencies_are_left_out_by_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _csv(
        tmp_path,
        f"arch_str,C,N,input_chw,num_classes,lat\n{CONV3},16,1,3x32x32,10,5.0\n{POOLS},16,1,1x52x16,10,1.5\n"
        f"{POOLS},16,1,3x32x32,10,-1\n{POOLS},16,1,3x32x32,10,fast\n{POOLS},16,1,3x32x32,10,\n",
    )
    conv3, pools = read_measurements(path, "lat")
    assert "left out 3 of 5 rows without a positive 'lat': row 2 ('-1'), row 3 ('fast'), row 4 (nan)" in caplog.text
    assert (conv3.latency_ms, pools.latency_ms) == (5.0, 1.5)
    convs = [k for k in conv3.kernels if k.kind is KernelKind.CONV]
    assert len(convs) == 1 + 2 * 2 + 3 * 6  # stem + two reductions' 3x3s + one cell of six 3x3 edges per stage
    assert sum(k.kind is KernelKind.CONV for k in pools.kernels) == 1 + 2 * 2
    assert sum(k.kind is KernelKind.POOLING for k in pools.kernels) > 3
    assert pools.kernels[0].activation_elems == 1 * 52 * 16 + 16 * 52 * 16  # the stem on a 1x52x16 input


def test_onnx_rows_are_read_relative_to_the_csv(tmp_path: Path, tiny_onnx: Path) -> None:
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "tiny.onnx").write_bytes(tiny_onnx.read_bytes())
    (net,) = read_measurements(_csv(tmp_path, "model,latency_ms\nnets/tiny.onnx,0.7\n"))
    assert net.name == "nets/tiny.onnx" and net.latency_ms == 0.7 and net.kernels


def test_missing_latency_column_lists_the_columns(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no latency column 'latency_ms'; columns are arch_str, ms"):
        read_measurements(_csv(tmp_path, f"arch_str,ms\n{CONV3},1\n"))


def test_a_row_that_is_not_a_network_names_the_row(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_text("not a model")
    with pytest.raises(ConfigError, match=r"row 1: .*junk\.onnx"):
        read_measurements(_csv(tmp_path, f"model,arch_str,latency_ms\n,{CONV3},1\njunk.onnx,,2\n"))
    with pytest.raises(ConfigError, match=r"row 0: input_chw '3x32' should read like 3x32x32"):
        read_measurements(_csv(tmp_path, f"arch_str,input_chw,latency_ms\n{CONV3},3x32,1\n"))
    with pytest.raises(ConfigError, match=r"row 0: .*node 2"):
        read_measurements(_csv(tmp_path, "arch_str,latency_ms\n|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|,1\n"))


def test_net_rows_name_built_in_networks(tmp_path: Path) -> None:
    (net,) = read_measurements(_csv(tmp_path, "net,num_classes,latency_ms\nmobilenetv1-0.25-224,10,4.0\n"))
    assert net.name == "mobilenetv1-0.25-224"
    assert sum(k.kind is KernelKind.DEPTHWISE_CONV for k in net.kernels) == 13
    with pytest.raises(ConfigError, match=r"row 0: unknown network 'mobilenetv3'"):
        read_measurements(_csv(tmp_path, "net,latency_ms\nmobilenetv3,4.0\n"))
