"""``edgebench agent``: serve this machine's runtimes to a workstation (the measurement agent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def agent(
    host: Annotated[str, typer.Option(help="Address to bind; give 0.0.0.0 to accept other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    token_file: Annotated[
        Path | None, typer.Option(help="File holding the token (default: $EDGEBENCH_AGENT_TOKEN, else a new one).")
    ] = None,
    max_mb: Annotated[float, typer.Option(help="Largest request body accepted (artifact plus inputs).")] = 256.0,
    timeout: Annotated[float, typer.Option(help="Seconds a connection may stay silent.")] = 60.0,
    cache_mb: Annotated[
        float,
        typer.Option(help="Artifact bytes kept loaded between requests (lower it if the device runs out of memory)."),
    ] = 256.0,
) -> None:
    """Serve this machine's runtimes to a workstation: time and run the artifacts it sends (the measurement agent).

    Run it on the device, export the token it prints on the workstation, and give the device's profile
    connection: {agent: http://DEVICE:PORT, token_env: EDGEBENCH_AGENT_TOKEN}; then bench, profile and run measure
    there (source: agent). A device without edgebench runs a copy of edgebench/agent.py the same way.

    Example: edgebench agent --host 0.0.0.0 --port 8765
    """
    from edgebench.agent import main as agent_main  # the agent's module only where it is served

    argv = ["--host", host, "--port", str(port), "--max-mb", str(max_mb), "--timeout", str(timeout),
            "--cache-mb", str(cache_mb)]  # fmt: skip
    agent_main(argv + (["--token-file", str(token_file)] if token_file else []))
