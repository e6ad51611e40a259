"""Names into objects: device profiles, models, INT8 calibration batches, a device's runtime."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgebench import nets
from edgebench.devices import DeviceProfile, derive, get_device, list_devices, save_profile
from edgebench.devices.registry import PATH_ENV, profile_paths
from edgebench.exceptions import ConfigError, ModelLoadError, UnknownNameError
from edgebench.model import Model, from_module, load_onnx
from edgebench.types import Precision, parse_precision


def devices() -> list[DeviceProfile]:
    """Every registered device profile."""
    return list_devices()


def device(name_or_path: str | DeviceProfile) -> DeviceProfile:
    """One device profile, by name or YAML path (a profile is returned as it is)."""
    return name_or_path if isinstance(name_or_path, DeviceProfile) else get_device(name_or_path)


def new_device(name: str, *, like: str | DeviceProfile, out_dir: str | Path = ".") -> Path:
    """Start a profile for a device edgebench does not ship: ``out_dir/NAME.yaml``, a strict profile with ``like``'s
    runtimes and cost model, every number marked as a copied prior (see :func:`edgebench.devices.derive.like`).
    Put ``out_dir`` on ``$EDGEBENCH_DEVICE_PATH`` to use it by name; ``calibrate`` then fits it on measurements.

    Raises:
        ConfigError: ``name`` is not a profile name, is taken, or its file exists.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ConfigError(f"name '{name}' is not a profile name: lower-case letters, digits and '-', e.g. 'rpi5-lab'")
    if name in profile_paths():
        raise ConfigError(f"name '{name}' is a device already ({profile_paths()[name]}); choose another name")
    template = device(like)
    path = Path(out_dir) / f"{name}.yaml"
    if path.exists():
        raise ConfigError(f"{path} exists; choose another name or out_dir, or delete it")
    header = [f"{name}: started from {template.name} by `edgebench devices new {name} --like {template.name}`.",
              "Every cost-model number below is a prior copied from that device, not a measurement of this one:",
              "replace the ones you know (peak_gflops, memory_bandwidth_gbps) and fit the rest with",
              f"`edgebench calibrate --device {path} -m YOUR.csv -b BACKEND`. To use it by name, add its folder to",
              f"${PATH_ENV}; set `connection` to its agent's URL to measure it."]  # fmt: skip
    save_profile(derive.like(name, template), path, header)
    return path


def budget(budget_ms: float, name: str = "budget_ms") -> float:
    """A latency budget in milliseconds, checked to be a positive number; ConfigError naming ``name`` if not."""
    if not isinstance(budget_ms, int | float) or not budget_ms > 0:
        raise ConfigError(f"{name} must be a positive number of milliseconds, not {budget_ms!r}")
    return float(budget_ms)


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


def precisions_for(prof: DeviceProfile, names: Sequence[str | Precision]) -> list[Precision]:
    """The precisions asked for, or the device's first (fp32 on CPUs, fp16 on the Myriad X) if none."""
    return [parse_precision(p) for p in names] or [prof.runtimes[0].precisions[0]]


def runtime_for(
    prof: DeviceProfile, backend: str | None = None, precision: str | Precision | None = None
) -> tuple[str, Precision]:
    """The backend and precision to use on a device: as given, else the first the device runs."""
    prec = parse_precision(precision) if precision else None
    if backend is None:
        backend = next((b for b in prof.backends if prec is None or prec in prof.precisions(b)), prof.backends[0])
    prec = prec or prof.precisions(backend)[0]
    prof.check_supports(backend, prec)
    return backend, prec
