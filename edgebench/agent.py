"""The measurement agent: a small HTTP server on the device that times and runs artifacts the workstation sends.

One file, standard library plus numpy and one runtime (onnxruntime, openvino 2021.4 or later, ai-edge-litert or
tflite-runtime), no torch or pandas, Python >= 3.8: copy it to the board and run ``python agent.py --port 8765``.
Every request needs the token (``Authorization: Bearer TOKEN``), compared in constant time; it is read from
``--token-file`` or ``$EDGEBENCH_AGENT_TOKEN``, or generated and printed at start. It binds to 127.0.0.1 unless
``--host`` says otherwise, refuses bodies over ``--max-mb``, writes artifacts only into its own private temporary
folder under names it makes itself, checks an artifact's bytes before a runtime loads it, and works on one
artifact at a time (a request that arrives meanwhile gets 503; retry it). Loaded artifacts stay loaded between
requests, up to ``--cache-mb`` of artifact bytes: a LUT build times each artifact in several windows, and loading
a network onto an accelerator takes seconds.

API (errors are JSON ``{"error": "..."}`` with 400, 401, 403, 404, 409, 411, 413, 422, 500 or 503):
    GET  /info      device facts: platform, CPU, cores, Python, runtimes and their versions, OpenVINO devices,
                    the cache of loaded artifacts, and the request bytes received
    POST /measure   time an artifact; returns JSON {"runtime", "version", "device", "threads", "warmup",
                    "samples_ms": [...], "median_ms", "p10_ms", "p90_ms", "compute", "cached"} for a fixed random
                    input; ``compute`` is the element type OpenVINO compiled it to compute in ('' if unsaid)
    POST /run       run an artifact on the inputs sent; returns the first output as a .npy (float32, batch first)

    The body is the artifact's bytes, then (OpenVINO IR only) its .bin weights, then (/run only) the inputs as a
    .npy float32 array of shape (batch, ...). Query: ``name`` (the artifact's file name: .onnx, .tflite or .xml),
    ``weights_bytes`` and ``inputs_bytes`` (the lengths of those trailing parts), ``threads``, ``warmup``,
    ``runs``, and for OpenVINO ``runtime=openvino`` (to run an .onnx with it), ``device`` (CPU, MYRIAD, ...; default
    CPU) and ``hint`` (inference precision: f32, f16, bf16; default f32 on CPU, the device's own elsewhere).
    An artifact sent before may be named instead by ``digest`` (`artifact_digest` of its bytes), with only the
    inputs in the body; if it is no longer loaded, the reply is 409 and the client sends it again.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import hmac
import importlib
import inspect
import io
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

VERSION = 3  # 3: loaded artifacts are kept, and a request may name one by its digest
TOKEN_ENV = "EDGEBENCH_AGENT_TOKEN"
#: File name suffix -> magic bytes the file must start with (ONNX: a protobuf whose first field is ir_version).
MAGIC = {".onnx": (b"\x08",), ".tflite": (b"TFL3",), ".xml": (b"<?xml", b"<net")}
#: The runtime each kind of artifact goes to unless the query names another (only OpenVINO reads ONNX too).
RUNTIME = {".onnx": "onnxruntime", ".tflite": "tflite", ".xml": "openvino"}
#: An ONNX tensor stored outside the file names it in a {key: "location"} entry; such a model would make the
#: runtime read a path the client chose, so the agent refuses it.
EXTERNAL_DATA = b"\x0a\x08location"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
HINTS = ("f32", "f16", "bf16")


class AgentError(Exception):
    """A request the agent refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _openvino() -> tuple[str, Any]:
    """Which OpenVINO API is installed: ``ov`` (2023.1+), ``runtime`` (2022.x) or ``ie`` (2021.4)."""
    try:
        return "ov", importlib.import_module("openvino").Core
    except (ImportError, AttributeError):
        pass
    try:
        return "runtime", importlib.import_module("openvino.runtime").Core
    except ImportError:
        return "ie", importlib.import_module("openvino.inference_engine").IECore


def _openvino_version() -> str:
    for module in ("openvino", "openvino.runtime", "openvino.inference_engine"):
        try:
            return str(importlib.import_module(module).get_version()).split("-")[0]
        except (ImportError, AttributeError):
            continue
    raise ImportError("openvino")


