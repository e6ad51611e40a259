"""A real agent process on loopback: it times an ONNX model like a local session does, and refuses what it must
(no token, wrong token, oversized body, a file that is not a model, a name with a path, a second concurrent
measurement) with the right status while it stays up."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.agent.conftest import TOKEN


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


@pytest.mark.parametrize(
    ("path", "body", "token", "status", "message"),
    [
        ("/info", None, None, 401, "no token"),
        ("/info", None, "wrong", 403, "wrong token"),
        ("/measure?name=m.onnx", b"hello, not a model", TOKEN, 400, "is not a .onnx model"),
        ("/measure?name=m.tflite", b"\x00" * 64, TOKEN, 400, "is not a .tflite model"),
        ("/measure?name=../../etc/m.onnx", b"\x08\x07", TOKEN, 400, "must be a plain file name"),
        ("/measure?name=m.py", b"print(1)", TOKEN, 400, "only .onnx, .tflite files"),
        ("/measure?name=m.onnx&runs=0", b"\x08", TOKEN, 400, "'runs' must be in [1, 100000]"),
        ("/run", b"x", TOKEN, 404, "no endpoint /run"),
    ],
)
def test_bad_requests_are_refused_and_the_agent_stays_up(
    agent: str, path: str, body: bytes | None, token: str | None, status: int, message: str
) -> None:
    got, reply = call(agent, path, body, token)
    assert got == status and message in reply["error"]
    assert call(agent, "/info")[0] == 200


def test_an_oversized_body_is_refused_before_it_is_read(agent: str) -> None:
    host, port = agent.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/measure?name=m.onnx")
    connection.putheader("Authorization", f"Bearer {TOKEN}")
    connection.putheader("Content-Length", "3000000")
    connection.endheaders()  # and no body: the agent must answer from the header alone
    response = connection.getresponse()
    assert response.status == 413 and "is over the agent's 2000000" in json.loads(response.read())["error"]
    connection.close()
    assert call(agent, "/info")[0] == 200


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
