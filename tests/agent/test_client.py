"""What the client sends: an OpenVINO IR with its weights, or, to an OpenVINO too old to read that IR, the ONNX it
was converted from (and nothing for INT8, which exists only as IR)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest

from edgebench.agent_client import AgentClient, runtime_facts
from edgebench.backends import get_backend
from edgebench.backends.openvino import source_onnx
from edgebench.devices import load_profile
from edgebench.exceptions import UnsupportedError
from edgebench.testing.backend_suite import tiny_model
from edgebench.types import Precision
from tests.agent.conftest import ENV, TOKEN, board_profile


def _client(url: str, openvino: str) -> AgentClient:
    client = AgentClient(url, TOKEN)
    client._facts.update(runtimes={"openvino": openvino})  # as if /info had said so
    return client


def test_an_old_openvino_gets_the_source_onnx_and_runs_it(agent: str, tmp_path: Path) -> None:
    artifact = get_backend("openvino").export(tiny_model(), Precision.FP32, tmp_path)
    query, body = _client(agent, "2021.4.2")._request(artifact, "CPU", {"runs": 5})
    sent = parse_qs(query)
    assert sent["name"] == ["tiny.onnx"] and sent["runtime"] == ["openvino"] and "weights_bytes" not in sent
    assert body == source_onnx(artifact).read_bytes()  # type: ignore[union-attr]
    x = np.zeros((2, *artifact.input_shape[1:]), np.float32)
    with get_backend("openvino").open(artifact, threads=1) as session:
        assert np.allclose(_client(agent, "2021.4.2").run(artifact, x, threads=1), session.run(x), atol=1e-5)


def test_a_new_openvino_gets_the_ir_and_int8_never_goes_as_onnx(agent: str, tmp_path: Path) -> None:
    calibration = np.random.default_rng(0).standard_normal((8, 3, 16, 16), dtype=np.float32)
    int8 = get_backend("openvino").export(tiny_model(), Precision.INT8, tmp_path, calibration)
    query, body = _client(agent, "2026.4.1")._request(int8, "CPU", {"runs": 5})
    sent = parse_qs(query)
    weights = int8.path.with_suffix(".bin").read_bytes()
    assert sent["name"] == [int8.path.name] and sent["weights_bytes"] == [str(len(weights))]
    assert body.endswith(weights) and sent["hint"] == ["f32"]
    assert source_onnx(int8) is None
    with pytest.raises(UnsupportedError, match=r"has OpenVINO 2021\.4\.2, which reads neither this IR nor, for int8"):
        _client(agent, "2021.4.2")._request(int8, "CPU", {"runs": 5})


def test_a_runtime_the_agent_lacks_is_named_with_the_ones_it_has(
    agent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    board = load_profile(board_profile(tmp_path, agent))
    cpu, version = runtime_facts(board, "onnxruntime")
    assert cpu == AgentClient(agent, TOKEN).info()["cpu"] and version
    with pytest.raises(UnsupportedError, match="has no tensorrt runtime \\(it has onnxruntime, tflite, openvino\\)"):
        runtime_facts(board, "tensorrt")
