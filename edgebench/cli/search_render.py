"""How ``edgebench search`` shows its work: a line per candidate above the bars, and the fronts it keeps."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from rich import box
from rich.progress import Progress
from rich.table import Table

from edgebench import api
from edgebench.cli.common import out, pct
from edgebench.searching.baseline import BaselineRow
from edgebench.searching.nas import Candidate
from edgebench.types import Status


class SearchLog:
    """One line per candidate and baseline member, printed above the progress bar of trained candidates."""

    def __init__(self, bar: Progress, trials: int) -> None:
        self.bar, self.task = bar, bar.add_task("search: candidates trained", total=trials)

    def candidate(self, c: Candidate) -> None:
        acc = f"val {c.val_top1_pct:5.1f} %" if c.val_top1_pct is not None else ""
        self.bar.console.print(
            f"trial {c.trial:3d} {c.status:10} {c.predicted_ms:8.3f} ms ({c.latency_source}) {acc} {c.reason}",
            highlight=False,
        )
        if c.status == Status.COMPLETE:
            self.bar.advance(self.task)

    def baseline(self, row: BaselineRow) -> None:
        baseline_line(self.bar)(row)


def baseline_line(bar: Progress) -> Callable[[BaselineRow], None]:
    """Prints one line per baseline member above the progress bars."""

    def line(row: BaselineRow) -> None:
        acc = f"val {row.val_top1_pct:5.1f} % ({row.accuracy_source})" if row.val_top1_pct is not None else row.reason
        bar.console.print(f"baseline {row.name:22} {row.latency_ms:8.3f} ms ({row.latency_source}) {acc}",
                          highlight=False)  # fmt: skip

    return line


def print_search(result: api.SearchOutcome) -> None:
    counts = {Status(s): n for s, n in result.candidates["status"].value_counts().items()}
    done, over, twice, failed = (counts.get(s, 0) for s in (Status.COMPLETE, Status.INFEASIBLE, Status.DUPLICATE,
                                                            Status.FAILED))  # fmt: skip
    out.print(
        f"{result.study}: {done} trained, {over} rejected over budget, {twice} duplicates, {failed} failed; the "
        f"fastest architecture of the space is {result.fastest_ms:.3f} ms ({result.latency_source})",
        highlight=False,
    )
    out.print(front_table("Pareto front under the budget", result.front, result.baseline))
    out.print(
        f"results in {result.out_dir}: candidates.csv (every candidate), front.csv, baseline.csv; "
        f"study {result.storage} (rerun the same command to resume)",
        highlight=False,
        soft_wrap=True,
    )


def front_table(title: str, front: pd.DataFrame, baseline: pd.DataFrame) -> Table:
    """Students and baselines with their latency and accuracy, each with what it is (source, accuracy of what)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    columns = ("network", "latency ms", "source", "estimated %", "val top-1 %", "test top-1 %", "accuracy of", "params")
    for col in columns:
        table.add_column(col, justify="left" if col in ("network", "source", "accuracy of") else "right")
    for r in front.itertuples():
        table.add_row(f"trial {r.trial}", f"{r.predicted_ms:.3f}", r.latency_source, pct(r.estimated_pct),
                      pct(r.val_top1_pct), pct(r.test_top1_pct), r.accuracy_source, f"{r.params:,}")  # fmt: skip
    for b in baseline.itertuples():
        table.add_row(f"baseline {b.name}", f"{b.latency_ms:.3f}", b.latency_source, "-", pct(b.val_top1_pct),
                      pct(b.test_top1_pct), b.accuracy_source, f"{b.params:,}")  # fmt: skip
    return table


def print_one_shot(result: api.OneShotOutcome) -> None:
    p = result.estimator.predictor
    tau = "undefined" if p.cv_kendall_tau is None else f"{p.cv_kendall_tau:.2f}"
    out.print(
        f"{len(result.judged)} architectures judged under the budget by the estimator in {result.estimator.path} "
        f"(its predictor, fitted on {p.samples} scored sub-networks: held-out Kendall tau {tau}); the fastest of "
        f"the space is {result.fastest_ms:.3f} ms ({result.latency_source})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(front_table("Students kept, over the estimated front", result.students, result.baseline))
    out.print(
        "estimated %: the estimator's prediction; val/test top-1: the saved network's own (inherited: weights from "
        "the supernet, BatchNorm recalibrated, its test top-1 left to `edgebench run`; fine-tuned: then trained "
        "further; trained: the final recipe)",
        highlight=False,
    )
    out.print(
        f"results in {result.out_dir}: candidates.csv (the students), judged.csv (every architecture judged), "
        "front.csv, baseline.csv, report.html; `edgebench run` converts and times the students",
        highlight=False,
        soft_wrap=True,
    )
