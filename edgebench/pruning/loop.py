"""The prune-to-latency loop (Opti-Cut, after HFP): remove, one group at a time, the channels whose predicted
latency saving per importance lost is best, re-predict from the layer table, fine-tune with knowledge
distillation every few steps, until the predicted latency meets the budget; then fine-tune once more.

Each step offers one cut per group: its least important channels (by the criterion) down to the fewest that save
a step's latency (NetAdapt's fixed decrement). The importance a cut loses is measured, not summed: the KL
divergence of the network's output on a batch of training images with the cut's channels zeroed, BatchNorm
statistics re-estimated on the batch (EagleEye's adaptive BN) on both sides. Criterion scores are
comparable only within a group (Torch-Pruning's are mean-normalised per group), while a cut of a residual stream
changes every block it feeds; summed scores let such cuts win every step and collapse the streams."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.nn import functional as F

from edgebench.data.dataset import ImageData, batches, to_device
from edgebench.distill.losses import get_loss
from edgebench.distill.train import TrainConfig, TrainResult, TrainStep, train
from edgebench.exceptions import ConfigError
from edgebench.pruning.graph import ChannelGroup, PruningGraph
from edgebench.pruning.history import PruneHistory, PruneStep
from edgebench.pruning.importance import Scores, get_criterion, masked, output_kl
from edgebench.pruning.latency import ConvLayer, LayerShape, LayerTable, conv_layers


@dataclass(frozen=True)
class PruneConfig:
    """How to prune.

    Attributes:
        budget_ms: the predicted latency to reach.
        criterion: importance criterion by name (``l1``, ``bn_scale``, ``taylor``, ``info``).
        multiple: channels are removed in steps of this, and widths kept at multiples of it.
        finetune_every: steps between short fine-tunes (and fresh importance scores).
        finetune: the short fine-tune's training settings; ``final`` those of the last one.
        step_share: each step's latency saving, as a share of the unpruned predicted latency (the last step
            saves only what the budget still needs).
        calibration_images: training images the criteria score channels on.
        cut_images: training images each cut's output change is measured on.
        loss: the fine-tunes' loss by name (``kd`` distils the unpruned network; see :mod:`edgebench.distill.losses`).
    """

    budget_ms: float
    criterion: str = "l1"
    multiple: int = 1
    finetune_every: int = 8
    finetune: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1))
    final: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10))
    step_share: float = 0.03
    calibration_images: int = 64
    cut_images: int = 256
    loss: str = "kd"


@dataclass(frozen=True)
class Candidate:
    """Removing ``channels`` of the group at ``root``: what it saves and what it costs (output KL)."""

    root: str
    channels: tuple[int, ...]
    saving_ms: float
    importance: float

    @property
    def merit(self) -> float:
        return self.saving_ms / max(self.importance, 1e-12)


@dataclass(frozen=True)
class PruneResult:
    """The pruned, fine-tuned network, the steps that made it, and its predicted latency before and after."""

    module: nn.Module
    history: PruneHistory
    predicted_ms: float
    unpruned_ms: float
    final: TrainResult


def _narrowed(layers: list[ConvLayer], outs: set[str], ins: set[str], k: int) -> list[ConvLayer]:
    changed = []
    for layer in layers:
        s = layer.shape
        cout = s.out_channels - k if layer.name in outs else s.out_channels
        cin = s.in_channels - k if layer.name in ins or (s.depthwise and layer.name in outs) else s.in_channels
        changed.append(replace(layer, shape=LayerShape(s.resolution, cin, cout, s.kernel, s.stride, s.depthwise)))
    return changed


def _cut(
    graph: PruningGraph,
    table: LayerTable,
    layers: list[ConvLayer],
    now_ms: float,
    group: ChannelGroup,
    multiple: int,
    want_ms: float,
) -> tuple[int, float]:
    """The fewest channels of ``group`` (in steps of ``multiple``, one multiple kept) whose removal saves
    ``want_ms`` of ``layers``' ``now_ms``, and the saving; the most that can go if none does."""
    outs, ins = graph.coupled_convs(group.root)
    channels, cut = group.channels, (0, 0.0)
    for target in range((channels - 1) // multiple * multiple, multiple - 1, -multiple):
        k = channels - target
        cut = (k, table.scale * (now_ms - table.layers_ms(_narrowed(layers, outs, ins, k))))
        if cut[1] >= want_ms:
            break
    return cut


@contextmanager
def batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` with its BatchNorms normalising by the statistics of the batch they see (the rest in eval mode),
    as if re-estimated on it (EagleEye's adaptive BN); their running statistics are left as they were."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in norms]
    module.eval()
    for m in norms:
        m.train()
    try:
        yield module
    finally:
        for m, state in zip(norms, saved, strict=True):
            m.load_state_dict(state)
        module.eval()


@torch.no_grad()
def adapted_output(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The log-softmax output on ``x`` with BatchNorm statistics re-estimated on ``x``."""
    with batch_statistics(module):
        return F.log_softmax(module(x), dim=1)


@torch.no_grad()
def output_change(
    graph: PruningGraph, root: str, channels: tuple[int, ...], x: torch.Tensor, reference: torch.Tensor
) -> float:
    """KL(network output || output with ``channels`` of ``root``'s group zeroed), mean over the batch ``x``, both
    with BatchNorm statistics re-estimated on ``x`` (:func:`adapted_output`, its ``reference``): a cut's lasting
    damage, not the shift in later layers' statistics that any fine-tune repairs at once."""
    mask = torch.ones(1, graph.conv(root).out_channels, 1, 1)
    mask[0, list(channels)] = 0.0
    with masked(graph, root, mask):
        without = adapted_output(graph.module, x)
    return float(output_kl(without, reference).clamp_min(0.0))


@torch.no_grad()
def candidates(
    graph: PruningGraph, table: LayerTable, scores: Scores, multiple: int, want_ms: float, x: torch.Tensor
) -> list[Candidate]:
    """For every group that can shrink: its least important channels, the fewest that save ``want_ms`` (all
    it can spare if that is too much), with the output change their removal causes on ``x``."""
    layers = conv_layers(graph.module, graph.input_shape)
    now, reference = table.layers_ms(layers), adapted_output(graph.module, x)
    found = []
    for group in graph.groups():
        k, saving = _cut(graph, table, layers, now, group, multiple, want_ms)
        if k == 0:
            continue
        drop = tuple(sorted(int(c) for c in torch.argsort(scores[group.root])[:k]))
        found.append(Candidate(group.root, drop, saving, output_change(graph, group.root, drop, x, reference)))
    return found


def floor_ms(graph: PruningGraph, table: LayerTable, multiple: int) -> float:
    """The predicted latency with every group cut to ``multiple`` channels: no budget below it can be met."""
    total = 0.0
    for layer in conv_layers(graph.module, graph.input_shape):
        s = layer.shape
        cin = s.in_channels if layer.fixed_input else min(s.in_channels, multiple)
        cout = cin if s.depthwise else min(s.out_channels, multiple)
        total += table.layer_ms(layer.name, LayerShape(s.resolution, cin, cout, s.kernel, s.stride, s.depthwise))
    return table.scale * total + table.offset_ms


def calibration_batch(data: ImageData, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` training images, normalised as training sees them."""
    x, y = to_device(data.train, torch.device("cpu"))
    return next(batches(x[:n], y[:n], data, n))[:2]


def prune_to_budget(
    module: nn.Module,
    input_shape: tuple[int, ...],
    table: LayerTable,
    data: ImageData,
    teacher: nn.Module,
    config: PruneConfig,
    progress: Callable[[PruneStep], None] | None = None,
    train_progress: Callable[[TrainStep], None] | None = None,
) -> PruneResult:
    """Prune ``module`` in place until its predicted latency is within ``config.budget_ms``.

    Raises:
        ConfigError: the budget cannot be reached with one channel multiple left in every group.
    """
    graph, criterion, loss = PruningGraph(module, input_shape), get_criterion(config.criterion), get_loss(config.loss)
    floor = floor_ms(graph, table, config.multiple)
    if floor > config.budget_ms:
        raise ConfigError(
            f"pruning: the budget {config.budget_ms:.3f} ms cannot be reached; with {config.multiple} channel(s) "
            f"left in every group the network is predicted at {floor:.3f} ms"
        )
    x, y = calibration_batch(data, config.calibration_images)
    cut_x = calibration_batch(data, config.cut_images)[0]
    history, predicted = PruneHistory(tuple(input_shape)), table.network_ms(module, input_shape)
    unpruned, scores = predicted, criterion(graph, x, y)
    while predicted > config.budget_ms:
        want = min(config.step_share * unpruned, predicted - config.budget_ms)
        options = candidates(graph, table, scores, config.multiple, want, cut_x)  # cuts saving nothing go last
        if not options:
            raise ConfigError(
                f"pruning: the budget {config.budget_ms:.3f} ms cannot be reached; every group is down to "
                f"{config.multiple} channel(s) at {predicted:.3f} ms predicted"
            )
        best = max(options, key=lambda c: c.merit)
        graph.prune(best.root, best.channels)
        keep = [c for c in range(len(scores[best.root])) if c not in set(best.channels)]
        scores[best.root] = scores[best.root][keep]
        predicted = table.network_ms(module, input_shape)
        step = PruneStep(len(history.steps), best.root, best.channels, config.criterion, best.importance, predicted)
        history = history.with_step(step)
        if progress:
            progress(step)
        if len(history.steps) % config.finetune_every == 0 and predicted > config.budget_ms:
            train(module, data, loss, teacher, config.finetune, train_progress)
            scores = criterion(graph, x, y)
    module, final = train(module, data, loss, teacher, config.final, train_progress)
    return PruneResult(module, history, predicted, unpruned, final)
