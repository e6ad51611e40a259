"""The workstation's side of the agent: send an artifact to a device's agent to time or run it, with a
per-request timeout and retries while the agent restarts."""

from __future__ import annotations

import functools
import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

import numpy as np

from edgebench.agent import artifact_digest
from edgebench.backends._timing import Measurement
from edgebench.backends.base import Artifact
from edgebench.backends.openvino import INFERENCE_HINT, READS_IR_V11, computed_at, source_onnx
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
    _facts: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # /info, once asked
    _sent: set[str] = field(default_factory=set, compare=False, repr=False)  # digests of the artifacts sent

    @classmethod
    def for_connection(cls, connection: AgentConnection, device: str) -> AgentClient:
        """The client a profile's ``connection: {agent: URL, token_env: NAME}`` names, one per agent and process:
        the agent's facts are asked once, and each artifact is sent once.

        Raises:
            UnreachableDeviceError: the token's environment variable is not set.
        """
        token = os.environ.get(connection.token_env, "")
        if not token:
            raise UnreachableDeviceError(
                f"device '{device}' is measured through its agent at {connection.agent}, but ${connection.token_env} "
                "is not set; export the token the agent printed when it started"
            )
        return _shared(connection.agent.rstrip("/"), token, connection.timeout_s, connection.retries)

    def _call(self, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method="GET" if body is None else "POST")
        request.add_header("Authorization", f"Bearer {self.token}")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return bytes(response.read())
            except urllib.error.HTTPError as e:
                reason = _reason(e)
                if e.code == HTTPStatus.CONFLICT:
                    raise _NotLoaded(reason) from None
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
        """The device's facts: platform, CPU, cores, runtimes and their versions, OpenVINO devices."""
        return dict(json.loads(self._call("/info")))

    def measure(self, artifact: Artifact, threads: int, warmup: int, repeats: int, device: str = "CPU") -> Measurement:
        """Time an artifact on the device (the agent times a fixed random input of its own); computed at the
        precision the agent's runtime reports, else the artifact's."""
        reply = json.loads(self._post("/measure", artifact, device, {"threads": threads, "warmup": warmup,
                                                                     "runs": repeats}))  # fmt: skip
        compute = computed_at(artifact.precision, reply.get("compute") or "")
        return Measurement.from_samples(reply["samples_ms"]).computed_at(compute)

    def run(self, artifact: Artifact, x: np.ndarray, threads: int, device: str = "CPU") -> np.ndarray:
        """The artifact's first output on the device for each input in the batch ``x``."""
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(x, dtype=np.float32), allow_pickle=False)
        inputs = buffer.getvalue()
        reply = self._post("/run", artifact, device, {"threads": threads, "inputs_bytes": len(inputs)}, inputs)
        return np.asarray(np.load(io.BytesIO(reply), allow_pickle=False))

    def _post(self, path: str, artifact: Artifact, device: str, settings: dict[str, int], tail: bytes = b"") -> bytes:
        """POST ``artifact`` then ``tail``. An artifact this client sent before to an agent that keeps what it
        loads (version 3, ``--cache-mb`` above 0) is named by its digest alone, and sent again if the agent no
        longer has it."""
        query, model, weights = self._request(artifact, device, settings)
        digest = artifact_digest(model, weights)
        if digest in self._sent:
            try:
                return self._call(f"{path}?{urllib.parse.urlencode({**query, 'digest': digest})}", tail)
            except _NotLoaded:
                pass
        if weights:
            query["weights_bytes"] = len(weights)
        reply = self._call(f"{path}?{urllib.parse.urlencode(query)}", model + weights + tail)
        if self._agent_facts().get("cache", {}).get("limit_mb", 0) > 0:  # an agent that keeps what it loads
            self._sent.add(digest)
        return reply

    def _request(
        self, artifact: Artifact, device: str, settings: dict[str, int]
    ) -> tuple[dict[str, Any], bytes, bytes]:
        """The query, artifact and weights (an IR's) that open ``artifact`` on ``device``. An OpenVINO older than
        2022.1 cannot read this OpenVINO's IR, so it gets the ONNX the IR came from."""
        query: dict[str, Any] = {"name": artifact.path.name, "device": device, **settings}
        path = artifact.path
        if artifact.backend == "openvino" and self._openvino_version() < READS_IR_V11:
            onnx = source_onnx(artifact)
            if onnx is None:
                raise UnsupportedError(
                    f"agent {self.url} has OpenVINO {self._facts['runtimes']['openvino']}, which reads neither this "
                    f"IR nor, for {artifact.precision}, its source ONNX; use fp32/fp16 or OpenVINO >= 2022.1 there"
                )
            path, query["name"], query["runtime"] = onnx, onnx.name, "openvino"
        weights = path.with_suffix(".bin").read_bytes() if path.suffix == ".xml" else b""
        if artifact.backend == "openvino" and device == "CPU":
            query["hint"] = INFERENCE_HINT[artifact.precision]
        return query, path.read_bytes(), weights

    def _agent_facts(self) -> dict[str, Any]:
        """`info`, asked once."""
        if not self._facts:
            self._facts.update(self.info())
        return self._facts

    def _openvino_version(self) -> tuple[int, ...]:
        """The agent's OpenVINO as (year, release)."""
        version = self._agent_facts()["runtimes"].get("openvino", "0.0")
        return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


@functools.cache
def _shared(url: str, token: str, timeout_s: float, retries: int) -> AgentClient:
    return AgentClient(url, token, timeout_s, retries)


class _NotLoaded(Exception):
    """The agent no longer has the artifact a request named by its digest."""


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)


class RemoteSession:
    """An artifact on a device's agent, used like a local `Session`; every call is one request (the artifact is
    sent with the first, and named by its digest after that)."""

    def __init__(self, client: AgentClient, artifact: Artifact, threads: int, device: str) -> None:
        self.client, self.artifact, self.threads, self.device = client, artifact, threads, device
        self.compute = str(artifact.precision)  # until the agent says otherwise when it times it

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.client.run(self.artifact, x, self.threads, self.device)

    def measure(self, x: np.ndarray | None = None, warmup: int = 10, repeats: int = 100) -> Measurement:
        """Time the artifact on the device; the agent feeds its own fixed random input, not ``x``."""
        measured = self.client.measure(self.artifact, self.threads, warmup, repeats, self.device)
        self.compute = measured.compute
        return measured

    def close(self) -> None:
        """Nothing to close: the agent decides how long it keeps the artifact loaded."""

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
