"""A real agent process on loopback, for the module's tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from edgebench.devices.registry import SHIPPED_DIR
from edgebench.testing.agent import loopback_agent

TOKEN = "test-token-123"
ENV = "EDGEBENCH_TEST_AGENT_TOKEN"


#: The agent as edgebench's CLI starts it.
CLI = [sys.executable, "-m", "edgebench", "agent"]


@pytest.fixture(scope="module")
def agent() -> Iterator[str]:
    with loopback_agent(CLI, TOKEN, max_mb=8) as running:
        yield running.url


def board_profile(folder: Path, url: str, openvino_device: str = "CPU", retries: int = 5) -> Path:
    """host.yaml as a device named ``board`` reached through the agent at ``url``."""
    data = yaml.safe_load((SHIPPED_DIR / "host.yaml").read_text())
    data.update(name="board", connection={"agent": url, "token_env": ENV, "retries": retries})
    for runtime in data["runtimes"]:
        if runtime["backend"] == "openvino":
            runtime["device"] = openvino_device
    path = folder / "board.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
