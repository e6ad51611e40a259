"""The report's figures as inline SVG text (matplotlib, no date in the file, so a page rebuilt from the same
results is the same): a Pareto plot per device, backend and precision, and predicted vs timed latency."""

from __future__ import annotations

import io

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from edgebench.reporting.data import Predicted
from edgebench.types import Status

BLUE, ORANGE, RED, GREY = "#1f77b4", "#ff7f0e", "#d62728", "#999999"


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "edgebench"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def pareto_svg(group: pd.DataFrame, budget_ms: float | None, title: str) -> str:
    """Accuracy against latency of one group: feasible points, the front as a staircase, infeasible points hollow,
    the baseline family as its own line, failed rows as crosses along the bottom edge, and the budget."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    done = group[(group["status"] == Status.COMPLETE.value) & group["top1_pct"].notna() & group["median_ms"].notna()]
    students, baseline = done[done["kind"] != "baseline"], done[done["kind"] == "baseline"]
    feasible, infeasible = students[students["feasible"]], students[~students["feasible"]]
    ax.scatter(feasible["median_ms"], feasible["top1_pct"], color=BLUE, zorder=3, label="candidate")
    if len(infeasible):
        ax.scatter(infeasible["median_ms"], infeasible["top1_pct"], facecolors="none", edgecolors=GREY, zorder=3,
                   label=f"over budget ({len(infeasible)})")  # fmt: skip
    front = students[students["on_front"]].sort_values("median_ms")
    if len(front):
        ax.step(front["median_ms"], front["top1_pct"], where="post", color=BLUE, alpha=0.6, label="front")
    if len(baseline):
        line = baseline.sort_values("median_ms")
        ax.plot(line["median_ms"], line["top1_pct"], "-", color=ORANGE, alpha=0.6, zorder=2)
        ax.scatter(line["median_ms"], line["top1_pct"], marker="s", zorder=3, label="baseline family",
                   facecolors=[ORANGE if f else "none" for f in line["feasible"]], edgecolors=ORANGE)  # fmt: skip
    failed = group[group["status"] != Status.COMPLETE.value]
    if len(failed):  # no latency to place them by: spread along the bottom edge, in axes coordinates
        xs = [(i + 1) / (len(failed) + 1) for i in range(len(failed))]
        ax.scatter(xs, [0.0] * len(failed), marker="x", color=RED, transform=ax.transAxes, clip_on=False, zorder=4,
                   label=f"failed ({len(failed)})")  # fmt: skip
    if budget_ms is not None:
        ax.axvline(budget_ms, color=RED, linestyle="--", label=f"budget {budget_ms:g} ms")
    ax.set(xlabel=f"latency (ms; {latency_label(done)})", ylabel="top-1 (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _svg(fig)


def latency_label(rows: pd.DataFrame) -> str:
    """Where the rows' latencies came from, with the cost model's error when they are estimated and calibrated;
    when the candidates' came from elsewhere than the baselines' (a search's LUT sums against whole networks
    timed), each, so the plot says what it compares."""
    candidates, baselines = _sources(rows[rows["kind"] != "baseline"]), _sources(rows[rows["kind"] == "baseline"])
    if candidates and baselines and candidates != baselines:
        return f"candidates {candidates}, baselines {baselines}"
    return candidates or baselines or "no latency"


def _sources(rows: pd.DataFrame) -> str:
    parts = []
    for source, group in rows.groupby("source"):
        errors = group["calibration_rmspe_pct"].dropna()
        calibrated = source == "estimated" and len(errors)
        parts.append(f"{source}, RMSPE {float(errors.max()):.0f} %" if calibrated else str(source))
    return "; ".join(parts)


def predicted_svg(points: list[Predicted]) -> str:
    """Predicted against timed latency, with the line where they agree."""
    fig = Figure(figsize=(4.8, 4.0))
    ax = fig.subplots()
    for backend in sorted({p.backend for p in points}):
        mine = [p for p in points if p.backend == backend]
        ax.scatter([p.timed_ms for p in mine], [p.predicted_ms for p in mine], label=backend, zorder=3)
    top = max(max(p.timed_ms, p.predicted_ms) for p in points) * 1.05
    ax.plot([0, top], [0, top], color="#777777", linestyle="--", label="predicted = timed")
    timed = ", ".join(sorted({p.source for p in points}))
    predicted = ", ".join(sorted({p.predicted_source for p in points} - {""})) or "prediction"
    ax.set(xlim=(0, top), ylim=(0, top), xlabel=f"timed latency (ms; {timed})", ylabel=f"{predicted} latency (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(fig)
