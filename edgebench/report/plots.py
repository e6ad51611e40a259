"""The report's figures as inline SVG text (matplotlib, no date in the file, so a page rebuilt from the same
results is the same): a Pareto plot per device, backend and precision, and predicted vs timed latency."""

from __future__ import annotations

import io

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from edgebench.report.data import Predicted


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "edgebench"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def pareto_svg(group: pd.DataFrame, budget_ms: float | None, title: str) -> str:
    """Accuracy against latency of one group: feasible points, the front as a staircase, infeasible points hollow,
    the baseline family as its own line, failed rows as crosses along the bottom, and the budget."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    done = group[(group["status"] == "COMPLETE") & group["top1_pct"].notna() & group["median_ms"].notna()]
    students, baseline = done[done["kind"] != "baseline"], done[done["kind"] == "baseline"]
    feasible, infeasible = students[students["feasible"]], students[~students["feasible"]]
    ax.scatter(feasible["median_ms"], feasible["top1_pct"], color="#1f77b4", zorder=3, label="candidate")
    if len(infeasible):
        ax.scatter(infeasible["median_ms"], infeasible["top1_pct"], facecolors="none", edgecolors="#999999",
                   zorder=3, label=f"over budget ({len(infeasible)})")  # fmt: skip
    front = students[students["on_front"]].sort_values("median_ms")
    if len(front):
        ax.step(front["median_ms"], front["top1_pct"], where="post", color="#1f77b4", alpha=0.6, label="front")
    if len(baseline):
        line = baseline.sort_values("median_ms")
        ax.plot(line["median_ms"], line["top1_pct"], "s--", color="#ff7f0e", label="baseline family", zorder=2)
    failed = group[group["status"] != "COMPLETE"]
    if len(failed):
        low, (x0, x1) = ax.get_ylim()[0], ax.get_xlim()
        xs = [x0 + (x1 - x0) * (i + 1) / (len(failed) + 1) for i in range(len(failed))]
        ax.scatter(xs, [low] * len(failed), marker="x", color="#d62728", clip_on=False, zorder=4,
                   label=f"failed ({len(failed)})")  # fmt: skip
    if budget_ms is not None:
        ax.axvline(budget_ms, color="#d62728", linestyle=":", label=f"budget {budget_ms:g} ms")
    sources = ", ".join(sorted(set(group["source"].dropna().astype(str)) - {""})) or "no latency"
    ax.set(xlabel=f"latency (ms; {sources})", ylabel="top-1 (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _svg(fig)


def predicted_svg(points: list[Predicted]) -> str:
    """Predicted against timed latency, with the line where they agree."""
    fig = Figure(figsize=(4.8, 4.0))
    ax = fig.subplots()
    for backend in sorted({p.backend for p in points}):
        mine = [p for p in points if p.backend == backend]
        ax.scatter([p.timed_ms for p in mine], [p.predicted_ms for p in mine], label=backend, zorder=3)
    top = max(max(p.timed_ms, p.predicted_ms) for p in points) * 1.05
    ax.plot([0, top], [0, top], color="#777777", linestyle="--", label="predicted = timed")
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="timed latency (ms)", ylabel="cost-model prediction (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _svg(fig)
