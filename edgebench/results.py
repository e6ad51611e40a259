"""The runner's results table: one row per candidate x backend x precision on a device, kept as Parquet and CSV.

Rows are appended as they finish and the files are rewritten atomically each time, so a killed run keeps every row
it finished and a rerun skips them (a row's key is candidate, device, backend and precision).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from edgebench.atomic import write_atomic
from edgebench.exceptions import ConfigError
from edgebench.types import AccuracySource, Status

SCHEMA_VERSION = 1
PARQUET, CSV = "results.parquet", "results.csv"
KEY = ("candidate", "device", "backend", "precision")


@dataclass(frozen=True)
class ResultRow:
    """What one converted candidate did on one backend at one precision; a failure is a row with its reason.

    Accuracy is the converted artifact's own top-1 on the test split (``reference_top1_pct`` is PyTorch's on the
    same images), so INT8 and FP16 losses show, at the precision the runtime says it computed (``compute``:
    OpenVINO runs an FP16 model in fp32 on a CPU without FP16, so its "drop" there is none); ``accuracy_source``
    says so ("converted"), or, in the rows a search or prune ends with, which PyTorch network it is (see
    :class:`edgebench.types.AccuracySource`). Latency carries
    its source: ``measured`` (timed here), ``agent`` (timed on the device) or ``estimated`` (the profile's cost
    model, ``calibration_rmspe_pct`` its error where it is calibrated); a latency summed from a table of timed
    blocks or layers (``predicted``) carries ``fit_rmspe_pct``, the residual of the table's correction over the
    whole networks timed with it.
    """

    candidate: str
    kind: str  # nas, pruned, baseline or checkpoint
    network: str
    checkpoint: str
    device: str
    backend: str
    precision: str
    status: str
    error: str = ""
    compute: str = ""
    backend_version: str = ""
    threads: int = 0
    source: str = ""
    top1_pct: float | None = None
    reference_top1_pct: float | None = None
    accuracy_source: str = ""  # what top1_pct is the top-1 of (an AccuracySource)
    test_images: int = 0
    median_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    predicted_ms: float | None = None
    predicted_source: str = ""
    calibration_rmspe_pct: float | None = None
    fit_rmspe_pct: float | None = None
    parity_max_rel_err: float | None = None
    size_bytes: int | None = None
    params: int = 0
    macs: int = 0
    data: str = ""
    cpu: str = ""
    host: str = ""
    started: str = ""
    finished: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.candidate, self.device, self.backend, self.precision

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(ResultRow)]


class ResultsTable:
    """The results of one run directory: read what is there, append rows, rewrite both files atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.frame = read_results(directory / PARQUET) if (directory / PARQUET).exists() else empty()

    def done(self, retry_failed: bool = False) -> set[tuple[str, ...]]:
        """Keys of the rows a rerun skips: every row, or only the complete ones with ``retry_failed``."""
        rows = self.frame if not retry_failed else self.frame[self.frame["status"] == Status.COMPLETE.value]
        return {tuple(str(v) for v in key) for key in rows[list(KEY)].itertuples(index=False)}

    def append(self, rows: Iterable[ResultRow]) -> None:
        """Add rows (replacing earlier rows with the same key) and write both files."""
        new = pd.DataFrame([r.to_dict() for r in rows], columns=COLUMNS)
        if new.empty:
            return
        keep = self.frame.set_index(list(KEY)).index.isin(new.set_index(list(KEY)).index)
        self.frame = pd.concat([self.frame[~keep], new], ignore_index=True) if len(self.frame) else new
        write_atomic(self.directory / PARQUET, lambda tmp: self.frame.to_parquet(tmp, index=False))
        write_atomic(self.directory / CSV, lambda tmp: self.frame.to_csv(tmp, index=False))


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def read_results(path: Path) -> pd.DataFrame:
    """A results table from ``results.parquet``/``.csv`` (or the directory holding one).

    Raises:
        ConfigError: the file is missing, unreadable, or lacks the runner's columns.
    """
    if path.is_dir():
        path = path / PARQUET if (path / PARQUET).exists() else path / CSV
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=False,
                                                                                    na_values=[""])  # fmt: skip
    except (OSError, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{path}: cannot read a results table ({reason}); give the results.parquet or "
                          "results.csv that `edgebench run` wrote") from None  # fmt: skip
    missing = [c for c in (*KEY, "status", "top1_pct", "median_ms", "source") if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: not an edgebench results table (no column {', '.join(missing)}); give the "
                          "results.parquet or results.csv that `edgebench run` wrote")  # fmt: skip
    return frame


def from_candidates(
    candidates: pd.DataFrame,
    baseline: pd.DataFrame | None,
    device: str,
    backend: str,
    precision: str,
    data: str,
    split: str = "test",
    environment: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A search's or prune's own tables as results rows, for the report they end with: accuracy is PyTorch's top-1
    on ``split`` ("test" or "val") after their training (``accuracy_source`` as they label it), latency their
    prediction (``source`` as they label it); trained or failed candidates only (an over-budget one was never
    trained). ``environment`` fills the columns that say how the latencies were made (backend version, threads,
    CPU, host, the cost model's calibration error, the table correction's residual), as the LUT or table behind
    them records it; the residual only on the candidates' rows, the ones the table priced."""
    env = dict(environment or {})
    whole = {k: v for k, v in env.items() if k != "fit_rmspe_pct"}
    column = f"{split}_top1_pct"
    rows = []
    for r in candidates[candidates["status"].isin([Status.COMPLETE.value, Status.FAILED.value])].itertuples():
        kind = str(r.kind)
        rows.append(ResultRow(f"{kind}-{int(r.trial):04d}", kind, _label(str(r.arch)), str(r.checkpoint or ""), device,
                              backend, precision, str(r.status), str(r.reason or ""), source=str(r.latency_source),
                              top1_pct=_number(getattr(r, column)),
                              reference_top1_pct=_number(getattr(r, column)),
                              accuracy_source=_accuracy_source(r), median_ms=_number(r.predicted_ms),
                              predicted_ms=_number(r.predicted_ms),
                              predicted_source=str(r.latency_source), params=int(r.params), data=data,
                              **env))  # fmt: skip
    for b in [] if baseline is None else baseline.itertuples():
        rows.append(ResultRow(str(b.name), "baseline", str(b.name), str(getattr(b, "checkpoint", "") or ""), device,
                              backend, precision, str(b.status), str(b.reason or ""), source=str(b.latency_source),
                              top1_pct=_number(getattr(b, column)),
                              reference_top1_pct=_number(getattr(b, column)),
                              accuracy_source=_accuracy_source(b), median_ms=_number(b.latency_ms),
                              params=int(b.params), data=data, **whole))  # fmt: skip
    return pd.DataFrame([r.to_dict() for r in rows], columns=COLUMNS)


def _label(arch: str) -> str:
    """A searched architecture's short name (its JSON otherwise names a built-in network already)."""
    from edgebench.distill.networks import label
    from edgebench.searching.space import ArchSpec

    return label(ArchSpec.from_json(arch)) if arch.startswith("{") else arch


def _accuracy_source(row: Any) -> str:
    """A candidate's or baseline's accuracy source; a table written before they carried one was a proxy search's."""
    value = getattr(row, "accuracy_source", None)
    return str(AccuracySource.PROXY) if value is None or pd.isna(value) or value == "" else str(value)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]
