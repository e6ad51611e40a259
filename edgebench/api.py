"""The functions the CLI calls; each takes plain values, resolves names, and returns typed results."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edgebench import nets
from edgebench.bench import BenchRecord, bench_model, plan, require_measurable
from edgebench.devices import DeviceProfile, get_device, list_devices
from edgebench.exceptions import ModelLoadError, UnknownNameError
from edgebench.model import Model, from_module, load_onnx
from edgebench.types import parse_precision


def devices() -> list[DeviceProfile]:
    """Every registered device profile."""
    return list_devices()


def device(name_or_path: str) -> DeviceProfile:
    """One device profile, by name or YAML path."""
    return get_device(name_or_path)


def resolve_model(spec: str) -> Model:
    """An ONNX file path, or the name of a built-in network (randomly initialised)."""
    path = Path(spec)
    if path.suffix == ".onnx" or path.exists():
        return load_onnx(path)
    if spec in nets.NETS:
        module, shape = nets.create_net(spec)
        return from_module(spec, module, shape)
    raise UnknownNameError("model (not a file, nor a built-in network)", spec, nets.list_nets())


def load_calibration(path: Path, input_shape: tuple[int, ...]) -> np.ndarray:
    """An INT8 calibration batch from an .npz (array ``x``) or .npy file, checked against the input shape."""
    try:
        data = np.load(path)
        x = data["x"] if isinstance(data, np.lib.npyio.NpzFile) else data
    except (OSError, ValueError, KeyError) as e:
        raise ModelLoadError(
            f"{path}: cannot read a calibration array ({e}); give an .npy or an .npz with 'x'"
        ) from None
    if tuple(x.shape[1:]) != tuple(input_shape[1:]):
        raise ModelLoadError(f"{path}: calibration samples have shape {x.shape[1:]}, the model wants {input_shape[1:]}")
    return np.asarray(x, dtype=np.float32)


def bench(
    model: str,
    device: str,
    backends: Sequence[str] = (),
    precisions: Sequence[str] = ("fp32",),
    work_dir: Path | None = None,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    calibration: Path | None = None,
) -> tuple[list[tuple[str, str]], Iterator[BenchRecord]]:
    """Validate a benchmark request, then return its plan and a lazy stream of records.

    All bad input (unknown device, backend, precision, model file) raises before any work starts.
    """
    profile = get_device(device)
    pairs = plan(profile, backends, [parse_precision(p) for p in precisions])
    require_measurable(profile)
    m = resolve_model(model)
    calib = load_calibration(calibration, m.input_shape) if calibration else None
    if work_dir is None:
        import tempfile

        work_dir = Path(tempfile.mkdtemp(prefix="edgebench-bench-"))
    records = bench_model(m, profile, pairs, work_dir, threads, warmup, repeats, calib)
    return [(b, str(p)) for b, p in pairs], records


def write_records(records: Sequence[BenchRecord], path: Path) -> None:
    """Write benchmark records as JSON (a list of flat objects with schema_version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_dict() for r in records], indent=2) + "\n")
