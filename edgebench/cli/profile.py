"""``edgebench profile``: build a search space's block latency table (LUT) on a device, resumably."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from edgebench import api
from edgebench.cli.common import DEFAULT_DEVICE, BackendsOption, Bar, DeviceOption, err, handles_errors, out, progress
from edgebench.lut.builder import BuildSettings
from edgebench.lut.store import NOISY_FIT


@handles_errors
def profile(
    device: DeviceOption = DEFAULT_DEVICE,
    backend: BackendsOption = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default: the device's first)."),
    ] = None,
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    cache_dir: Annotated[
        Path | None, typer.Option(help="LUT cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Re-measure even if a finished LUT exists (conversions are reused).")
    ] = False,
    validate: Annotated[
        int, typer.Option(min=0, help="Then time this many random networks end to end and score the predictor.")
    ] = 0,
    passes: Annotated[
        int, typer.Option(min=1, help="Interleaved timing passes over all blocks.")
    ] = BuildSettings.passes,
    window: Annotated[int, typer.Option(min=1, help="Timed runs per block per pass.")] = BuildSettings.window,
    networks: Annotated[
        int,
        typer.Option(min=0, help="Whole networks timed alongside to fit the correction (below 4: its overhead only)."),
    ] = BuildSettings.networks,
    workers: Annotated[int | None, typer.Option(min=1, help="Conversion processes (default: one per core).")] = None,
) -> None:
    """Build the latency lookup table (LUT) of a search space's blocks on a device, resumably.

    Every block is converted, then timed in interleaved passes; whole networks timed alongside fit the correction
    for what isolated blocks pay at their edges. A killed build resumes when rerun with the same command.

    Example: edgebench profile --device host --backend onnxruntime --precision fp32 --validate 20
    """
    prof, pairs, sp = api.profile_plan(device, backends=backend or [], precisions=precision or [], space=space)
    settings = BuildSettings(passes=passes, window=window, networks=networks)
    if workers:
        settings = replace(settings, workers=workers)
    summary = Table(title=f"LUTs of {sp.name} on {prof.name}", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("backend", "prec", "rows", "failed", "time s", "median cv", "source"):
        summary.add_column(col, justify="right" if col in ("rows", "failed", "time s", "median cv") else "left")
    validations = []
    with progress() as bar:
        luts = api.build_luts(prof, pairs, sp, cache_dir=cache_dir, settings=settings, force=force, progress=Bar(bar))
        for result in luts:
            rows, meta = result.table.rows, result.table.meta
            when = f"{result.seconds:.0f}" if result.built else "cached"
            summary.add_row(
                meta.backend, meta.precision, str(len(rows)), str(result.failed), when,
                f"{rows['cv'].median():.3f}", meta.source,
            )  # fmt: skip
            folder = result.path.parent
            if result.resumed_windows:
                err.print(f"{meta.backend} {meta.precision}: resumed, kept {result.resumed_windows} timed windows")
            if meta.correction.fit_rmspe > NOISY_FIT:
                err.print(
                    f"[yellow]warning:[/] {meta.backend} {meta.precision}: whole networks disagree with their blocks "
                    f"by {100 * meta.correction.fit_rmspe:.0f} % RMSPE (usually under 6 %): was the machine busy "
                    "during the build? Rebuild on a quiet machine with --force",
                    highlight=False, soft_wrap=True,
                )  # fmt: skip
            if validate:
                checked = api.validate_lut(prof, result, sp, n=validate, cache_dir=cache_dir, settings=settings,
                                           progress=Bar(bar))  # fmt: skip
                validations.append((meta, *checked))
    out.print(summary)
    out.print(f"tables in {folder}", highlight=False)
    for meta, v, png in validations:
        m, s = v.metrics, v.metrics_same_state
        out.print(
            f"{meta.backend} {meta.precision}: {m.n} networks, RMSE {m.rmse_ms:.3f} ms, RMSPE {m.rmspe_pct:.1f} %, "
            f"within ±5 % {m.within_5_pct:.0f} %, ±10 % {m.within_10_pct:.0f} %, Kendall τ {m.kendall_tau:.2f}; "
            f"blocks re-timed now: RMSPE {s.rmspe_pct:.1f} %, ±10 % {s.within_10_pct:.0f} %; "
            f"rows drifted {v.row_drift_pct:.1f} % since the build. Plot: {png}",
            highlight=False,
        )
