"""The workstation's side of the agent: send an artifact to a device's agent and get its timing back, with a
per-request timeout and retries while the agent restarts."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgebench.backends._timing import Measurement
from edgebench.devices import AgentConnection
from edgebench.exceptions import UnreachableDeviceError, UnsupportedError

#: HTTP statuses worth retrying: the agent is busy (503) or a proxy in front of it failed.
RETRY = {502, 503, 504}


@dataclass(frozen=True)
class AgentClient:
    """One device's agent: its URL and token, how long one request may take, and how often to retry."""

    url: str
    token: str
    timeout_s: float = 600.0
    retries: int = 5
    backoff_s: float = 1.0

    @classmethod
    def for_connection(cls, connection: AgentConnection, device: str) -> AgentClient:
        """The client a profile's ``connection: {agent: URL, token_env: NAME}`` names.

        Raises:
            UnreachableDeviceError: the token's environment variable is not set.
        """
        token = os.environ.get(connection.token_env, "")
        if not token:
            raise UnreachableDeviceError(
                f"device '{device}' is measured through its agent at {connection.agent}, but ${connection.token_env} "
                "is not set; export the token the agent printed when it started"
            )
        return cls(connection.agent.rstrip("/"), token)

    def _call(self, path: str, body: bytes | None = None) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, data=body, method="GET" if body is None else "POST")
        request.add_header("Authorization", f"Bearer {self.token}")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as e:
                reason = _reason(e)
                if e.code not in RETRY:
                    raise UnsupportedError(
                        f"agent {self.url} refused {path.split('?')[0]} ({e.code}): {reason}"
                    ) from None
                last = f"{e.code} {reason}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = str(getattr(e, "reason", e))
        raise UnreachableDeviceError(
            f"agent {self.url} did not answer {path.split('?')[0]} after {self.retries + 1} tries (last: {last}); "
            "is `python agent.py` running on the device, and the URL in its profile right?"
        )

    def info(self) -> dict[str, Any]:
        """The device's facts: platform, CPU, cores, runtimes."""
        return self._call("/info")

    def measure(self, artifact: Path, threads: int, warmup: int, repeats: int) -> Measurement:
        """Time an ``.onnx`` or ``.tflite`` artifact on the device."""
        query = urllib.parse.urlencode({"name": artifact.name, "threads": threads, "warmup": warmup, "runs": repeats})
        reply = self._call(f"/measure?{query}", artifact.read_bytes())
        return Measurement.from_samples(reply["samples_ms"])


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)
