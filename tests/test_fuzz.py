"""Bounded fuzzing with a fixed seed (loopback only): bad CLI input and bad HTTP requests to the agent never end in
a traceback, a 500 or an exit code other than 0, 1 or 2, and the agent stays up."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.testing.agent import loopback_agent

FUZZ = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
NUMBERISH = st.one_of(WORD, st.integers(-(10**6), 10**6).map(str), st.floats(allow_nan=True).map(str))
DEVICES = st.sampled_from(["host", "myriadx", "rpi5", "nosuch", ""])


def _settled(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output


@FUZZ
@given(latency=NUMBERISH, device=DEVICES, precision=st.sampled_from(["fp32", "fp16", "int8", "fp8", "x"]),
       students=st.integers(-3, 3).map(str), space=st.sampled_from(["mbv2-cifar", "mbv2-224", "nospace"]))  # fmt: skip
def test_search_requests(tmp_path: Path, latency: str, device: str, precision: str, students: str, space: str) -> None:
    args = ["search", "--method", "oneshot", "-l", latency, "-d", device, "-p", precision, "--students", students,
            "--space", space, "--data", "npz:/no/such.npz", "--cache-dir", str(tmp_path / "cache"),
            "--out", str(tmp_path / "out")]  # fmt: skip  # the data never loads: nothing long runs
    _settled(CliRunner().invoke(app, args))


@FUZZ
@given(content=st.binary(max_size=256), device=DEVICES, threads=NUMBERISH)
def test_model_files(tmp_path: Path, content: bytes, device: str, threads: str) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(content)
    for command in (["predict", str(model), "-d", device, "--threads", threads],
                    ["bench", str(model), "-d", device, "--threads", threads, "--repeats", "1"]):  # fmt: skip
        _settled(CliRunner().invoke(app, command))


@FUZZ
@given(text=st.text(max_size=300))
def test_profile_files(tmp_path: Path, text: str) -> None:
    profile = tmp_path / "board.yaml"
    profile.write_text(text)
    _settled(CliRunner().invoke(app, ["devices", "show", str(profile)]))


@pytest.fixture(scope="module")
def agent() -> Iterator[str]:
    with loopback_agent(max_mb=1) as running:
        yield running.url, running.token  # type: ignore[misc]


QUERY = st.dictionaries(st.sampled_from(["name", "runs", "warmup", "threads", "weights_bytes", "inputs_bytes",
                                          "digest", "hint", "device", "runtime"]), NUMBERISH, max_size=5)  # fmt: skip


@FUZZ
@given(route=st.sampled_from(["/measure", "/run", "/info", "/x"]), query=QUERY, body=st.binary(max_size=512),
       name=st.sampled_from(["m.onnx", "m.tflite", "m.xml", "../m.onnx", ""]))  # fmt: skip
def test_agent_requests(agent: tuple[str, str], route: str, query: dict[str, str], body: bytes, name: str) -> None:
    url, token = agent
    params = urllib.parse.urlencode({"name": name, **query})
    request = urllib.request.Request(f"{url}{route}?{params}", data=body, method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
        assert "error" in json.loads(e.read())
    assert status != 500 and status < 600, status
    with urllib.request.urlopen(urllib.request.Request(f"{url}/info", headers={"Authorization": f"Bearer {token}"}),
                                timeout=60) as response:  # fmt: skip
        assert response.status == 200  # still up
