"""The measurement agent: a small HTTP server on the device that times artifacts the workstation sends it.

One file, standard library plus numpy and one runtime (onnxruntime, or ai-edge-litert / tflite-runtime), no torch
or pandas, Python >= 3.8: copy it to the board and run ``python agent.py --port 8765``. Every request needs the
token (``Authorization: Bearer TOKEN``), compared in constant time; it is read from ``--token-file`` or
``$EDGEBENCH_AGENT_TOKEN``, or generated and printed at start. It binds to 127.0.0.1 unless ``--host`` says
otherwise, refuses bodies over ``--max-mb``, writes artifacts only into its own private temporary folder under
names it makes itself, checks an artifact's magic bytes before a runtime loads it, and times one artifact at a
time (a second request meanwhile gets 503).

API:
    GET  /info       device facts: platform, CPU, cores, Python, runtimes and their versions
    POST /measure    body: the artifact (.onnx or .tflite); query: name (its file name, for its suffix), threads,
                     warmup, runs. Returns {"runtime", "version", "samples_ms": [...], "median_ms", "p10_ms",
                     "p90_ms"} for a fixed random input.
"""

from __future__ import annotations

import argparse
import hmac
import importlib
import json
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

VERSION = 1
TOKEN_ENV = "EDGEBENCH_AGENT_TOKEN"
#: File name suffix -> magic bytes the file must carry (ONNX: a protobuf whose first field is ir_version).
MAGIC = {".onnx": (b"\x08",), ".tflite": (b"TFL3",)}
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class AgentError(Exception):
    """A request the agent refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def runtimes() -> dict[str, str]:
    """The runtimes importable here and their versions."""
    found = {}
    for name, module in (("onnxruntime", "onnxruntime"), ("tflite", "ai_edge_litert"), ("tflite", "tflite_runtime"),
                         ("openvino", "openvino")):  # fmt: skip
        if name in found:
            continue
        try:
            found[name] = str(getattr(importlib.import_module(module), "__version__", "unknown"))
        except ImportError:
            continue
    return found


def info() -> dict[str, Any]:
    """What the workstation may want to know about the device before it sends work."""
    return {"agent": VERSION, "platform": platform.platform(), "machine": platform.machine(), "cpu": cpu_name(),
            "cores": os.cpu_count(), "python": platform.python_version(), "runtimes": runtimes()}  # fmt: skip


def cpu_name() -> str:
    """The CPU's model name (x86 ``model name``, Arm ``Model``), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def checked_suffix(name: str, body: bytes) -> str:
    """The artifact's suffix, if its name is a plain file name of a known kind and its bytes look like one."""
    if not NAME.match(name) or name.startswith("."):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact name {name!r} must be a plain file name (no folders)")
    suffix = Path(name).suffix.lower()
    if suffix not in MAGIC:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact {name!r}: only {', '.join(MAGIC)} files are measured")
    head = body[4:8] if suffix == ".tflite" else body[:1]
    if not any(head.startswith(m) for m in MAGIC[suffix]):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact {name!r} is not a {suffix} model (wrong magic bytes)")
    return suffix


def _onnxruntime(path: Path, threads: int) -> tuple[Callable[[], object], str]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    binding = session.io_binding()  # the fastest call path, as edgebench's own ONNX Runtime sessions use
    binding.bind_cpu_input(inp.name, np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    for out in session.get_outputs():
        binding.bind_output(out.name, "cpu")
    return lambda: session.run_with_iobinding(binding), ort.__version__


def _tflite(path: Path, threads: int) -> tuple[Callable[[], object], str]:
    try:
        module: Any = importlib.import_module("ai_edge_litert.interpreter")
    except ImportError:
        module = importlib.import_module("tflite_runtime.interpreter")
    interpreter = module.Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    x = np.random.default_rng(0).standard_normal(inp["shape"]).astype(inp["dtype"])
    interpreter.set_tensor(inp["index"], x)
    return interpreter.invoke, runtimes().get("tflite", "unknown")


OPENERS = {".onnx": ("onnxruntime", _onnxruntime), ".tflite": ("tflite", _tflite)}


def measure(path: Path, threads: int, warmup: int, runs: int) -> dict[str, Any]:
    """Time ``runs`` inferences of the artifact at ``path`` after ``warmup`` untimed ones."""
    runtime, opener = OPENERS[path.suffix]
    try:
        call, version = opener(path, threads)
    except ImportError:
        raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"{runtime} is not installed on this device") from None
    except Exception as e:  # the runtime rejected the file: the client's problem, not the agent's
        raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"{runtime} cannot load the artifact: {e}"[:300]) from None
    for _ in range(warmup):
        call()
    samples: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    p10, median, p90 = (float(v) for v in np.percentile(samples, [10, 50, 90]))
    return {"runtime": runtime, "version": version, "threads": threads, "warmup": warmup, "samples_ms": samples,
            "median_ms": median, "p10_ms": p10, "p90_ms": p90}  # fmt: skip


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    try:
        value = int(query.get(key, [str(default)])[0])
    except ValueError:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"query '{key}' must be an integer") from None
    if not low <= value <= high:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"query '{key}' must be in [{low}, {high}], not {value}")
    return value


