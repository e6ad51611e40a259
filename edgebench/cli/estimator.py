"""``edgebench estimator``: train a search space's accuracy estimator once (weight-sharing supernet + predictor)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgebench import api
from edgebench.cli.common import (
    DataOption,
    OldTorchDeviceOption,
    PhaseBar,
    TorchDeviceOption,
    handles_errors,
    out,
    progress,
    renamed,
)
from edgebench.searching.estimator import DEFAULT_SAMPLES
from edgebench.searching.supernet import SupernetConfig


@handles_errors
def estimator(
    space: Annotated[str, typer.Option(help="Search space: a shipped name or a YAML path.")] = "mbv2-cifar",
    data: DataOption = None,
    teacher: Annotated[
        Path | None, typer.Option(help="Teacher checkpoint folder (default, on a built-in data set: the cached one).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Supernet training epochs.")] = SupernetConfig.epochs,
    largest_epochs: Annotated[
        int,
        typer.Option(min=0, help="Of them, the first that train the largest sub-network alone (before the sandwich)."),
    ] = SupernetConfig.largest_epochs,
    samples: Annotated[int, typer.Option(min=2, help="Sub-networks scored to fit the predictor.")] = DEFAULT_SAMPLES,
    seed: Annotated[int, typer.Option(help="The supernet's initial weights, shuffling and sub-networks drawn.")] = 0,
    torch_device: TorchDeviceOption = None,
    old_device: OldTorchDeviceOption = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Estimator and teacher cache (default: $EDGEBENCH_CACHE or ~/.cache/edgebench).")
    ] = None,
) -> None:
    """Train the accuracy estimator of a search space on a data set, once: a weight-sharing supernet distilled
    from the teacher, sub-networks scored with their BatchNorm recalibrated, and a predictor fitted on them.

    Searches of that space and data reuse it on any device and budget. It is cached per space, data, teacher and
    recipe, and refused for anything else; a killed build resumes from its last epoch or scored sub-network.

    Example: edgebench estimator --space mbv2-cifar
    """
    device = renamed(torch_device, old_device, "--device", "--torch-device")
    config = SupernetConfig(epochs=epochs, largest_epochs=largest_epochs, seed=seed, device=device)
    with progress() as bar:
        result = api.estimator(space=space, data=data, teacher=teacher, config=config, samples=samples,
                               cache_dir=cache_dir, progress=PhaseBar(bar))  # fmt: skip
    p, trained = result.predictor, result.provenance.get("supernet")
    tau = "undefined" if p.cv_kendall_tau is None else f"{p.cv_kendall_tau:.2f}"
    out.print(f"estimator {result.path}", highlight=False, soft_wrap=True)
    if trained:
        largest, smallest = trained["largest_val_top1_pct"], trained["smallest_val_top1_pct"]
        out.print(f"supernet: validation top-1 of the largest sub-network {largest:.1f} %, of the smallest "
                  f"{smallest:.1f} % (BN recalibrated)", highlight=False)  # fmt: skip
    out.print(f"predictor on {p.samples} scored sub-networks: held-out Kendall tau {tau}, RMSE {p.cv_rmse:.2f} "
              "points (5-fold)", highlight=False)  # fmt: skip