def runtimes() -> dict[str, str]:
    """The runtimes importable here and their versions."""
    found = {}
    for name, module in (("onnxruntime", "onnxruntime"), ("tflite", "ai_edge_litert"), ("tflite", "tflite_runtime")):
        if name in found:
            continue
        try:
            found[name] = str(getattr(importlib.import_module(module), "__version__", "unknown"))
        except ImportError:
            continue
    with contextlib.suppress(ImportError):
        found["openvino"] = _openvino_version()
    return found


def openvino_devices() -> list[str]:
    try:
        return list(_openvino()[1]().available_devices)
    except ImportError:
        return []


def info() -> dict[str, Any]:
    """What the workstation may want to know about the device before it sends work."""
    return {"agent": VERSION, "platform": platform.platform(), "machine": platform.machine(), "cpu": cpu_name(),
            "cores": os.cpu_count(), "python": platform.python_version(), "runtimes": runtimes(),
            "openvino_devices": openvino_devices()}  # fmt: skip


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (x86 ``model name``, a Raspberry Pi's ``Model``), else what platform knows."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def named_suffix(name: str) -> str:
    """The artifact's suffix, if its name is a plain file name of a known kind."""
    if not NAME.match(name) or name.startswith("."):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact name {name!r} must be a plain file name (no folders)")
    suffix = Path(name).suffix.lower()
    if suffix not in MAGIC:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact {name!r}: only {', '.join(MAGIC)} files are accepted")
    return suffix


def checked_suffix(name: str, model: bytes) -> str:
    """`named_suffix`, if the artifact's bytes also look like that kind of model."""
    suffix = named_suffix(name)
    head = model[4:8] if suffix == ".tflite" else model[:5]
    if not any(head.startswith(m) for m in MAGIC[suffix]):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact {name!r} is not a {suffix} model (wrong magic bytes)")
    if suffix == ".onnx" and EXTERNAL_DATA in model:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"artifact {name!r} keeps tensors in external files; send one "
                                                 "self-contained .onnx")  # fmt: skip
    return suffix


class Loaded(ABC):
    """An artifact opened by its runtime: one inference on any input, and a fast timed call on a bound one."""

    runtime = ""
    version = ""
    compute = ""  # the precision the runtime says it computes at (an OpenVINO element type name), '' if it does not
    input_shape: tuple[int, ...] = ()

    @abstractmethod
    def __init__(self, files: list[Path], threads: int, device: str, hint: str) -> None:
        """Open ``files[0]`` (with an IR's weights in ``files[1]``) on ``device`` with ``threads`` threads."""

    @abstractmethod
    def infer(self, x: np.ndarray) -> np.ndarray:
        """The first output (float32) for a batch-1 input."""

    @abstractmethod
    def bind(self, x: np.ndarray) -> None:
        """Keep ``x`` as the input of `timed_call`."""

    @abstractmethod
    def call_bound(self) -> None:
        """One inference on the bound input, by the runtime's fastest sync call."""

    def timed_call(self) -> float:
        """Milliseconds of one inference on the bound input, by wall clock around the call (every runtime alike)."""
        return _wall_ms(self.call_bound)


def _wall_ms(call: Callable[[], object]) -> float:
    t0 = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - t0) / 1e6


def _no_copy_infer(request: Any) -> Callable[[], object]:
    """An OpenVINO request's sync call, without copying the outputs where the runtime can (2023.1+)."""
    try:
        if "share_outputs" in inspect.signature(request.infer).parameters:
            return functools.partial(request.infer, share_outputs=True)
    except (TypeError, ValueError):  # a binding with no signature to read
        pass
    return request.infer


class OrtLoaded(Loaded):
    runtime = "onnxruntime"

    def __init__(self, files: list[Path], threads: int, device: str, hint: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(files[0]), options, providers=["CPUExecutionProvider"])
        self.version = ort.__version__
        self.input, self.output = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_shape = tuple(d if isinstance(d, int) else 1 for d in self.input.shape)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run([self.output.name], {self.input.name: x})[0], dtype=np.float32)

    def bind(self, x: np.ndarray) -> None:
        self.x = x  # IOBinding keeps a pointer: keep the array alive
        self.binding = self.session.io_binding()  # the fastest call path, as edgebench's own sessions use
        self.binding.bind_cpu_input(self.input.name, x)
        self.binding.bind_output(self.output.name, "cpu")

    def call_bound(self) -> None:
        self.session.run_with_iobinding(self.binding)


