"""Validate a LUT against whole networks: time N random architectures end to end and score the predictor with
nn-Meter's metrics (RMSE, RMSPE, share within +-5 % and +-10 %), plus Kendall's tau for ranking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edgebench.devices import DeviceProfile
from edgebench.lut.builder import (
    BuildSettings,
    Progress,
    Silent,
    block_jobs,
    convert_and_time,
    network_jobs,
    sample_archs,
)
from edgebench.lut.keys import LutKey
from edgebench.lut.metrics import Metrics
from edgebench.lut.predictor import Predictor
from edgebench.lut.sampling import Stats
from edgebench.lut.store import Journal, LutId, LutTable
from edgebench.searching.space import SearchSpace
from edgebench.target import target_for
from edgebench.types import Precision

#: Validation architectures are drawn with this seed offset, so they never coincide with the calibration networks.
VALIDATION_SEED = 1000


@dataclass(frozen=True)
class Validation:
    """Predictions of the stored LUT, and of its blocks re-timed now, against networks timed now.

    The VM this runs on changes speed by up to 40 % over tens of seconds; ``metrics`` (stored LUT) include that
    drift since the build, ``metrics_same_state`` (blocks re-timed in the same passes as the networks) do not,
    and ``row_drift_pct`` (median |now / then - 1| over the rows) says how much the machine moved.
    """

    metrics: Metrics
    metrics_same_state: Metrics
    row_drift_pct: float
    networks: pd.DataFrame  # arch, measured_ms, predicted_ms, predicted_same_state_ms, error_pct, error


def validate(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    space: SearchSpace,
    table: LutTable,
    cache_dir: Path,
    n: int,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Time ``n`` random architectures (never the calibration ones), interleaved with the LUT's blocks."""
    settings = settings or BuildSettings()
    space = space.for_device(profile.channel_multiple)
    stored = Predictor(table, space)
    lut_id = LutId(profile.name, backend, str(precision), space.name)
    out_root = lut_id.artifact_dir(cache_dir, table.meta.backend_version)
    archs = sample_archs(space, n, settings.seed + VALIDATION_SEED)
    nets = network_jobs(space, archs, out_root / "validation")
    blocks = block_jobs(sorted(stored.rows), out_root)
    journal = Journal(lut_id.table_path(cache_dir).with_suffix(".validation.jsonl"))
    journal.start({"validation": n})
    jobs = nets + [job for _, job in blocks.values()]
    target = target_for(profile).require_measurable()
    timed = convert_and_time(jobs, target, backend, precision, settings, journal, progress or Silent())
    samples, failures = timed.samples, timed.failures
    journal.path.unlink()

    stat = table.meta.statistic
    now = {k: Stats.of(samples[i]).value_ms(stat) for i, (k, _) in blocks.items() if samples.get(i)}
    retimed = table.rows.copy()
    retimed["latency_ms"] = [now.get(LutKey.from_row(r), float("nan")) for r in retimed.to_dict("records")]
    same_state = Predictor(LutTable(table.meta, retimed), space)
    drift = [abs(now[k] / stored.rows[k] - 1) for k in now]
    rows = []
    for job, arch in zip(nets, archs, strict=True):
        measured = Stats.of(samples[job.job_id]).value_ms(stat) if samples.get(job.job_id) else float("nan")
        predicted, predicted_now = stored.predict(arch).latency_ms, same_state.predict(arch).latency_ms
        rows.append(
            {
                "arch": arch.to_json(),
                "measured_ms": measured,
                "predicted_ms": predicted,
                "predicted_same_state_ms": predicted_now,
                "error_pct": 100 * (predicted - measured) / measured,
                "error_same_state_pct": 100 * (predicted_now - measured) / measured,
                "error": failures.get(job.job_id, ""),
            }
        )
    frame = pd.DataFrame(rows)
    ok = frame.dropna(subset=["measured_ms"])
    measured_ms = ok["measured_ms"].to_numpy()
    return Validation(
        Metrics.of(measured_ms, ok["predicted_ms"].to_numpy()),
        Metrics.of(measured_ms, ok["predicted_same_state_ms"].to_numpy()),
        float(100 * np.median(drift)) if drift else float("nan"),
        frame,
    )


def plot(validation: Validation, title: str, path: Path) -> Path:
    """Predicted-vs-measured scatter (stored LUT and same-state re-timing) with the +-10 % band, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = validation.networks.dropna(subset=["measured_ms"])
    m, s = validation.metrics, validation.metrics_same_state
    values = frame[["measured_ms", "predicted_ms", "predicted_same_state_ms"]].to_numpy()
    line = np.array([0.9 * values.min(), 1.1 * values.max()])
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=120)
    ax.plot(line, line, color="black", lw=1)
    ax.fill_between(line, 0.9 * line, 1.1 * line, color="tab:green", alpha=0.15, label="±10 %")
    ax.scatter(frame["measured_ms"], frame["predicted_ms"], s=14, label=f"stored LUT: ±10 % {m.within_10_pct:.0f} %")
    ax.scatter(
        frame["measured_ms"],
        frame["predicted_same_state_ms"],
        s=10,
        marker="x",
        label=f"blocks re-timed with the networks: ±10 % {s.within_10_pct:.0f} %",
    )
    ax.set(xlim=tuple(line), ylim=tuple(line), xlabel="measured latency (ms)", ylabel="predicted latency (ms)")
    ax.set_title(
        f"{title}\nRMSPE {m.rmspe_pct:.1f} % (same state {s.rmspe_pct:.1f} %), "
        f"τ {m.kendall_tau:.2f}, row drift {validation.row_drift_pct:.1f} %",
        fontsize=9,
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
