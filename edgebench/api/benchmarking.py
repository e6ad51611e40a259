"""Benchmarking a model: convert it for each backend and precision a device runs, check parity, time it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgebench.api.resolve import device as as_device
from edgebench.api.resolve import load_calibration, precisions_for, resolve_model
from edgebench.benchmark import BenchRecord, bench_model, plan
from edgebench.devices import DeviceProfile
from edgebench.target import target_for
from edgebench.types import Precision


@dataclass(frozen=True)
class BenchResults:
    """The records of one benchmark, one per (backend, precision), in the order measured."""

    records: list[BenchRecord]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per record (its samples left out), as ``--json`` writes them."""
        return pd.DataFrame([{k: v for k, v in r.to_dict().items() if k != "samples_ms"} for r in self.records])

    def write_json(self, path: Path) -> Path:
        """Write the records as JSON (a list of flat objects with schema_version, samples included)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([r.to_dict() for r in self.records], indent=2) + "\n")
        return path


def plan_bench(
    model: str | Path,
    *,
    device: str | DeviceProfile,
    backends: Sequence[str] = (),
    precisions: Sequence[str | Precision] = (),
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    quant_data: Path | None = None,
    work_dir: Path | None = None,
) -> tuple[list[tuple[str, Precision]], Iterator[BenchRecord]]:
    """Validate a benchmark request, then return its (backend, precision) pairs and a lazy stream of their records
    (what :func:`bench` collects; for progress reporting).

    Raises, before any work starts: UnknownNameError, UnsupportedError (device, backend, precision),
    UnreachableDeviceError (a device this machine cannot time), ModelLoadError (model or ``quant_data`` file).
    """
    prof = as_device(device)
    pairs = plan(prof, backends, precisions_for(prof, precisions))
    target_for(prof).require_measurable()
    m = resolve_model(str(model))
    calibration = load_calibration(quant_data, m.input_shape) if quant_data else None
    if work_dir is not None:
        return pairs, bench_model(m, prof, pairs, work_dir, threads, warmup, repeats, calibration)
    return pairs, _in_temp_dir(lambda d: bench_model(m, prof, pairs, d, threads, warmup, repeats, calibration))


def _in_temp_dir(records: Callable[[Path], Iterator[BenchRecord]]) -> Iterator[BenchRecord]:
    """``records`` converting into a temp dir that is removed once they are consumed (or the stream dropped)."""
    with tempfile.TemporaryDirectory(prefix="edgebench-bench-") as d:
        yield from records(Path(d))


def bench(
    model: str | Path,
    *,
    device: str | DeviceProfile,
    backends: Sequence[str] = (),
    precisions: Sequence[str | Precision] = (),
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 100,
    quant_data: Path | None = None,
    work_dir: Path | None = None,
    out: Path | None = None,
) -> BenchResults:
    """Convert ``model`` (an .onnx file or a built-in network name) for each backend (default: all the device has)
    and precision (default: the device's first; fp32 on CPUs, fp16 on the Myriad X), check parity with PyTorch and
    time it on ``device``, which this machine must be able to time (itself, or one an agent reaches).

    ``quant_data`` is an .npy or .npz (array ``x``) of INT8 calibration inputs (default: random normal). A backend
    that fails is a record with its error, not an exception. With ``out``, the records are written there as JSON.
    """
    _, stream = plan_bench(model, device=device, backends=backends, precisions=precisions, threads=threads,
                           warmup=warmup, repeats=repeats, quant_data=quant_data, work_dir=work_dir)  # fmt: skip
    results = BenchResults(list(stream))
    if out is not None:
        results.write_json(out)
    return results
