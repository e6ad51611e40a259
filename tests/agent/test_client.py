"""What the client sends: an OpenVINO IR with its weights, or, to an OpenVINO too old to read that IR, the ONNX it
was converted from (and nothing for INT8, which exists only as IR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgebench.agent_client import AgentClient, RemoteSession
from edgebench.backends import get_backend
from edgebench.backends.openvino import source_onnx
from edgebench.devices import load_profile
from edgebench.exceptions import UnsupportedError
from edgebench.target import target_for
from edgebench.testing.agent import loopback_agent
from edgebench.testing.backend_suite import tiny_model
from edgebench.types import Precision
from tests.agent.conftest import ENV, TOKEN, board_profile


def _client(url: str, openvino: str) -> AgentClient:
    client = AgentClient(url, TOKEN)
    client._facts.update(runtimes={"openvino": openvino})  # as if /info had said so
    return client


def test_an_old_openvino_gets_the_source_onnx_and_runs_it(agent: str, tmp_path: Path) -> None:
    artifact = get_backend("openvino").export(tiny_model(), Precision.FP32, tmp_path)
    sent, model, weights = _client(agent, "2021.4.2")._request(artifact, "CPU", {"runs": 5})
    assert sent["name"] == "tiny.onnx" and sent["runtime"] == "openvino" and weights == b""
    assert model == source_onnx(artifact).read_bytes()  # type: ignore[union-attr]
    x = np.zeros((2, *artifact.input_shape[1:]), np.float32)
    with get_backend("openvino").open(artifact, threads=1) as session:
        assert np.allclose(_client(agent, "2021.4.2").run(artifact, x, threads=1), session.run(x), atol=1e-5)


def test_a_new_openvino_gets_the_ir_and_int8_never_goes_as_onnx(agent: str, tmp_path: Path) -> None:
    calibration = np.random.default_rng(0).standard_normal((8, 3, 16, 16), dtype=np.float32)
    int8 = get_backend("openvino").export(tiny_model(), Precision.INT8, tmp_path, calibration)
    sent, model, weights = _client(agent, "2026.4.1")._request(int8, "CPU", {"runs": 5})
    assert sent["name"] == int8.path.name and sent["hint"] == "f32"
    assert model == int8.path.read_bytes() and weights == int8.path.with_suffix(".bin").read_bytes()
    assert source_onnx(int8) is None
    with pytest.raises(UnsupportedError, match=r"has OpenVINO 2021\.4\.2, which reads neither this IR nor, for int8"):
        _client(agent, "2021.4.2")._request(int8, "CPU", {"runs": 5})


def test_a_runtime_the_agent_lacks_is_named_with_the_ones_it_has(
    agent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    board = load_profile(board_profile(tmp_path, agent))
    cpu, version = target_for(board).facts("onnxruntime")
    assert cpu == AgentClient(agent, TOKEN).info()["cpu"] and version
    with pytest.raises(UnsupportedError, match="has no tensorrt runtime \\(it has onnxruntime, tflite, openvino\\)"):
        target_for(board).facts("tensorrt")


@pytest.mark.parametrize("cache_mb", [256.0, 0.0])
def test_an_artifact_sent_once_is_named_by_its_digest_after_that(
    cache_mb: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = get_backend("openvino").export(tiny_model(), Precision.FP32, tmp_path)
    size = artifact.size_bytes
    sent: list[tuple[str, int]] = []
    call = AgentClient._call
    monkeypatch.setattr(AgentClient, "_call", lambda self, path, body=None: sent.append((path.split("?")[0],
                        len(body or b""))) or call(self, path, body))  # fmt: skip
    x = np.random.default_rng(0).standard_normal((2, *artifact.input_shape[1:]), dtype=np.float32)
    with loopback_agent(token=TOKEN, cache_mb=cache_mb) as running:
        session = RemoteSession(AgentClient(running.url, TOKEN), artifact, 1, "CPU")
        first, again = session.run(x), session.run(x)
        assert session.measure(repeats=5).count == 5
    assert np.array_equal(first, again)
    posts = [(path, n) for path, n in sent if path != "/info"]
    if cache_mb:  # kept loaded: the artifact goes once, then only the inputs
        assert posts[0][1] >= size and posts[1][1] < size and posts[2] == ("/measure", 0) and len(posts) == 3
    else:  # an agent that keeps nothing is sent the artifact every time
        assert [n >= size for _, n in posts] == [True, True, True]


def test_an_artifact_the_agent_dropped_is_sent_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = get_backend("onnxruntime").export(tiny_model(), Precision.FP32, tmp_path / "a")
    calibration = np.random.default_rng(0).standard_normal((8, *a.input_shape[1:]), dtype=np.float32)
    b = get_backend("onnxruntime").export(tiny_model(), Precision.INT8, tmp_path / "b", calibration)
    sizes = sorted((a.size_bytes, b.size_bytes))
    assert sizes[0] > 0.2 * sizes[1]  # a cache of 1.2 times the larger holds either, not both
    sent: list[int] = []
    call = AgentClient._call

    def counted(self: AgentClient, path: str, body: bytes | None = None) -> bytes:
        if body is not None:
            sent.append(len(body))
        return call(self, path, body)

    monkeypatch.setattr(AgentClient, "_call", counted)
    x = np.zeros((1, *a.input_shape[1:]), np.float32)
    with loopback_agent(token=TOKEN, cache_mb=1.2 * sizes[1] / 1e6) as running:
        client = AgentClient(running.url, TOKEN)
        first = client.run(a, x, threads=1)
        client.run(b, x, threads=1)  # room for one: a is dropped
        assert np.array_equal(client.run(a, x, threads=1), first)
    assert sent[2] < a.size_bytes <= sent[3]  # a's digest got 409, then a went again
    assert len(sent) == 4
