"""``edgebench report``: render a results table as one self-contained HTML page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from edgebench import api
from edgebench.cli.common import handles_errors, out
from edgebench.units import parse_ms


@handles_errors
def report(
    results: Annotated[Path, typer.Argument(help="A results table (results.parquet or .csv) or the folder of one.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file to write (default: reports/FOLDER.html).")
    ] = None,
    latency: Annotated[
        str | None, typer.Option("--latency", "-l", help="Budget to draw and judge feasibility by, e.g. 15ms.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Page title (default: the devices and backends).")] = None,
) -> None:
    """Render a results table as one self-contained HTML page: summary, Pareto plots per device, backend and
    precision, the precision drop, predicted vs measured latency, every row, and how each number was obtained.

    Example: edgebench report reports/run-host --latency 2ms --out reports/host.html
    """
    t0 = time.perf_counter()
    folder = results if results.is_dir() else results.parent
    path = api.report(results, out=out_file or Path("reports") / f"{folder.resolve().name}.html",
                      budget_ms=parse_ms(latency, "--latency") if latency else None, title=title)  # fmt: skip
    out.print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB in {time.perf_counter() - t0:.1f} s)", soft_wrap=True,
              highlight=False)  # fmt: skip