class TfliteLoaded(Loaded):
    runtime = "tflite"

    def __init__(self, files: list[Path], threads: int, device: str, hint: str) -> None:
        try:
            package: Any = importlib.import_module("ai_edge_litert")
        except ImportError:
            package = importlib.import_module("tflite_runtime")
        interpreter = importlib.import_module(package.__name__ + ".interpreter").Interpreter
        self.interpreter = interpreter(model_path=str(files[0]), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.version = str(getattr(package, "__version__", "unknown"))  # not runtimes(): it imports every runtime
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self.input["shape"])

    def _quantized(self, x: np.ndarray) -> np.ndarray:
        """``x`` in the input's dtype: an INT8 model with integer inputs takes them quantized."""
        if self.input["dtype"] == np.float32:
            return x
        scale, zero = self.input["quantization"]
        limits = np.iinfo(self.input["dtype"])
        return np.clip(np.round(x / scale + zero), limits.min, limits.max).astype(self.input["dtype"])

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.bind(x)
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"]).astype(np.float32)
        if self.output["dtype"] != np.float32:
            scale, zero = self.output["quantization"]
            y = (y - zero) * scale
        return y

    def bind(self, x: np.ndarray) -> None:
        self.interpreter.set_tensor(self.input["index"], self._quantized(x))

    def call_bound(self) -> None:
        self.interpreter.invoke()


class OpenvinoLoaded(Loaded):
    """OpenVINO through whichever API is installed; one stream and fixed threads on CPU, as benchmark_app's
    ``-hint none``, and an explicit precision there (never the silent bf16 default)."""

    runtime = "openvino"

    def __init__(self, files: list[Path], threads: int, device: str, hint: str) -> None:
        api, core_cls = _openvino()
        core = core_cls()
        if device not in core.available_devices:
            raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"OpenVINO device {device!r} is not here; this agent "
                             f"has {', '.join(core.available_devices)}")  # fmt: skip
        paths = [str(f) for f in files]  # the model, then an IR's weights
        config: dict[str, str] = {}
        self.version, self.api = _openvino_version(), api
        if api == "ie":
            if device == "CPU" and hint == "f16":
                raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"OpenVINO {self.version} infers on CPU in f32 or "
                                 "bf16, not f16")  # fmt: skip
            if device == "CPU":
                config = {"CPU_THREADS_NUM": str(threads), "CPU_THROUGHPUT_STREAMS": "1",
                          "ENFORCE_BF16": "YES" if hint == "bf16" else "NO"}  # fmt: skip
            network = core.read_network(*paths)
            self.input_name = next(iter(network.input_info))
            self.input_shape = tuple(network.input_info[self.input_name].input_data.shape)
            self.output_name = next(iter(network.outputs))
            self.compiled = core.load_network(network, device, config, num_requests=1)  # owns the request
            self.request = self.compiled.requests[0]
            return
        if device == "CPU":
            config = {"INFERENCE_NUM_THREADS": str(threads), "NUM_STREAMS": "1"}
        if hint or device == "CPU":
            config["INFERENCE_PRECISION_HINT"] = hint or "f32"
        model = core.read_model(*paths)
        self.input_shape = tuple(int(d) for d in model.inputs[0].get_shape())
        self.compiled = core.compile_model(model, device, config)
        self.request = self.compiled.create_infer_request()
        try:
            self.compute = self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        except Exception:  # a device plugin without the property: say nothing
            self.compute = ""

    def infer(self, x: np.ndarray) -> np.ndarray:
        if self.api == "ie":
            self.request.infer({self.input_name: x})
            return np.array(self.request.output_blobs[self.output_name].buffer, dtype=np.float32)
        results = self.request.infer({0: x})  # 2022.x: a dict keyed by output port; 2023+: also by index
        return np.array(next(iter(results.values())), dtype=np.float32)

    def bind(self, x: np.ndarray) -> None:
        self.x = x
        if self.api == "ie":
            self.request.input_blobs[self.input_name].buffer[:] = x
        else:
            self.request.set_input_tensor(importlib.import_module("openvino.runtime" if self.api == "runtime"
                                                                  else "openvino").Tensor(x))  # fmt: skip
        self.call = _no_copy_infer(self.request)

    def call_bound(self) -> None:
        self.call()


LOADERS: dict[str, type[Loaded]] = {"onnxruntime": OrtLoaded, "tflite": TfliteLoaded, "openvino": OpenvinoLoaded}


