"""A real agent process on loopback, for the module's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

TOKEN = "test-token-123"
ENV = "EDGEBENCH_TEST_AGENT_TOKEN"


def start_agent(command: list[str], port: int = 0) -> tuple[subprocess.Popen[str], str]:
    """An agent started by ``command`` on loopback (``port`` 0: any free one) and its URL, once it answers."""
    env = {**os.environ, "EDGEBENCH_AGENT_TOKEN": TOKEN}
    args = [*command, "--port", str(port), "--max-mb", "8"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("edgebench agent on http://127.0.0.1:"), line
    return process, line.split()[3]


#: The agent as edgebench's CLI starts it.
CLI = [sys.executable, "-m", "edgebench", "agent"]


@pytest.fixture(scope="module")
def agent() -> Iterator[str]:
    process, url = start_agent(CLI)
    yield url
    process.terminate()
    process.wait(10)


def board_profile(folder: Path, url: str, openvino_device: str = "CPU", retries: int = 5) -> Path:
    """host.yaml as a device named ``board`` reached through the agent at ``url``."""
    data = yaml.safe_load((Path(__file__).parents[2] / "devices" / "host.yaml").read_text())
    data.update(name="board", connection={"agent": url, "token_env": ENV, "retries": retries})
    for runtime in data["runtimes"]:
        if runtime["backend"] == "openvino":
            runtime["device"] = openvino_device
    path = folder / "board.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
