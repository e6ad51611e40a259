"""A real agent process on loopback: it times and runs ONNX, OpenVINO IR and TFLite artifacts like local sessions
do, and refuses what it must (no token, wrong token, oversized body, a file that is not a model, a name with a
path, a model that reads other files, a second concurrent request) with the right status while it stays up."""

from __future__ import annotations

import http.client
import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgebench.agent import EXTERNAL_DATA, Agent, AgentError, Cache, cpu_name
from edgebench.backends import get_backend
from edgebench.devices.local import cpu_model
from edgebench.testing.agent import start_agent
from edgebench.testing.backend_suite import tiny_model
from edgebench.types import Precision
from tests.agent.conftest import TOKEN


def npy(x: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, x, allow_pickle=True)
    return buffer.getvalue()


INTS = npy(np.arange(4))
PICKLE = npy(np.array([{"a": 1}], dtype=object))


def header(shape: tuple[int, ...], data: int) -> bytes:
    """A float32 .npy header claiming ``shape``, with ``data`` zero bytes behind it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(data)


HUGE = header((1_000_000, 1_000_000), 16)  # 4 TB claimed, 16 bytes sent
WRAPS = header((2**32, 2**32), 0)  # 2**64 elements: an int64 product wraps to 0, which no data would match


def outputs(url: str, path: str, body: bytes) -> np.ndarray:
    request = urllib.request.Request(url + path, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=120) as response:
        return np.load(io.BytesIO(response.read()), allow_pickle=False)


def call(url: str, path: str, body: bytes | None = None, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url + path, data=body, method="POST" if body is not None else "GET")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_info_names_the_runtimes(agent: str) -> None:
    status, facts = call(agent, "/info")
    assert status == 200 and "onnxruntime" in facts["runtimes"] and facts["cores"] >= 1


def test_it_measures_an_onnx_model(agent: str, tiny_onnx: Path) -> None:
    status, m = call(agent, "/measure?name=m.onnx&runs=50&warmup=5", tiny_onnx.read_bytes())
    assert status == 200, m
    assert m["runtime"] == "onnxruntime" and len(m["samples_ms"]) == 50
    assert 0 < m["p10_ms"] <= m["median_ms"] <= m["p90_ms"] < 1000


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "tflite"])
def test_it_runs_an_artifact_as_a_local_session_does(agent: str, backend: str, tmp_path: Path) -> None:
    artifact = get_backend(backend).export(tiny_model(), Precision.FP32, tmp_path)
    x = np.random.default_rng(1).standard_normal((3, *artifact.input_shape[1:]), dtype=np.float32)
    model = artifact.path.read_bytes()
    weights = artifact.path.with_suffix(".bin").read_bytes() if backend == "openvino" else b""
    inputs = npy(x)
    query = f"name={artifact.path.name}&weights_bytes={len(weights)}&inputs_bytes={len(inputs)}"
    remote = outputs(agent, f"/run?{query}", model + weights + inputs)
    with get_backend(backend).open(artifact, threads=1) as session:
        here = session.run(x)
    assert remote.shape == here.shape == (3, 5) and np.allclose(remote, here, rtol=1e-4, atol=1e-5)
    status, m = call(agent, f"/measure?{query.split('&inputs')[0]}&runs=20", model + weights)
    assert status == 200 and m["runtime"] == backend and m["device"] == "CPU" and len(m["samples_ms"]) == 20
    assert m["cached"]  # loaded by /run, its files long deleted
    again = outputs(agent, f"/run?{query}", model + weights + inputs)  # after timing's bound input
    assert np.array_equal(again, remote)


def test_loaded_artifacts_are_reused_only_when_opened_the_same_way(agent: str, tmp_path: Path) -> None:
    model = get_backend("onnxruntime").export(tiny_model(), Precision.FP32, tmp_path).path.read_bytes()
    before = call(agent, "/info")[1]["cache"]
    cached = [call(agent, f"/measure?name=m.onnx&runs=2&threads={t}", model)[1]["cached"] for t in (3, 3, 4, 3)]
    after = call(agent, "/info")[1]["cache"]
    assert cached == [False, True, False, True]
    assert after["hits"] - before["hits"] == 2 and after["misses"] - before["misses"] == 2
    assert after["limit_mb"] == 256.0 and 0 < after["mb"] <= 256.0


def test_openvino_runs_an_onnx_file_and_names_the_devices_it_has(agent: str, tiny_onnx: Path) -> None:
    status, m = call(agent, "/measure?name=m.onnx&runtime=openvino&runs=5", tiny_onnx.read_bytes())
    assert status == 200 and m["runtime"] == "openvino"
    status, reply = call(agent, "/measure?name=m.onnx&runtime=openvino&device=MYRIAD", tiny_onnx.read_bytes())
    assert status == 422 and "OpenVINO device 'MYRIAD' is not here; this agent has CPU" in reply["error"]
    assert "CPU" in call(agent, "/info")[1]["openvino_devices"]


def test_run_refuses_inputs_of_the_wrong_shape(agent: str, tiny_onnx: Path) -> None:
    inputs = npy(np.zeros((2, 3, 8, 8), np.float32))
    status, reply = call(agent, f"/run?name=m.onnx&inputs_bytes={len(inputs)}", tiny_onnx.read_bytes() + inputs)
    assert status == 400 and "inputs have shape (3, 8, 8), the artifact takes (3, 16, 16)" in reply["error"]


@pytest.mark.parametrize(
    ("path", "body", "token", "status", "message"),
    [
        ("/info", None, None, 401, "no token"),
        ("/info", None, "wrong", 403, "wrong token"),
        ("/measure?name=m.onnx", b"hello, not a model", TOKEN, 400, "is not a .onnx model"),
        ("/measure?name=m.tflite", b"\x00" * 64, TOKEN, 400, "is not a .tflite model"),
        ("/measure?name=../../etc/m.onnx", b"\x08\x07", TOKEN, 400, "must be a plain file name"),
        ("/measure?name=m.py", b"print(1)", TOKEN, 400, "only .onnx, .tflite, .xml files are accepted"),
        ("/measure?name=m.onnx&runs=0", b"\x08", TOKEN, 400, "'runs' must be in [1, 100000]"),
        ("/measure?name=m.onnx", b"\x08\x07" + EXTERNAL_DATA + b"../../etc/passwd", TOKEN, 400, "external files"),
        ("/measure?name=m.xml", b"<?xml version='1.0'?><net/>", TOKEN, 400, "needs its .bin (weights_bytes)"),
        ("/measure?name=m.onnx&weights_bytes=9", b"\x08abc", TOKEN, 400, "leave no artifact in the body"),
        ("/measure?name=m.onnx&hint=int4", b"\x08", TOKEN, 400, "'hint' has an unexpected value"),
        ("/measure?name=m.onnx&device=../x", b"\x08", TOKEN, 400, "'device' has an unexpected value"),
        ("/measure?name=m.tflite&runtime=openvino", b"0000TFL3", TOKEN, 400, "openvino does not read .tflite"),
        ("/run?name=m.onnx&inputs_bytes=3", b"\x08abxyz", TOKEN, 400, "inputs are not a .npy array"),
        (f"/run?name=m.onnx&inputs_bytes={len(INTS)}", b"\x08" + INTS, TOKEN, 400, "inputs must be float32"),
        (f"/run?name=m.onnx&inputs_bytes={len(PICKLE)}", b"\x08" + PICKLE, TOKEN, 400, "must be float32"),
        (f"/run?name=m.onnx&inputs_bytes={len(HUGE)}", b"\x08" + HUGE, TOKEN, 400, "but 16 bytes of data follow"),
        (f"/run?name=m.onnx&inputs_bytes={len(WRAPS)}", b"\x08" + WRAPS, TOKEN, 400, "but 0 bytes of data follow"),
        ("/nowhere", b"x", TOKEN, 404, "no endpoint /nowhere"),
        (f"/measure?name=m.onnx&digest={'0' * 64}", b"", TOKEN, 409, "is not loaded here (any more); send its"),
        (f"/measure?name=m.onnx&digest={'0' * 64}", b"\x08", TOKEN, 400, "by digest sends no artifact"),
        (f"/measure?name=m.xml&digest={'0' * 64}&weights_bytes=1", b"x", TOKEN, 400, "by digest sends no artifact"),
        ("/measure?name=m.onnx&digest=../etc", b"", TOKEN, 400, "'digest' has an unexpected value"),
    ],
)
def test_bad_requests_are_refused_and_the_agent_stays_up(
    agent: str, path: str, body: bytes | None, token: str | None, status: int, message: str
) -> None:
    got, reply = call(agent, path, body, token)
    assert got == status and message in reply["error"]
    assert call(agent, "/info")[0] == 200


@pytest.mark.parametrize(
    ("length", "status", "message"),
    [("9000000", 413, "is over the agent's 8000000; restart it with a larger --max-mb"),
     ("-1", 400, "Content-Length must not be negative")],  # read(-1) would read until the client stops
)  # fmt: skip
def test_a_body_length_out_of_bounds_is_refused_before_it_is_read(
    agent: str, length: str, status: int, message: str
) -> None:
    host, port = agent.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/measure?name=m.onnx")
    connection.putheader("Authorization", f"Bearer {TOKEN}")
    connection.putheader("Content-Length", length)
    connection.endheaders()  # and no body: the agent must answer from the header alone
    response = connection.getresponse()
    assert response.status == status and message in json.loads(response.read())["error"]
    connection.close()
    assert call(agent, "/info")[0] == 200


def test_a_body_shorter_than_its_content_length_is_refused(agent: str) -> None:
    host, port = agent.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(f"POST /measure?name=m.onnx HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                       "Content-Length: 100\r\n\r\n".encode() + b"\x08" * 10)  # fmt: skip
        client.shutdown(socket.SHUT_WR)  # the client half-closes: no more bytes will come
        reply = b"".join(iter(lambda: client.recv(65536), b""))
    assert reply.startswith(b"HTTP/1.1 400") and b"the body ended after 10 of its 100 bytes" in reply
    assert call(agent, "/info")[0] == 200


def test_a_client_that_goes_away_is_one_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    server = Agent("127.0.0.1", 0, TOKEN, 1000, 5.0, 1000)
    try:
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except BrokenPipeError:
            server.handle_error(None, ("127.0.0.9", 5000))
    finally:
        server.server_close()
    assert capsys.readouterr().err == "127.0.0.9 dropped the connection (BrokenPipeError)\n"


def test_a_second_measurement_meanwhile_gets_503(agent: str, tiny_onnx: Path) -> None:
    model = tiny_onnx.read_bytes()
    first: list[tuple[int, dict]] = []
    worker = threading.Thread(target=lambda: first.append(call(agent, "/measure?name=m.onnx&runs=100000", model)))
    worker.start()
    time.sleep(0.2)
    status, reply = call(agent, "/measure?name=m.onnx&runs=5", model)  # the first takes over a second
    worker.join(120)
    assert status == 503 and "busy" in reply["error"]
    assert first[0][0] == 200 and len(first[0][1]["samples_ms"]) == 100000
    assert call(agent, "/measure?name=m.onnx&runs=5", model)[0] == 200  # and the lock is released


def test_the_agent_imports_neither_torch_nor_pandas() -> None:
    code = "import sys, edgebench.agent; print(sorted({'torch', 'pandas', 'onnx'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_agent_parses_as_python_3_8() -> None:
    import ast

    import edgebench.agent

    ast.parse(Path(edgebench.agent.__file__).read_text(), feature_version=(3, 8))


def test_the_cache_keeps_what_fits_and_a_loop_over_more_still_finds_some_loaded() -> None:
    cache, made = Cache(limit=10), []

    def opener(name: str) -> Callable[[], Any]:
        return lambda: made.append(name) or name

    assert cache.open("a", 4, opener("a")) == ("a", False) and cache.open("a", 4, opener("a")) == ("a", True)
    cache.open("huge", 11, opener("huge"))
    assert made == ["a", "huge"] and list(cache.entries) == ["a"]  # what exceeds the limit is never kept
    for _ in range(5):  # a LUT build's passes over 20 artifacts, 10 of which fit
        for i in range(20):
            assert cache.open(f"n{i}", 1, opener(f"n{i}"))[0] == f"n{i}"
            assert f"n{i}" in cache.entries and cache.size == sum(s for _, s in cache.entries.values()) <= 10
    assert cache.hits - 1 >= 10  # least recently used first out would find none of them loaded


def test_a_load_that_fails_with_artifacts_loaded_is_retried_without_them() -> None:
    cache, calls = Cache(limit=100), []
    cache.open("a", 4, lambda: "a")

    def out_of_memory() -> str:
        calls.append(len(cache.entries))
        if cache.entries:
            raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, "openvino cannot load the artifact: out of memory")
        return "b"

    assert cache.open("b", 4, out_of_memory) == ("b", False) and calls == [1, 0] and list(cache.entries) == ["b"]

    def refused() -> str:
        raise AgentError(HTTPStatus.BAD_REQUEST, "not a model")

    with pytest.raises(AgentError, match="not a model"):
        cache.open("c", 4, refused)
    assert list(cache.entries) == ["b"]  # a refusal is the request's fault: the cache stays
    assert Cache(limit=0).open("d", 1, lambda: "d") == ("d", False)


PI4 = """processor\t: 0
BogoMIPS\t: 108.00
CPU implementer\t: 0x41
CPU part\t: 0xd08

Revision\t: c03114
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""
EPYC = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 17\nmodel name\t: AMD EPYC 9R14 96-Core Processor\n"


@pytest.mark.parametrize(
    ("cpuinfo", "name"), [(PI4, "Raspberry Pi 4 Model B Rev 1.4"), (EPYC, "AMD EPYC 9R14 96-Core Processor")]
)
def test_the_cpu_is_named_on_arm_boards_and_x86_alike(cpuinfo: str, name: str, tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    assert cpu_name(tmp_path / "cpuinfo") == name  # what the agent says
    assert cpu_model(tmp_path / "cpuinfo") == name  # what local LUT headers and rows say


def test_a_stopped_agent_removes_its_private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    running = start_agent()
    assert len(list(tmp_path.glob("edgebench-agent-*"))) == 1
    running.stop()  # SIGTERM, as a service manager stops it
    assert running.process.returncode == 0 and not list(tmp_path.glob("edgebench-agent-*"))
