"""``edgebench predict``: a network's latency on a device, from the cost model (ONNX) or the LUT (ArchSpec)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgebench import api
from edgebench.cli.common import DEFAULT_DEVICE, DeviceOption, handles_errors, out


@handles_errors
def predict(
    target: Annotated[
        Path, typer.Argument(help="An ONNX model (priced by the cost model), or an ArchSpec JSON (read from a LUT).")
    ],
    device: DeviceOption = DEFAULT_DEVICE,
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="Backend (default: the device's first).")
    ] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", "-p", help="fp32, fp16 or int8 (default: the backend's first).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads, for ONNX models (default: the profile's).")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="LUT cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
    space: Annotated[
        str | None, typer.Option(help="Search space name or YAML path (default: the one the JSON names).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the prediction as JSON.")] = False,
) -> None:
    """Predict a network's latency on a device, measured or not.

    An ONNX model is split into the kernels the runtime runs (conv+bn+act, add+act, ...) and each is priced by the
    device profile's cost model: the result is an estimate, shown with the calibration behind it and its error.
    An ArchSpec JSON is predicted from the device's LUT (block rows + per-network overhead).

    Example: edgebench predict resnet18.onnx --device myriadx --json
    """
    if target.suffix == ".onnx":
        print_model_estimate(
            api.predict_model(target, device=device, backend=backend, precision=precision, threads=threads), json_out
        )
        return
    prediction, meta = api.predict(target, device=device, backend=backend, precision=precision, space=space,
                                   cache_dir=cache_dir)  # fmt: skip
    if json_out:
        record = {
            "arch": str(target), "device": meta.device, "backend": meta.backend,
            "backend_version": meta.backend_version, "precision": meta.precision, "threads": meta.threads,
            "latency_ms": prediction.latency_ms, "source": prediction.source, "overhead_ms": prediction.overhead_ms,
            "note": meta.note, "blocks": [{"block": label, "ms": ms} for label, ms in prediction.blocks],
        }  # fmt: skip
        out.print_json(json.dumps(record))
        return
    note = f"; {meta.note}" if meta.note else ""
    out.print(
        f"{target}: [bold]{prediction.latency_ms:.3f} ms[/] on {meta.device} {meta.backend} {meta.precision} "
        f"({prediction.source}, {len(prediction.blocks)} blocks + {prediction.overhead_ms:.3f} ms network "
        f"overhead{note})",
        highlight=False,
    )


def print_model_estimate(m: api.ModelEstimate, json_out: bool) -> None:
    e = m.estimate
    if json_out:
        record = {
            "model": str(m.model), "device": m.device, "backend": m.backend, "precision": str(m.precision),
            "threads": m.threads, "latency_ms": e.latency_ms, "source": str(e.source),
            "overhead_ms": e.overhead_ms, "cost_model": e.provenance,
            "kernels": [{"name": k.name, "kind": str(k.kind), "role": k.role, "generic": k.generic,
                         "ops": "+".join(k.ops), "mflops": k.flops / 1e6, "ms": ms} for k, ms in e.kernels],
            "generic_kernels": [k.name for k, _ in e.kernels if k.generic],
        }  # fmt: skip
        out.print_json(json.dumps(record))
        return
    out.print(
        f"{m.model}: [bold]{e.latency_ms:.3f} ms[/] on {m.device} {m.backend} {m.precision}, {m.threads} thread(s) "
        f"([bold]{e.source}[/]: {len(e.kernels)} kernels + {e.overhead_ms:.3f} ms network overhead)",
        highlight=False,
    )
    out.print(f"cost model: {e.provenance}", highlight=False, soft_wrap=True)
    generic = [k for k, _ in e.kernels if k.generic]
    if generic:
        ops = ", ".join(sorted({k.ops[0] for k in generic}))
        out.print(f"[yellow]warning:[/] {len(generic)} kernel(s) ({ops}) are outside the cost model's vocabulary and "
                  "priced as plain data streams (a guess)", highlight=False, soft_wrap=True)  # fmt: skip