class Agent(ThreadingHTTPServer):
    """The server: its token, its limits, its private folder and the one-measurement lock."""

    daemon_threads = True

    def __init__(self, host: str, port: int, token: str, max_bytes: int, timeout_s: float) -> None:
        super().__init__((host, port), Handler)
        self.token, self.max_bytes, self.timeout_s = token, max_bytes, timeout_s
        self.workdir = Path(tempfile.mkdtemp(prefix="edgebench-agent-"))  # mode 0700
        self.busy = threading.Lock()

    def server_close(self) -> None:
        super().server_close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Handler(BaseHTTPRequestHandler):
    server: Agent
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.request.settimeout(self.server.timeout_s)

    def log_message(self, format: str, *args: Any) -> None:  # one line per request on stderr, no bodies
        sys.stderr.write(f"agent: {self.address_string()} {format % args}\n")

    def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> None:
        given = self.headers.get("Authorization", "")
        if not given:
            raise AgentError(HTTPStatus.UNAUTHORIZED, "no token: send 'Authorization: Bearer TOKEN'")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            raise AgentError(HTTPStatus.FORBIDDEN, "wrong token")

    def _handle(self, work: Callable[[], dict[str, Any]]) -> None:
        try:
            self._authorised()
            self._reply(HTTPStatus.OK, work())
        except AgentError as e:
            self._reply(e.status, {"error": str(e)})

    def do_GET(self) -> None:
        route = urlparse(self.path).path
        self._handle(info if route == "/info" else self._not_found)

    def do_POST(self) -> None:
        url = urlparse(self.path)
        self._handle((lambda: self._measure(parse_qs(url.query))) if url.path == "/measure" else self._not_found)

    def _not_found(self) -> dict[str, Any]:
        raise AgentError(HTTPStatus.NOT_FOUND, f"no endpoint {urlparse(self.path).path}; see GET /info")

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise AgentError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length") from None
        if length > self.server.max_bytes:
            raise AgentError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             f"body of {length} bytes is over the agent's {self.server.max_bytes}")  # fmt: skip
        return self.rfile.read(length)

    def _measure(self, query: dict[str, list[str]]) -> dict[str, Any]:
        name = query.get("name", [""])[0]
        threads, warmup = _int(query, "threads", 1, 1, 256), _int(query, "warmup", 10, 0, 10_000)
        runs = _int(query, "runs", 100, 1, 100_000)
        body = self._body()
        suffix = checked_suffix(name, body)
        if not self.server.busy.acquire(blocking=False):
            raise AgentError(HTTPStatus.SERVICE_UNAVAILABLE, "busy with another measurement; retry later")
        try:
            path = self.server.workdir / f"{secrets.token_hex(8)}{suffix}"  # the agent's name, never the client's
            path.write_bytes(body)
            try:
                return measure(path, threads, warmup, runs)
            finally:
                path.unlink()
        finally:
            self.server.busy.release()


def load_token(token_file: Path | None) -> tuple[str, bool]:
    """The token from the file, else the environment, else a new one (and whether it was generated)."""
    if token_file is not None:
        token = token_file.read_text().strip()
        if not token:
            raise SystemExit(f"{token_file}: empty token file")
        return token, False
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], False
    return secrets.token_urlsafe(24), True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token-file", type=Path, help=f"file holding the token (default: ${TOKEN_ENV}, else new)")
    parser.add_argument("--max-mb", type=float, default=256.0, help="largest request body accepted")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a connection may stay silent")
    args = parser.parse_args(argv)
    token, generated = load_token(args.token_file)
    agent = Agent(args.host, args.port, token, int(args.max_mb * 1e6), args.timeout)
    found = ", ".join(runtimes()) or "none"
    print(f"edgebench agent on http://{args.host}:{agent.server_port} (runtimes: {found})", flush=True)
    if generated:
        print(f"token: {token}", flush=True)
    try:
        agent.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        agent.server_close()


if __name__ == "__main__":
    main()
