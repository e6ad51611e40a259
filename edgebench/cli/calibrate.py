"""``edgebench calibrate``: fit a device's cost model to measured networks and write a calibrated profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from edgebench import api
from edgebench.cli.common import OldOutputOption, handles_errors, out, progress, renamed


@handles_errors
def calibrate(
    measurements: Annotated[
        Path,
        typer.Option(
            "--measurements", "-m", help="CSV of measured networks: a 'model' (ONNX) or 'arch_str' column + latency."
        ),
    ],
    device: Annotated[str, typer.Option("--device", "-d", help="The device profile (name or YAML path) to calibrate.")],
    latency_column: Annotated[str, typer.Option(help="The CSV column holding latencies in ms.")] = "latency_ms",
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="The backend the latencies were measured with.")
    ] = None,
    precision: Annotated[str | None, typer.Option("--precision", "-p", help="Their precision.")] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads they were measured with (default: the profile's).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Calibrated profile to write (default: ./NAME.yaml).")
    ] = None,
    old_output: OldOutputOption = None,
    test_fraction: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.9, help="Share of rows held back to score the fit; 0: fit all, score by leave-one-out."
        ),
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the fit/held-out split.")] = 0,
) -> None:
    """Fit a device's cost model to your end-to-end measurements and write a calibrated profile.

    Robust least squares in log space over per-kind efficiencies, size factors and overheads (bounded to physical
    values, pulled towards the profile's priors); peaks stay the specs'. The error on held-back rows is printed,
    next to a FLOPs-linear baseline fitted on the same rows, and recorded in the profile.

    Example: edgebench calibrate --device rpi5 -m pi5.csv --latency-column pi5_onnx_lat_ms -b onnxruntime --threads 1
    """
    out_file = renamed(out_file, old_output, "--output", "--out")
    if foreign := api.foreign_priors(device):
        out.print(f"[yellow]warning:[/] {foreign}", highlight=False)
    with progress() as bar:
        task = bar.add_task("reading networks", total=None)
        report, path = api.calibrate(
            device, measurements=measurements, latency_column=latency_column, backend=backend, precision=precision,
            threads=threads, out=out_file, test_fraction=test_fraction, seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    c = report.calibration
    table = Table(
        title=f"{report.profile.name} {c.backend} {c.precision}, {c.threads} thread(s): {c.fitted_on}",
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
    )  # fmt: skip
    for col in ("rows", "networks", "RMSE ms", "RMSPE %", "±5 %", "±10 %", "Kendall τ"):
        table.add_column(col, justify="left" if col == "rows" else "right")
    for label, m in (("fit", report.fit_metrics), ("held out", report.held_out), ("FLOPs-linear", report.baseline)):
        table.add_row(label, str(m.n), f"{m.rmse_ms:.3f}", f"{m.rmspe_pct:.1f}", f"{m.within_5_pct:.1f}",
                      f"{m.within_10_pct:.1f}", f"{m.kendall_tau:.3f}")  # fmt: skip
    out.print(table)
    out.print(f"wrote {path} (use it with --device {path}, or EDGEBENCH_DEVICE_PATH={path.parent})", highlight=False)
