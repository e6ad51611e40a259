"""Where latency tables live and how they are written: a journal while building, a CSV table with a metadata header
after. Block LUTs (measured or estimated) and prune layer tables are all written and read here, as one kind of file:
a ``# edgebench-KIND {json}`` header line, then the rows.

Layout under the cache directory (default ``$EDGEBENCH_CACHE`` or ``~/.cache/edgebench``)::

    luts/DEVICE/SPACE/BACKEND-PRECISION.csv            the finished table (metadata in '#' header lines)
    luts/DEVICE/SPACE/BACKEND-PRECISION.journal.jsonl  measurements appended as they are taken (resume point)
    artifacts/vN/DEVICE/SPACE/BACKEND-VERSION-PRECISION/KEYID/  converted blocks (reused by --force)
    prune-luts/DEVICE/BACKEND-PRECISION/KEYID/layers.csv        a network's layer table (see pruning.latency)

Nothing is pickled: the journal is JSON lines, the table is CSV, both carry ``schema_version``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from edgebench.atomic import write_atomic
from edgebench.exceptions import ConfigError
from edgebench.spelling import option

SCHEMA_VERSION = 1


def default_cache_dir() -> Path:
    env = os.environ.get("EDGEBENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgebench"


def writable_cache(cache_dir: Path | None = None) -> Path:
    """The cache folder (``cache_dir``, else the default), made if missing; checked before any work starts.

    Raises:
        ConfigError: the folder cannot be made or written (a file in the way, no permission, a full disk).
    """
    path = cache_dir or default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as e:
        raise ConfigError(f"cache {path} cannot be written ({e.strerror or e}); set EDGEBENCH_CACHE or "
                          f"{option('cache-dir')} "
                          "to a folder you can write") from None  # fmt: skip
    return path


@dataclass(frozen=True)
class LutId:
    """Which table: one per (device, backend, precision, space)."""

    device: str
    backend: str
    precision: str
    space: str

    def table_path(self, cache_dir: Path) -> Path:
        return cache_dir / "luts" / self.device / self.space / f"{self.backend}-{self.precision}.csv"

    def journal_path(self, cache_dir: Path) -> Path:
        return self.table_path(cache_dir).with_suffix(".journal.jsonl")

    def artifact_dir(self, cache_dir: Path, backend_version: str) -> Path:
        """Converted blocks, kept across ``--force`` rebuilds while the backend version stays the same."""
        name = f"{self.backend}-{backend_version}-{self.precision}"
        return cache_dir / "artifacts" / f"v{SCHEMA_VERSION}" / self.device / self.space / name


@dataclass(frozen=True)
class Correction:
    """Whole-network latency = overhead + sum over blocks of
    (row latency - boundary_ms_per_melem * block I/O + weight_ms_per_mparam * block weights), sizes in millions.

    Fitted on measured whole networks: an isolated block pays layout conversions and per-inference costs at its
    edges that a network does not, and is timed with its weights hot in cache where a network streams them.
    """

    overhead_ms: float = 0.0
    boundary_ms_per_melem: float = 0.0
    weight_ms_per_mparam: float = 0.0
    networks: int = 0
    fit_rmspe: float = 0.0


#: Correction residual (RMSPE) above which a table's build warns: the machine was likely busy while it timed (seen
#: here: 12.9 % for a LUT while other processes ran, 4-6 % on a quiet machine).
NOISY_FIT = 0.08


#: How measured tables were timed before their headers said so: OpenVINO rows were the runtime's own latency.
LEGACY_TIMING = {"openvino": "runtime-reported"}


@dataclass(frozen=True)
class LutMeta:
    """The header of a LUT file: what was measured, where, how, and when."""

    device: str
    backend: str
    backend_version: str
    precision: str
    space: str
    resolution: int
    threads: int
    source: str
    statistic: str
    passes: int
    window: int
    host: str
    created: str
    cpu: str = ""  # the CPU a locally measured table was timed on (empty for estimated tables)
    correction: Correction = field(default_factory=Correction)
    build_seconds: float = 0.0
    note: str = ""  # for estimated tables: which cost-model parameters priced the rows
    fingerprint: str = ""  # for estimated tables: a digest of everything that priced the rows (see estimate_lut)
    timing: str = ""  # for measured tables: how the samples were taken (edgebench.backends.TIMING_RULE)
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LutMeta:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ConfigError(f"LUT schema_version {data.get('schema_version')} is not {SCHEMA_VERSION}; rebuild it")
        data["correction"] = Correction(**data.get("correction", {}))
        if "timing" not in data and data["source"] != "estimated":  # written before tables were stamped
            data["timing"] = LEGACY_TIMING.get(data["backend"], "wall-clock")
        return cls(**data)


@dataclass
class LutTable:
    """A finished LUT: its metadata and one row per key (key columns, latency statistics, status)."""

    meta: LutMeta
    rows: pd.DataFrame


@dataclass(frozen=True)
class TableKind:
    """One kind of latency table file: the word its header line starts with, and what a user calls it."""

    tag: str
    noun: str

    @property
    def prefix(self) -> str:
        return f"# edgebench-{self.tag} "


LUT = TableKind("lut", "LUT")


def write_headed(path: Path, kind: TableKind, header: dict[str, Any], rows: pd.DataFrame) -> None:
    """Write a table file whole (:func:`~edgebench.atomic.write_atomic`): one header line of ``kind`` holding
    ``header`` as JSON, then ``rows`` as CSV."""

    def write(tmp: Path) -> None:
        with tmp.open("w") as f:
            f.write(kind.prefix + json.dumps(header, sort_keys=True) + "\n")
            rows.to_csv(f, index=False)

    write_atomic(path, write)


def read_headed(path: Path, kind: TableKind) -> tuple[dict[str, Any], pd.DataFrame]:
    """The header and rows of a file written by :func:`write_headed`; ConfigError names the file if it is not one."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read {kind.noun} ({e.strerror})") from None
    first, _, body = text.partition("\n")
    if not first.startswith(kind.prefix):
        raise ConfigError(f"{path}: not an edgebench {kind.noun} (no '{kind.prefix.strip()}' header line)")
    try:
        header = json.loads(first[len(kind.prefix) :])
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: {kind.noun} header is damaged ({e}); delete it to build it again") from None
    rows = pd.read_csv(io.StringIO(body))
    if "error" in rows:  # CSV cannot tell an empty string from a missing value
        rows["error"] = rows["error"].fillna("").astype(str)
    return header, rows