def load(files: list[Path], runtime: str, threads: int, device: str, hint: str) -> Loaded:
    """Open the artifact (``files[0]``, with its weights in ``files[1]`` for an IR) with ``runtime``."""
    try:
        return LOADERS[runtime](files, threads, device, hint)
    except ImportError:
        raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"{runtime} is not installed on this device") from None
    except AgentError:
        raise
    except Exception as e:  # the runtime rejected the file: the client's problem, not the agent's
        reason = " ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
        raise AgentError(HTTPStatus.UNPROCESSABLE_ENTITY, f"{runtime} cannot load the artifact: {reason}"[:300]) \
            from None  # fmt: skip


class Cache:
    """Loaded artifacts by key, up to ``limit`` bytes of artifact. A new one pushes out random others: a LUT build
    loops over its artifacts, and a loop over more than fit would find none loaded if the least recently used went
    first (here, a loop 10 % too large still finds about 80 % of them loaded)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.hits, self.misses = limit, 0, 0, 0
        self.entries: dict[str, tuple[Loaded, int]] = {}
        self.rng = random.Random(0)

    def open(self, key: str, size: int, opener: Callable[[], Loaded]) -> tuple[Loaded, bool]:
        """The artifact under ``key`` and True, or ``opener()``'s, kept, and False. An opener that fails while
        other artifacts are loaded is tried once more without them: the device may be out of memory."""
        if key in self.entries:
            self.hits += 1
            return self.entries[key][0], True
        self.misses += 1
        try:
            loaded = opener()
        except AgentError as e:
            if not self.entries or e.status != HTTPStatus.UNPROCESSABLE_ENTITY:
                raise
            self.clear()
            loaded = opener()
        if size <= self.limit:
            while self.size + size > self.limit:
                self.size -= self.entries.pop(self.rng.choice(sorted(self.entries)))[1]
            self.entries[key], self.size = (loaded, size), self.size + size
        return loaded, False

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0

    def facts(self) -> dict[str, Any]:
        return {"artifacts": len(self.entries), "mb": round(self.size / 1e6, 3), "limit_mb": self.limit / 1e6,
                "hits": self.hits, "misses": self.misses}  # fmt: skip


def artifact_digest(model: bytes, weights: bytes = b"") -> str:
    """An artifact's identity (SHA-256 of its bytes): a client sends it instead of an artifact sent before."""
    digest = hashlib.sha256(b"%d:" % len(model))
    digest.update(model)
    digest.update(weights)
    return digest.hexdigest()


def cache_key(digest: str, runtime: str, threads: int, device: str, hint: str) -> str:
    """What makes a loaded artifact reusable: its bytes and how it was opened."""
    return repr((digest, runtime, threads, device, hint))


def measure(loaded: Loaded, warmup: int, runs: int) -> dict[str, Any]:
    """Time ``runs`` inferences of a fixed random input after ``warmup`` untimed ones."""
    loaded.bind(np.random.default_rng(0).standard_normal(loaded.input_shape).astype(np.float32))
    for _ in range(warmup):
        loaded.timed_call()
    samples = [loaded.timed_call() for _ in range(runs)]
    p10, median, p90 = (float(v) for v in np.percentile(samples, [10, 50, 90]))
    return {"runtime": loaded.runtime, "version": loaded.version, "warmup": warmup, "samples_ms": samples,
            "median_ms": median, "p10_ms": p10, "p90_ms": p90, "compute": loaded.compute}  # fmt: skip


def run(loaded: Loaded, inputs: np.ndarray) -> bytes:
    """The first output for each input, one at a time (artifacts have batch 1), as .npy bytes."""
    if tuple(inputs.shape[1:]) != tuple(loaded.input_shape[1:]):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"inputs have shape {inputs.shape[1:]}, the artifact takes "
                                                 f"{tuple(loaded.input_shape[1:])}")  # fmt: skip
    outputs = [loaded.infer(np.ascontiguousarray(inputs[i : i + 1])) for i in range(len(inputs))]
    buffer = io.BytesIO()
    np.save(buffer, np.concatenate(outputs) if outputs else np.zeros((0,), np.float32), allow_pickle=False)
    return buffer.getvalue()


