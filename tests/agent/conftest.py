"""A real agent process on loopback, for the module's tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgebench.testing.agent import host_as_board, loopback_agent

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
    return host_as_board(folder, url, ENV, openvino_device, retries)