def write_table(table: LutTable, path: Path) -> None:
    write_headed(path, LUT, asdict(table.meta), table.rows)


def read_table(path: Path) -> LutTable:
    """Read a LUT written by :func:`write_table`; ConfigError names the file if it is not one."""
    header, rows = read_headed(path, LUT)
    try:
        meta = LutMeta.from_dict(header)
    except (TypeError, KeyError) as e:
        raise ConfigError(f"{path}: LUT header is damaged ({e}); rebuild with --force") from None
    return LutTable(meta, rows)


def key_id(key_fields: dict[str, Any]) -> str:
    """A short stable file-system name for a key (file names only; tables keep the key's columns)."""
    return hashlib.sha1(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:12]


class Journal:
    """Append-only JSON-lines record of a build: a header line, then one line per measured window or failure.

    Each line is flushed as written, so a killed build loses at most the line it was writing, which
    :meth:`entries` skips.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, header: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w") as f:
            f.write(json.dumps({"header": header}) + "\n")

    def header(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        with self.path.open() as f:
            try:
                return dict(json.loads(f.readline())["header"])
            except (json.JSONDecodeError, KeyError):
                return None

    def repair(self) -> None:
        """Drop a last line cut short by a kill, so appends start on a fresh line."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def entries(self) -> Iterator[dict[str, Any]]:
        with self.path.open() as f:
            f.readline()
            for line in f:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # a line a kill cut short
                    continue

    def append(self, entry: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