def read_inputs(raw: bytes) -> np.ndarray:
    """A float32 .npy array whose header matches its size: never a pickle, never an allocation the bytes sent do
    not fill."""
    stream = io.BytesIO(raw)
    try:
        major, _ = np.lib.format.read_magic(stream)
        header = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}[major]
        shape, fortran, dtype = header(stream)
    except (ValueError, KeyError, EOFError, TypeError, OverflowError) as e:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"inputs are not a .npy array ({e})") from None
    if dtype != np.float32 or len(shape) < 2:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"inputs must be float32 of shape (batch, ...), not {dtype} {shape}")
    size = len(raw) - stream.tell()
    if math.prod(shape) * 4 != size:  # Python's integers: a header's (2**32, 2**32) cannot wrap around
        raise AgentError(HTTPStatus.BAD_REQUEST, f"inputs' header says {shape}, but {size} bytes of data follow")
    return np.frombuffer(raw, np.float32, offset=stream.tell()).reshape(shape, order="F" if fortran else "C")


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    try:
        value = int(query.get(key, [str(default)])[0])
    except ValueError:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"query '{key}' must be an integer") from None
    if not low <= value <= high:
        raise AgentError(HTTPStatus.BAD_REQUEST, f"query '{key}' must be in [{low}, {high}], not {value}")
    return value


def _text(query: dict[str, list[str]], key: str, allowed: re.Pattern[str], default: str = "") -> str:
    value = query.get(key, [default])[0]
    if not allowed.match(value):
        raise AgentError(HTTPStatus.BAD_REQUEST, f"query '{key}' has an unexpected value {value!r}")
    return value


