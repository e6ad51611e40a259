"""A real agent process on loopback, for the module's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def agent() -> Iterator[str]:
    env = {**os.environ, "EDGEBENCH_AGENT_TOKEN": TOKEN}
    command = [sys.executable, "-m", "edgebench.agent", "--port", "0", "--max-mb", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("edgebench agent on http://127.0.0.1:"), line
    yield line.split()[3]
    process.terminate()
    process.wait(10)
