"""The loss hyper-parameters ``edgebench train`` takes, one option each; unset, a loss keeps its default."""

from __future__ import annotations

from typing import Annotated

import typer

from edgebench.distill.losses import HintonKD, MutualLearning, OnlineSubclassKD, RevisedKD

TemperatureOption = Annotated[
    float | None,
    typer.Option(help=f"kd, kd-lrds, oskd: softmax temperature T (default {HintonKD.temperature:g})."),
]
AlphaOption = Annotated[
    float | None, typer.Option(help=f"kd, kd-lrds: weight of the distillation term (default {HintonKD.alpha:g}).")
]
EtaOption = Annotated[
    float | None, typer.Option(help=f"kd-lrds: label-revision strength, 0..1 (default {RevisedKD.eta:g}).")
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(help=f"kd-lrds: teacher's least true-class probability to distil (default {RevisedKD.threshold:g})."),
]
WeightOption = Annotated[
    float | None,
    typer.Option(help=f"oskd: weight of the subclass term, >= 0 (default {OnlineSubclassKD.weight:g})."),
]
NeighboursOption = Annotated[
    int | None,
    typer.Option(
        help="oskd: same-class samples of the batch each sample is pulled towards "
        f"(default {OnlineSubclassKD.neighbours})."
    ),
]
PeersOption = Annotated[
    int | None,
    typer.Option(
        help=f"dml: students trained together, >= 2 (default {MutualLearning.peers}); the best on validation is "
        "kept, and training takes about that many times as long."
    ),
]
RampupOption = Annotated[
    float | None,
    typer.Option(
        help="dml: fraction of training, 0 to 1, over which the weight of the peers' term rises from about 0 to 1 "
        f"(default {MutualLearning.rampup:g}; 0 is the DML paper's full weight from the first step)."
    ),
]
