"""``edgebench bench``: convert one model for each backend and precision, check parity, measure latency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from edgebench import api
from edgebench.cli.common import DEFAULT_DEVICE, DeviceOption, err, fmt, handles_errors, out, renamed
from edgebench.types import precision_label


@handles_errors
def bench(
    model: Annotated[
        str, typer.Argument(help="An .onnx file, or a built-in network name such as mobilenetv2-0.5-cifar.")
    ],
    device: DeviceOption = DEFAULT_DEVICE,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="onnxruntime, openvino, tflite, or all (repeatable; default all)."),
    ] = None,
    precision: Annotated[
        list[str] | None,
        typer.Option("--precision", "-p", help="fp32, fp16 or int8 (repeatable; default: the device's first)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="Inference threads (default: the profile's).")] = None,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs before measuring.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs.")] = 100,
    quant_data: Annotated[
        Path | None,
        typer.Option(help="INT8 quantization inputs: .npy or .npz with 'x' (default: random normal)."),
    ] = None,
    old_calibration: Annotated[Path | None, typer.Option("--calibration", hidden=True)] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where converted artifacts are written (default: a temp dir).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the records (stats, samples, versions) as JSON.")
    ] = None,
) -> None:
    """Convert a model for each backend and precision, check parity with PyTorch, and measure latency on a device
    this machine can time (itself, or one an agent reaches).

    An ONNX file is converted to PyTorch by edgebench's importer for the reference (and for TFLite); if it holds
    an op the importer cannot convert, ONNX Runtime's output of the original file is the reference instead.

    Example: edgebench bench model.onnx --device host --backend all --precision fp32 --precision int8
    """
    quant_data = renamed(quant_data, old_calibration, "--calibration", "--quant-data")
    backends = [] if not backend or "all" in backend else backend
    pairs, stream = api.plan_bench(model, device=device, backends=backends, precisions=precision or [],
                                   threads=threads, warmup=warmup, repeats=repeats, quant_data=quant_data,
                                   work_dir=work_dir)  # fmt: skip
    records = []
    with err.status("") as status:
        for i, (b, p) in enumerate(pairs):
            status.update(f"[{i + 1}/{len(pairs)}] converting and measuring {b} {p} ...")
            records.append(next(stream))
    reference = records[0].parity_reference if records else "pytorch"
    versions = ", ".join(sorted({f"{r.backend} {r.backend_version}" for r in records if r.backend_version}))
    table = Table(
        title=f"{model} on {device}",
        caption=f"latency in ms; parity = max |error| / max |{reference} output|; {versions}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("backend", "prec", "median", "p10", "p90", "runs", "parity", "source", "status"):
        table.add_column(col, justify="left" if col in ("backend", "prec", "source", "status") else "right")
    for r in records:
        table.add_row(
            r.backend,
            precision_label(r.precision, r.compute),
            fmt(r.median_ms),
            fmt(r.p10_ms),
            fmt(r.p90_ms),
            str(r.count),
            "-" if r.parity_max_rel_err is None else f"{r.parity_max_rel_err:.1e}",
            r.source,
            r.status if not r.error else f"[red]{r.status}[/]",
        )
    out.print(table)
    for r in records:
        if r.error:
            err.print(f"[red]{r.backend} {r.precision} failed:[/] {escape(r.error)}", highlight=False, soft_wrap=True)
    if json_out:
        api.BenchResults(records).write_json(json_out)
        out.print(f"wrote {json_out}")
    if any(r.error for r in records):
        raise typer.Exit(1)
