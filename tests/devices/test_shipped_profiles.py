"""Every shipped device profile loads strictly, carries provenance, and broken profiles fail with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from edgebench.costmodel.model import rules_for
from edgebench.devices.local import nchwc_block
from edgebench.devices.profile import KNOWN_RUNTIMES, DeviceProfile, Sourced
from edgebench.devices.registry import SHIPPED_DIR, get_device, profile_paths
from edgebench.exceptions import ConfigError, UnknownNameError, UnsupportedError
from edgebench.types import Precision

SHIPPED = {"host", "myriadx", "rpi4", "rpi5", "jetson-nano"}
HOST_TEXT = (SHIPPED_DIR / "host.yaml").read_text()


def _sourced_values(profile: DeviceProfile) -> list[tuple[str, Sourced]]:
    cm = profile.cost_model
    return [
        *((f"peak_gflops.{k}", v) for k, v in cm.peak_gflops.items()),
        ("memory_bandwidth_gbps", cm.memory_bandwidth_gbps),
        *((f"efficiency.{k}", v) for k, v in cm.efficiency.items()),
        ("overhead_per_layer_ms", cm.overhead_per_layer_ms),
        ("overhead_per_network_ms", cm.overhead_per_network_ms),
        *((f"caches.{c.name}.size_mb", c.size_mb) for c in cm.caches),
        *((f"caches.{c.name}.bandwidth_gbps", c.bandwidth_gbps) for c in cm.caches),
        *([("reduction_half_depth", cm.reduction_half_depth)] if cm.reduction_half_depth else []),
        *((f"stream_ceiling.{k}", v) for k, v in cm.stream_ceiling.items()),
    ]


def _write(tmp_path: Path, text: str, name: str = "host") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(profile_paths()))
def test_profile_loads_with_provenance(name: str) -> None:
    profile = get_device(name)
    assert profile.name == name == profile_paths()[name].stem
    for field, sourced in _sourced_values(profile):
        assert sourced.source.strip(), f"{name}: cost_model.{field} has no source"
    assert set(profile.backends) <= set(KNOWN_RUNTIMES)


def test_all_shipped_profiles_present() -> None:
    assert set(profile_paths()) >= SHIPPED


def test_myriadx_runs_only_openvino_fp16() -> None:
    profile = get_device("myriadx")
    assert profile.backends == ("openvino",)
    profile.check_supports("openvino", Precision.FP16)
    with pytest.raises(UnsupportedError, match="fp16"):
        profile.check_supports("openvino", Precision.INT8)
    with pytest.raises(UnsupportedError):
        profile.precisions("onnxruntime")


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, HOST_TEXT + "threds: 2\n")
    with pytest.raises(ConfigError) as err:
        get_device(str(path))
    assert str(path) in str(err.value)
    assert "threds" in str(err.value).replace(str(path), "")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HOST_TEXT.replace("[fp32, int8]", "[fp32, int8", 1))
    with pytest.raises(ConfigError) as err:
        get_device(str(path))
    assert str(path) in str(err.value)
    assert "line" in str(err.value).replace(str(path), "")


def test_efficiency_above_one_is_rejected(tmp_path: Path) -> None:
    data = yaml.safe_load(HOST_TEXT)
    data["cost_model"]["efficiency"]["conv"]["value"] = 1.5
    text = yaml.safe_dump(data)
    with pytest.raises(ConfigError, match=r"cost_model\.efficiency"):
        get_device(str(_write(tmp_path, text)))


def test_name_must_match_file_stem(tmp_path: Path) -> None:
    path = _write(tmp_path, HOST_TEXT, name="other")
    with pytest.raises(ConfigError) as err:
        get_device(str(path))
    assert "name" in str(err.value).replace(str(path), "")


def test_unknown_device_suggests_closest() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'myriadx'"):
        get_device("myriad")


def test_get_device_loads_from_path(tmp_path: Path) -> None:
    profile = get_device(str(_write(tmp_path, HOST_TEXT)))
    assert profile.name == "host"
    assert profile.connection == "local"


def test_caches_must_grow_and_the_error_names_the_field(tmp_path: Path) -> None:
    data = yaml.safe_load(HOST_TEXT)
    l2, l3 = data["cost_model"]["caches"]
    l3["size_mb"]["value"] = l2["size_mb"]["value"] / 2
    text = yaml.safe_dump(data)
    sizes = re.escape(f"[{l2['size_mb']['value']}, {l3['size_mb']['value']}] MB")
    with pytest.raises(
        ConfigError, match=r"(?i)host\.yaml: field .cost_model.*caches must be listed smallest first.*" + sizes
    ):
        get_device(str(_write(tmp_path, text)))


def test_stream_ceiling_out_of_range_names_the_field(tmp_path: Path) -> None:
    text = re.sub(r"(stream_ceiling:\n    depthwise_conv:\n      value: )[\d.]+", r"\g<1>2.2", HOST_TEXT, count=1)
    assert text != HOST_TEXT
    with pytest.raises(ConfigError, match=r"(?i)host\.yaml: field .cost_model.stream_ceiling.*\(0, 1\]"):
        get_device(str(_write(tmp_path, text)))


def test_channel_block_auto_is_this_cpus_and_explicit_blocks_are_checked(tmp_path: Path) -> None:
    host = get_device("host")
    assert host.channel_block("onnxruntime") == nchwc_block() and nchwc_block() in (1, 8, 16)
    assert host.channel_block("openvino") == 1
    text = HOST_TEXT.replace("channel_block: auto", "channel_block: 0", 1)
    assert text != HOST_TEXT
    with pytest.raises(ConfigError, match=r"channel_block must be 'auto' or an integer >= 1"):
        get_device(str(_write(tmp_path, text)))


def test_unblocked_paths_on_a_runtime_without_a_channel_block_are_refused(tmp_path: Path) -> None:
    text = HOST_TEXT.replace("channel_block: auto", "channel_block: 1", 1)
    assert text != HOST_TEXT
    text = text.replace(
        "    plain_depthwise:", "    filter_pass: {value: 0.5, source: probed}\n    plain_depthwise:", 1
    )
    for name in ("plain_depthwise", "plain_layout", "filter_pass"):
        assert f"    {name}:" in text
        with pytest.raises(ConfigError, match=rf"host\.yaml.*{name} is for a runtime with a channel_block"):
            get_device(str(_write(tmp_path, text)))
        text = re.sub(rf"    {name}:.*\n(      .*\n)*", "", text, count=1)


@pytest.mark.parametrize("connection", ["none", "{agent: 'http://10.0.0.7:8765'}"])
def test_a_block_of_auto_is_refused_where_the_cpu_is_not_this_one(tmp_path: Path, connection: str) -> None:
    text = HOST_TEXT.replace("connection: local", f"connection: {connection}", 1)
    assert text != HOST_TEXT
    match = r"host.yaml.*runtimes onnxruntime, openvino, tflite: a block of 'auto' reads this machine"
    with pytest.raises(ConfigError, match=match):
        get_device(str(_write(tmp_path, text)))
    with pytest.raises(ConfigError, match=r"runtimes openvino, tflite: a block"):
        get_device(str(_write(tmp_path, text.replace("channel_block: auto", "channel_block: 8"))))
    written = text.replace("channel_block: auto", "channel_block: 8").replace("output_block: auto", "output_block: 16")
    written = written.replace("pixel_block: auto", "pixel_block: 7")
    device = get_device(str(_write(tmp_path, written)))
    blocks = device.channel_block("onnxruntime"), device.output_block("openvino"), device.pixel_block("tflite")
    assert blocks == (8, 16, 7)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (r"(fp32:\n      value: )[\d.]+", "0", r"cost_model\.peak_gflops.*fp32 peak must be > 0"),
        (r"(memory_bandwidth_gbps:\n    value: )[\d.]+", "0.0", r"cost_model\.memory_bandwidth_gbps.*must be > 0"),
        (r"(memory_bandwidth_gbps:\n    value: )[\d.]+", ".inf", r"cost_model\.memory_bandwidth_gbps"),
        (r"(    bandwidth_gbps:\n      value: )[\d.]+", "0", r"cost_model\.caches\.0\.bandwidth_gbps"),
        (
            r"(large_depthwise:.*\n.*\n      gflops: {value: )[\d.]+",
            "0",
            r"large_depthwise\.gflops.*must be > 0, not 0",
        ),
        (r"(large_depthwise:.*\n      above_taps: )\d+", "0", r"large_depthwise\.above_taps"),
        (r"(plain_depthwise:.*\n      gflops: {value: )[\d.]+", "0", r"plain_depthwise\.gflops.*must be > 0"),
        (r"(plain_layout:.*\n(      .*\n)*      pooling: {value: )[\d.]+", "0", r"plain_layout\.pooling.*must be > 0"),
        (r"(depthwise_stream:.*\n      gouts: {value: )[\d.]+", "0", r"depthwise_stream\.gouts.*must be > 0"),
        (r"(depthwise_stream:.*\n      gouts: {value: )[\d.]+", "0", r"depthwise_stream\.gouts.*must be > 0"),
    ],
)
def test_a_zero_or_infinite_rate_names_the_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = re.sub(old, rf"\g<1>{new}", HOST_TEXT, count=1)
    assert text != HOST_TEXT
    with pytest.raises(ConfigError, match=field):
        get_device(str(_write(tmp_path, text)))


def test_a_runtimes_cache_bandwidth_must_name_a_cache_level_past_the_first(tmp_path: Path) -> None:
    assert get_device("host").runtime("onnxruntime").cache_gbps  # the shipped file states L3
    for level in ("L2", "L4"):
        text = re.sub(r"(cache_gbps:.*\n      )L3:", rf"\g<1>{level}:", HOST_TEXT, count=1)
        assert text != HOST_TEXT
        with pytest.raises(ConfigError, match=rf"runtime onnxruntime: cache_gbps names {level}, not a cache level"):
            get_device(str(_write(tmp_path, text)))


def test_a_runtime_states_the_ops_it_runs_in_place_and_one_it_cannot_is_refused(tmp_path: Path) -> None:
    assert get_device("myriadx").in_place("openvino") == ("Concat",)  # the MYRIAD plugin's, not the CPU plugin's
    assert rules_for(get_device("myriadx"), "openvino").in_place == {"Concat"}
    assert rules_for(get_device("host"), "openvino").in_place == frozenset()
    assert rules_for(get_device("jetson-nano"), "tensorrt").in_place == {"Concat"}  # TensorRT's default
    text = HOST_TEXT.replace("fuses: [Relu, Clip]", "fuses: [Relu, Clip]\n    in_place: [Transpose]", 1)
    assert text != HOST_TEXT
    with pytest.raises(ConfigError, match=r"(?i)host\.yaml: field .runtimes.2.in_place.*cannot run transpose in place"):
        get_device(str(_write(tmp_path, text)))


def test_each_runtime_states_what_it_fuses_and_a_name_it_cannot_fuse_is_refused(tmp_path: Path) -> None:
    host = get_device("host")
    assert "HardSwish" not in (host.fuses("tflite") or ()) and "Swish" in (host.fuses("openvino") or ())
    tflite, ort = rules_for(host, "tflite"), rules_for(host, "onnxruntime")  # what the cost model prices with
    assert tflite.fuses == frozenset(host.fuses("tflite") or ()) and tflite.folds_zeros and not ort.folds_zeros
    assert ort.channel_block == host.channel_block("onnxruntime") and tflite.channel_block == 1
    for name in SHIPPED:
        profile = get_device(name)
        assert all(r.fuses for r in profile.runtimes), name
    text = HOST_TEXT.replace("fuses: [Relu, Clip]", "fuses: [Relu, Gelu]", 1)
    assert text != HOST_TEXT
    with pytest.raises(
        ConfigError, match=r"(?i)host\.yaml: field .runtimes.2.fuses.*cannot fuse gelu; fusible: relu, clip"
    ):
        get_device(str(_write(tmp_path, text)))


def test_a_plain_layout_share_for_a_kind_it_cannot_price_is_refused(tmp_path: Path) -> None:
    text = HOST_TEXT.replace("      pooling: {value: 0.33", "      linear: {value: 0.33", 1)
    assert text != HOST_TEXT
    with pytest.raises(
        ConfigError, match=r"plain_layout maps conv, pointwise_conv, pooling to shares; unknown: linear"
    ):
        get_device(str(_write(tmp_path, text)))