class Agent(ThreadingHTTPServer):
    """The server: its token, its limits, its private folder, its loaded artifacts and the one-artifact-at-a-time
    lock (which also guards the cache)."""

    daemon_threads = True

    def __init__(self, host: str, port: int, token: str, max_bytes: int, timeout_s: float, cache_bytes: int) -> None:
        super().__init__((host, port), Handler)
        self.token, self.max_bytes, self.timeout_s = token, max_bytes, timeout_s
        self.workdir = Path(tempfile.mkdtemp(prefix="edgebench-agent-"))  # mode 0700
        self.busy, self.cache = threading.Lock(), Cache(cache_bytes)
        self.received = 0  # request body bytes, for /info

    def server_close(self) -> None:
        super().server_close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line for a client that went away mid-request (no traceback); others as the standard library logs."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            sys.stderr.write(f"{client_address[0]} dropped the connection ({type(error).__name__})\n")
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: Agent
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.request.settimeout(self.server.timeout_s)

    def log_message(self, format: str, *args: Any) -> None:  # one line per request on stderr, no bodies
        sys.stderr.write(f"agent: {self.address_string()} {format % args}\n")

    def _reply(self, status: HTTPStatus, payload: dict[str, Any] | bytes) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes) else
                         "application/json")  # fmt: skip
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

    def _handle(self, work: Callable[[], dict[str, Any] | bytes]) -> None:
        try:
            self._authorised()
            self._reply(HTTPStatus.OK, work())
        except AgentError as e:
            self._reply(e.status, {"error": str(e)})
        except Exception as e:  # a runtime failing mid-inference: say so instead of dropping the connection
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"agent failed: {type(e).__name__}: {e}"[:300]})

    def do_GET(self) -> None:
        route = urlparse(self.path).path
        self._handle(self._info if route == "/info" else self._not_found)

    def _info(self) -> dict[str, Any]:
        return {**info(), "cache": self.server.cache.facts(), "received_mb": round(self.server.received / 1e6, 3)}

    def do_POST(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/measure":
            self._handle(lambda: self._work(query, False))
        elif url.path == "/run":
            self._handle(lambda: self._work(query, True))
        else:
            self._handle(self._not_found)

    def _not_found(self) -> dict[str, Any] | bytes:
        raise AgentError(HTTPStatus.NOT_FOUND, f"no endpoint {urlparse(self.path).path}; see the agent's --help")

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise AgentError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length") from None
        if length < 0:
            raise AgentError(HTTPStatus.BAD_REQUEST, "Content-Length must not be negative")
        if length > self.server.max_bytes:
            raise AgentError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             f"body of {length} bytes is over the agent's {self.server.max_bytes}; "
                             "restart it with a larger --max-mb")  # fmt: skip
        body = self.rfile.read(length)
        self.server.received += len(body)
        if len(body) != length:
            raise AgentError(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of its {length} bytes "
                             "(Content-Length)")  # fmt: skip
        return body

    def _work(self, query: dict[str, list[str]], outputs: bool) -> dict[str, Any] | bytes:
        """Check the whole request, then load the artifact (unless it is loaded already) and time or run it."""
        name = query.get("name", [""])[0]
        threads, warmup = _int(query, "threads", 1, 1, 256), _int(query, "warmup", 10, 0, 10_000)
        runs = _int(query, "runs", 100, 1, 100_000)
        weights_bytes = _int(query, "weights_bytes", 0, 0, self.server.max_bytes)
        inputs_bytes = _int(query, "inputs_bytes", 0, 0, self.server.max_bytes) if outputs else 0
        device = _text(query, "device", re.compile(r"^[A-Z][A-Z0-9_.]{0,31}$"), "CPU")
        hint = _text(query, "hint", re.compile(f"^({'|'.join(HINTS)})?$"))
        digest = _text(query, "digest", re.compile("^([0-9a-f]{64})?$"))
        body = self._body()
        if digest:  # an artifact sent before: only the inputs follow
            if weights_bytes or inputs_bytes != len(body):
                raise AgentError(HTTPStatus.BAD_REQUEST, "a request naming its artifact by digest sends no artifact")
            suffix, model, weights, raw_inputs = named_suffix(name), b"", b"", body
        else:
            if weights_bytes + inputs_bytes >= len(body):
                raise AgentError(HTTPStatus.BAD_REQUEST, "weights_bytes + inputs_bytes leave no artifact in the body")
            cut = len(body) - weights_bytes - inputs_bytes
            model, weights, raw_inputs = body[:cut], body[cut : cut + weights_bytes], body[cut + weights_bytes :]
            suffix, digest = checked_suffix(name, model), artifact_digest(model, weights)
            if (suffix == ".xml") != bool(weights):
                raise AgentError(HTTPStatus.BAD_REQUEST, "an OpenVINO .xml needs its .bin (weights_bytes), and only it")
        runtime = _text(query, "runtime", re.compile("^(onnxruntime|openvino|tflite)$"), RUNTIME[suffix])
        if runtime != RUNTIME[suffix] and (suffix, runtime) != (".onnx", "openvino"):
            raise AgentError(HTTPStatus.BAD_REQUEST, f"runtime {runtime} does not read {suffix} files")
        inputs = read_inputs(raw_inputs) if outputs else None
        if not self.server.busy.acquire(blocking=False):
            raise AgentError(HTTPStatus.SERVICE_UNAVAILABLE, "busy with another artifact; retry later")
        try:
            key = cache_key(digest, runtime, threads, device, hint)
            if model:
                opener = functools.partial(self._load, model, weights, suffix, runtime, threads, device, hint)
            else:
                opener = functools.partial(_not_loaded, digest)
            loaded, cached = self.server.cache.open(key, len(model) + len(weights), opener)
            if inputs is not None:
                return run(loaded, inputs)
            return {**measure(loaded, warmup, runs), "device": device, "threads": threads, "cached": cached}
        finally:
            self.server.busy.release()

    def _load(self, model: bytes, weights: bytes, suffix: str, runtime: str, threads: int, device: str,
              hint: str) -> Loaded:  # fmt: skip
        """Write the artifact into the private folder under the agent's own names, load it, delete the files."""
        stem = self.server.workdir / secrets.token_hex(8)
        files = [stem.with_suffix(suffix)] + ([stem.with_suffix(".bin")] if weights else [])
        try:
            files[0].write_bytes(model)
            if weights:
                files[1].write_bytes(weights)
            return load(files, runtime, threads, device, hint)
        finally:
            for path in files:
                path.unlink(missing_ok=True)


def _not_loaded(digest: str) -> Loaded:
    raise AgentError(HTTPStatus.CONFLICT, f"artifact {digest[:12]} is not loaded here (any more); send its bytes")


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


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    parser.add_argument("--token-file", type=Path, help=f"file holding the token (default: ${TOKEN_ENV}, else new)")
    parser.add_argument("--max-mb", type=float, default=256.0, help="largest request body accepted")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a connection may stay silent")
    parser.add_argument("--cache-mb", type=float, default=256.0, help="artifact bytes kept loaded between requests "
                        "(lower it if the device runs out of memory; 0: load every time)")  # fmt: skip
    args = parser.parse_args(argv)
    token, generated = load_token(args.token_file)
    signal.signal(signal.SIGTERM, _stop)  # a service manager's stop, like Ctrl-C, removes the private folder
    agent = Agent(args.host, args.port, token, int(args.max_mb * 1e6), args.timeout, int(args.cache_mb * 1e6))
    try:
        found = ", ".join(runtimes()) or "none"
        print(f"edgebench agent on http://{args.host}:{agent.server_port} (runtimes: {found})", flush=True)
        if generated:
            print(f"token: {token}", flush=True)
        agent.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        agent.server_close()


if __name__ == "__main__":
    main()
