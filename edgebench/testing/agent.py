"""A measurement agent on loopback for tests and benchmarks, started the way a board starts it."""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from edgebench import agent
from edgebench.agent_client import AgentClient
from edgebench.devices.registry import SHIPPED_DIR, get_device

#: The agent as the package runs it; see `standalone` for a board's single-file copy.
MODULE = (sys.executable, "-m", "edgebench.agent")


def standalone(folder: Path, python: str = sys.executable) -> list[str]:
    """Copy ``agent.py`` alone into ``folder`` and return the command that runs the copy with ``python``."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = Path(shutil.copy(agent.__file__, folder / "agent.py"))
    return [python, str(copy)]


@dataclass
class LoopbackAgent:
    """A running agent process, its URL and its token."""

    process: subprocess.Popen[str]
    url: str
    token: str

    @functools.cached_property
    def client(self) -> AgentClient:
        return AgentClient(self.url, self.token)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_agent(
    command: Sequence[str] = MODULE, token: str | None = None, port: int = 0, max_mb: float = 256.0,
    cache_mb: float = 256.0,
) -> LoopbackAgent:  # fmt: skip
    """Start ``command`` on 127.0.0.1 (``port`` 0: any free one) and return it once it listens."""
    token = token or secrets.token_urlsafe(16)
    args = [*command, "--port", str(port), "--max-mb", str(max_mb), "--cache-mb", str(cache_mb)]
    env = {**os.environ, agent.TOKEN_ENV: token}
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("edgebench agent on http://"):
        process.kill()
        raise RuntimeError(f"the agent did not start ({' '.join(args)}): {line!r}")
    return LoopbackAgent(process, line.split()[3], token)


@contextmanager
def loopback_agent(
    command: Sequence[str] = MODULE, token: str | None = None, max_mb: float = 256.0, cache_mb: float = 256.0
) -> Iterator[LoopbackAgent]:
    """`start_agent`, stopped on exit."""
    running = start_agent(command, token, max_mb=max_mb, cache_mb=cache_mb)
    try:
        yield running
    finally:
        running.stop()


def host_as_board(folder: Path, url: str, token_env: str, openvino_device: str = "CPU", retries: int = 5) -> Path:
    """``host.yaml`` as a device named ``board`` reached through the agent at ``url`` (on this machine, so its
    channel blocks are this CPU's); returns the profile's path in ``folder``."""
    data = yaml.safe_load((SHIPPED_DIR / "host.yaml").read_text())
    data.update(name="board", connection={"agent": url, "token_env": token_env, "retries": retries})
    host = get_device("host")
    for runtime in data["runtimes"]:
        if runtime["backend"] == "openvino":
            runtime["device"] = openvino_device
        runtime.update(host.blocks(runtime["backend"]))
    path = folder / "board.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
