"""``edgebench devices``: list the device profiles, or show one in full."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from edgebench import api
from edgebench.cli.common import handles_errors, out, progress
from edgebench.target import source_of

app = typer.Typer(
    help="List device profiles, show one, start a new one, or probe this CPU for the host's priors.\n\n"
    "Example: edgebench devices show myriadx",
    invoke_without_command=True,
)


@app.callback()
@handles_errors
def devices(ctx: typer.Context) -> None:
    """List device profiles: kind, backends and precisions, and whether latencies are measured or estimated."""
    if ctx.invoked_subcommand:
        return
    table = Table(title="Device profiles")
    for col in ("name", "kind", "processor", "backends (precisions)", "threads", "latency", "cost model"):
        table.add_column(col, no_wrap=col == "name")
    for p in api.devices():
        runtimes = ", ".join(f"{r.backend} ({'/'.join(map(str, r.precisions))})" for r in p.runtimes)
        fits = ", ".join(f"{c.backend} {c.precision}" for c in p.cost_model.calibrations)
        cost = f"calibrated: {fits}" if fits else "priors"
        table.add_row(p.name, p.kind, p.processor, runtimes, str(p.threads), str(source_of(p)), cost)
    out.print(table)


@app.command("show")
@handles_errors
def show(
    name: Annotated[str, typer.Argument(help="Profile name (see `edgebench devices`) or path to a YAML file.")],
) -> None:
    """Print one device profile in full, with the provenance of every cost-model number.

    Example: edgebench devices show rpi4
    """
    import yaml

    profile = api.device(name)
    out.print(f"[bold]{profile.name}[/]: {profile.description} (latency: {source_of(profile)})")
    out.print(yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False), highlight=False)


@app.command("new")
@handles_errors
def new(
    name: Annotated[str, typer.Argument(help="The new device's name (lower-case letters, digits, '-').")],
    like: Annotated[str, typer.Option("--like", help="The shipped profile (or YAML path) whose priors to copy.")],
    out_dir: Annotated[Path, typer.Option("--dir", help="Folder to write NAME.yaml into.")] = Path("."),
) -> None:
    """Start a profile for a device edgebench does not ship, from one it does: the same runtimes and cost model,
    every number marked as a copied prior (calibrations dropped), connection none (estimated) until you set its
    agent. Replace what you know, then fit the rest with `edgebench calibrate`.

    Example: edgebench devices new rpi5-lab --like rpi5 --dir profiles/
    """
    path = api.new_device(name, like=like, out_dir=out_dir)
    out.print(f"wrote {path}: every cost-model number is a prior copied from {like}; use it with --device {path} "
              f"or EDGEBENCH_DEVICE_PATH={path.parent}, and fit it with `edgebench calibrate --device {path}`",
              highlight=False)  # fmt: skip


@app.command("probe")
@handles_errors
def probe(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Host profile to write.")] = Path("host.yaml"),
    backends: Annotated[
        list[str] | None, typer.Option("--backend", "-b", help="Backends to probe (default: every one installed).")
    ] = None,
    runs: Annotated[
        int,
        typer.Option(
            min=10,
            help="Timed runs per probe chain, the 25th percentile kept (half for a runtime's depthwise, conv "
            "and cache probes); fewer is faster and noisier.",
        ),
    ] = 200,
) -> None:
    """Probe this CPU for the host profile's cost-model priors: kernel rates, caches and memory, then each
    backend's own rates (a minute or two each; ONNX Runtime's and OpenVINO's INT8 kernels too, a minute more each).
    The shipped host profile's priors belong to the CPU they were probed on; estimates and `edgebench calibrate` on
    another CPU start from this file instead.

    Example: edgebench devices probe -o host.yaml && edgebench calibrate --device host.yaml -m mine.csv
    """
    with progress() as bar:
        task = bar.add_task("probing", total=None)
        profile = api.probe_host(out_file, backends=backends or (), runs=runs,
                                 progress=lambda phase: bar.update(task, description=phase))  # fmt: skip
    where = f"EDGEBENCH_DEVICE_PATH={out_file.parent}"
    out.print(f"wrote {out_file}: {profile.processor}; use it with --device {out_file}, or {where} in place of "
              "the shipped host profile", highlight=False)  # fmt: skip
