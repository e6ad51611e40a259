"""Measurement files for calibration: end-to-end latencies of networks edgebench can rebuild and price.

A CSV with one row per measured network and a latency column (``latency_ms`` unless named otherwise). Each row
names its network in one of three ways:

- ``model``: an ONNX file, relative to the CSV;
- ``net``: a built-in network (``edgebench bench --help`` lists them), with an optional ``num_classes`` (1000);
- ``arch_str``: a NAS-Bench-201 cell, with optional ``C`` (channels, default 16), ``N`` (cells per stage, 5),
  ``input_chw`` (``3x32x32``) and ``num_classes`` (100) columns, as in HW-NAS-Bench files.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.kernels import ANY_RUNTIME, KernelRules, load_kernels, module_kernels
from edgebench.exceptions import ConfigError, ModelLoadError, UnknownNameError
from edgebench.nets import net_entry
from edgebench.nets.nb201 import nb201
from edgebench.spelling import option

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasuredNetwork:
    """One row of a measurement file: the network's kernels and its measured latency."""

    name: str
    kernels: tuple[Kernel, ...]
    latency_ms: float


@functools.lru_cache(maxsize=4096)
def nb201_kernels(
    arch: str,
    channels: int,
    cells: int,
    input_chw: tuple[int, ...],
    classes: int,
    rules: KernelRules = ANY_RUNTIME,
) -> tuple[Kernel, ...]:
    """Kernels a runtime following ``rules`` runs for a NAS-Bench-201 network built as its reference code builds it
    (the graph published latencies were measured on); cached. Weights are left untrained: they change no kernel."""
    shape = (1, *input_chw)
    module = nb201(arch, channels, cells, classes, input_chw[0], reference=True).eval()
    return tuple(module_kernels(module, shape, rules))


def _chw(text: str, path: Path, row: int) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in str(text).lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1:
        raise ConfigError(f"{path}: row {row}: input_chw '{text}' should read like 3x32x32")
    return dims


def _given(row: pd.Series, column: str) -> bool:
    return column in row and isinstance(row[column], str) and bool(row[column])


def _row_kernels(
    row: pd.Series,
    path: Path,
    i: int,
    rules: KernelRules,
    models: dict[str, tuple[Kernel, ...]],
) -> tuple[str, tuple[Kernel, ...]]:
    """The network a row names, and its kernels (ONNX files and built-in networks read once per file)."""
    for column in ("model", "net"):
        if _given(row, column):
            name = str(row[column])
            if name not in models:
                if column == "model":
                    models[name] = tuple(load_kernels(path.parent / name, rules))
                else:
                    entry = net_entry(name)  # untrained: weights change no kernel
                    module = entry.build(int(row.get("num_classes", 1000))).eval()
                    models[name] = tuple(module_kernels(module, entry.input_shape, rules))
            return name, models[name]
    name = str(row["arch_str"])
    chw = _chw(row.get("input_chw", "3x32x32"), path, i)
    return name, nb201_kernels(name, int(row.get("C", 16)), int(row.get("N", 5)), chw,
                               int(row.get("num_classes", 100)), rules)  # fmt: skip


def read_measurements(
    path: Path,
    latency_column: str = "latency_ms",
    rules: KernelRules = ANY_RUNTIME,
    progress: Callable[[int, int], None] | None = None,
) -> list[MeasuredNetwork]:
    """Read a measurement CSV into networks with the kernels a runtime following ``rules`` runs (see
    :class:`~edgebench.costmodel.kernels.KernelRules`); rows without a positive latency are left out,
    each named in a warning.

    Raises:
        ConfigError: a missing column, a malformed cell, or a model file that is not a model.
    """
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the measurement CSV ({e})") from None
    if latency_column not in table.columns:
        raise ConfigError(
            f"{path}: no latency column '{latency_column}'; columns are {', '.join(map(str, table.columns))}"
            f" (choose one with {option('latency-column')})"
        )
    if not {"model", "net", "arch_str"} & set(table.columns):
        raise ConfigError(
            f"{path}: each row needs a 'model' (ONNX path), 'net' (built-in network) or 'arch_str' (NAS-Bench-201) "
            "column"
        )
    usable = pd.to_numeric(table[latency_column], errors="coerce") > 0
    if not usable.all():
        rows = ", ".join(f"row {i} ({table.at[i, latency_column]!r})" for i in table.index[~usable])
        log.warning("%s: left out %d of %d rows without a positive '%s': %s", path, int((~usable).sum()), len(table),
                    latency_column, rows)  # fmt: skip
    table = table[usable]
    models: dict[str, tuple[Kernel, ...]] = {}
    out = []
    for n, (i, row) in enumerate(table.iterrows()):
        try:
            name, kernels = _row_kernels(row, path, int(i), rules, models)
        except (ConfigError, ModelLoadError, UnknownNameError) as e:
            raise ConfigError(f"{path}: row {i}: {e}") from None
        out.append(MeasuredNetwork(name, kernels, float(row[latency_column])))
        if progress:
            progress(n + 1, len(table))
    return out
