"""``edgebench run``: convert, score and time every candidate on a device's backends, into one results table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from edgebench import api, pareto
from edgebench.cli.common import (
    DEFAULT_DEVICE,
    BackendsOption,
    DataOption,
    DeviceOption,
    OverwriteOption,
    err,
    handles_errors,
    out,
    progress,
)
from edgebench.results import ResultRow
from edgebench.types import Status, precision_label
from edgebench.units import parse_ms


def _row_line(row: ResultRow) -> str:
    where = f"{escape(row.candidate)} {row.backend} {precision_label(row.precision, row.compute)}"
    if row.status != Status.COMPLETE:
        return f"[red]FAILED[/] {where}: {escape(row.error)}"
    drop = (row.top1_pct or 0.0) - (row.reference_top1_pct or 0.0)
    return (f"{where}: top-1 {row.top1_pct:.2f} % ({drop:+.2f} vs PyTorch), {row.median_ms:.3f} ms "
            f"({row.source}), {(row.size_bytes or 0) / 1e6:.2f} MB")  # fmt: skip


@handles_errors
def run(
    candidates: Annotated[
        list[Path],
        typer.Argument(help="Search or prune output folders (or their candidates table), or checkpoint folders."),
    ],
    device: DeviceOption = DEFAULT_DEVICE,
    backend: BackendsOption = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default: all the device runs)."),
    ] = None,
    data: DataOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (default: reports/run-DEVICE).")
    ] = None,
    overwrite: OverwriteOption = False,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads (default: the profile's).")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs before measuring.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs.")] = 100,
    timeout: Annotated[
        str, typer.Option(help="Per row: convert, score and time within this long, or fail (e.g. 10min).")
    ] = "10min",
    retry_failed: Annotated[bool, typer.Option(help="Rerun the rows an earlier run recorded as FAILED.")] = False,
    latency: Annotated[
        str | None, typer.Option("--latency", "-l", help="Budget the fronts and the report judge feasibility by.")
    ] = None,
) -> None:
    """Convert every candidate for each backend and precision the device runs, score the converted artifact on the
    test split, and time it (measured here, or estimated by the device's cost model).

    Each row runs in its own process with a timeout: a crash or a hang is a FAILED row with its reason, and the
    run goes on. Rows are appended to OUT/results.parquet and .csv as they finish; rerunning the same command
    skips them. Ends with OUT/report.html. Exit status 1 if a row failed, in this run or a kept earlier one (the
    others are kept; --retry-failed reruns the failed).

    Example: edgebench run reports/prune-host-onnxruntime-fp32-1.4ms-l1 students/ --device host -p fp32 -p int8
    """
    backends = [] if not backend or "all" in backend else backend
    timeout_s = parse_ms(timeout, "--timeout") / 1000
    budget_ms = parse_ms(latency, "--latency") if latency else None
    out_dir = out_dir or Path("reports") / f"run-{api.device(device).name}"
    plan, rows = api.plan_run(candidates, device=device, out=out_dir,
                              backends=backends, precisions=precision or [], data=data, threads=threads, warmup=warmup,
                              repeats=repeats, timeout_s=timeout_s, retry_failed=retry_failed,
                              overwrite=overwrite)  # fmt: skip
    err.print(f"{len(plan.jobs)} rows to run on {plan.device} (latency {plan.source}); {plan.kept} kept from an "
              f"earlier run in {plan.table.directory}")  # fmt: skip
    failed = 0
    with progress() as bar:
        task = bar.add_task("converting, scoring, timing", total=len(plan.jobs))
        for row in rows:
            failed += row.status != Status.COMPLETE
            bar.console.print(_row_line(row), highlight=False, soft_wrap=True)
            bar.advance(task)
    summary = pareto.front_summary(pareto.fronts(plan.table.frame, budget_ms), budget_ms)
    table = Table(title="Pareto fronts (accuracy up, latency down)", box=box.SIMPLE_HEAD, show_edge=False)
    for col in summary.columns:
        table.add_column(col, justify="left" if col in pareto.GROUP else "right")
    for r in summary.itertuples(index=False):
        table.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r))
    out.print(table)
    report = api.report(plan.table.frame, out=plan.table.directory / "report.html", budget_ms=budget_ms)
    out.print(f"results in {plan.table.directory / 'results.parquet'} (and .csv), report in {report}")
    if failed:
        err.print(f"[red]{failed} of {len(plan.jobs)} rows failed[/]; their reasons are in the table")
    if plan.kept_failed:
        err.print(f"[red]{plan.kept_failed} rows kept from an earlier run are FAILED[/]; --retry-failed reruns them")
    if failed or plan.kept_failed:
        raise typer.Exit(1)
