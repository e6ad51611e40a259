"""Train a student (an ``ArchSpec``, a built-in network or any module) with a loss from :mod:`.losses`: SGD with
momentum or AdamW on a cosine schedule, early stopping on validation accuracy, the best epoch's weights kept; a loss
with peers (``dml``) trains several copies at once and keeps the best."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgebench.data import Augment, ImageData, Split, batches, to_device
from edgebench.distill.losses import DistillLoss, PeerLoss
from edgebench.distill.networks import Network, build_network
from edgebench.exceptions import ConfigError


class Optimizer(str, Enum):
    """The optimizers a run can use."""

    SGD = "sgd"  # momentum 0.9, Nesterov
    ADAMW = "adamw"

    def __str__(self) -> str:
        return self.value


#: (learning rate, weight decay) when a config leaves them unset.
OPTIMIZER_DEFAULTS = {Optimizer.SGD: (0.05, 5e-4), Optimizer.ADAMW: (2e-3, 0.05)}


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes:
        epochs: passes over the training split (the cosine schedule spans them all).
        batch_size: images per step; the last partial batch of an epoch is dropped.
        optimizer: SGD (momentum 0.9, Nesterov) or AdamW.
        lr, weight_decay: None takes the optimizer's defaults (SGD 0.05 and 5e-4, AdamW 0.002 and 0.05).
        patience: stop after this many epochs without a better validation accuracy (None: run every epoch).
        seed: initial weights, shuffling and augmentation; the same seed gives the same run on the same machine.
        augment: random crop of the 4-pixel padded image, plus flips where the data allows them.
        flip: override the data's choice of horizontal flips (None: flip natural images, not digits).
        resolution: the student's input side, resized from the data's (bilinear, antialiased), in training and in
            evaluation; the teacher always sees the data's. None: the data's. A cheap proxy for ranking students.
        device: "cpu", "cuda", ... (None: CUDA when present).

    Without augmentation the teacher's outputs never change, so they are computed once per run, not per epoch.
    """

    epochs: int = 30
    batch_size: int = 64
    optimizer: Optimizer = Optimizer.SGD
    lr: float | None = None
    weight_decay: float | None = None
    patience: int | None = None
    seed: int = 0
    augment: bool = True
    flip: bool | None = None
    resolution: int | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"training {name} must be >= 1, not {getattr(self, name)}")
        if self.resolution is not None and self.resolution < 8:
            raise ConfigError(f"training resolution must be >= 8 pixels (or unset), not {self.resolution}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"training patience must be >= 1 epoch (or unset), not {self.patience}")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "optimizer": str(self.optimizer)}


#: How a chosen student is trained at full size (the search's final training, the benchmarks' reference): KD
#: without augmentation, so the teacher's outputs are computed once per run.
FINAL = TrainConfig(epochs=5, batch_size=64, augment=False)


@dataclass(frozen=True)
class TrainStep:
    """Progress after one optimizer step; ``val_top1_pct`` is set once an epoch's last step has been evaluated.
    With peers (``dml``), the loss and training accuracy are their means, the validation accuracy the best peer's."""

    epoch: int
    epochs: int
    done: int  # steps so far, over all epochs
    total: int  # steps of the full schedule
    loss: float  # mean over this epoch's steps so far
    train_top1_pct: float
    val_top1_pct: float | None = None


@dataclass(frozen=True)
class TrainResult:
    """One training run: the best epoch's validation and test top-1, and what the run cost; with peers (``dml``),
    those of the peer kept, and each peer's best validation top-1."""

    loss: str
    val_top1_pct: float
    test_top1_pct: float | None  # None: not scored here (a one-shot student's is left to ``edgebench run``)
    best_epoch: int
    epochs_run: int
    train_loss: float  # mean loss of the last epoch
    wall_time_s: float  # the whole run, evaluation included
    images_per_s: float  # training steps only (with the teacher's forward pass, if any)
    seed: int
    device: str
    peer: int = 0  # the peer kept (0 without peers)
    peers_val_top1_pct: tuple[float, ...] = ()  # each peer's best validation top-1, in peer order (none without)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resize(x: torch.Tensor, side: int | None) -> torch.Tensor:
    """A normalised batch at ``side`` x ``side`` (bilinear, antialiased); as is for None or its own side."""
    if side is None or x.shape[-1] == side:
        return x
    return F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)


@torch.no_grad()
def evaluate(
    module: nn.Module, data: ImageData, split: Split, batch_size: int = 256, resolution: int | None = None
) -> float:
    """Top-1 accuracy in percent of ``module`` (put in eval mode) on one split of ``data``, its inputs resized to
    ``resolution`` if given."""
    device = next(module.parameters()).device
    module.eval()
    x, y = to_device(split, device)
    correct = sum(
        int((module(resize(xb, resolution)).argmax(1) == yb).sum()) for xb, yb, _ in batches(x, y, data, batch_size)
    )
    return 100.0 * correct / max(len(split), 1)


@torch.no_grad()
def _teacher_logits(teacher: nn.Module, xb: torch.Tensor, data: ImageData) -> torch.Tensor:
    """The teacher's logits on one batch, outside autograd: nothing trains the teacher, so recording its forward
    pass would only make every backward pass run through it too (a small student's kd step 1.5x dearer)."""
    logits = teacher(xb)
    if logits.shape[1] != data.classes:
        raise ConfigError(f"the teacher has {logits.shape[1]} classes; data '{data.name}' has {data.classes}")
    return logits


def _teacher_outputs(teacher: nn.Module, x: torch.Tensor, y: torch.Tensor, data: ImageData) -> torch.Tensor:
    """The teacher's logits for every row of ``x``, in row order."""
    return torch.cat([_teacher_logits(teacher, xb, data) for xb, _, _ in batches(x, y, data, 256)])


def _optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    lr, decay = OPTIMIZER_DEFAULTS[config.optimizer]
    lr = config.lr if config.lr is not None else lr
    decay = config.weight_decay if config.weight_decay is not None else decay
    if config.optimizer is Optimizer.ADAMW:
        return torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=decay)
    return torch.optim.SGD(module.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=decay)


@dataclass
class _Best:
    """A peer's best epoch so far and its weights."""

    val_top1_pct: float
    epoch: int
    state: dict[str, torch.Tensor]


def _peer(module: nn.Module, seed: int, peer: int) -> nn.Module:
    """A copy of ``module`` with fresh weights (every layer reset to its default initialisation), seeded by the run's
    seed and the peer's index."""
    copied = copy.deepcopy(module)
    with torch.random.fork_rng():
        torch.manual_seed(int(np.random.SeedSequence([seed, peer]).generate_state(1)[0]))
        for layer in copied.modules():
            reset = getattr(layer, "reset_parameters", None)
            if callable(reset):
                reset()
    return copied


def _losses(loss: DistillLoss, logits: list[torch.Tensor], labels: torch.Tensor, teacher: torch.Tensor | None,
            progress: float) -> list[torch.Tensor]:  # fmt: skip
    """Each trained model's loss on a batch, ``progress`` (0 to 1) of the way through the schedule: the peers' with
    peers, else the one student's."""
    if isinstance(loss, PeerLoss):
        return loss.peer_losses(logits, labels, progress)
    return [loss(logits[0], labels, teacher)]


def train(
    student: Network | nn.Module,
    data: ImageData,
    loss: DistillLoss,
    teacher: nn.Module | None = None,
    config: TrainConfig | None = None,
    progress: Callable[[TrainStep], None] | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Train ``student`` on ``data`` with ``loss`` (distilling ``teacher``, if the loss needs one).

    A network name or ``ArchSpec`` is built with ``config.seed``; a module is trained as given, in place. The
    returned module holds the weights of the epoch with the best validation accuracy, in eval mode.

    A loss with peers (``dml``) trains ``loss.peers`` models on the same batches: the student and copies of it with
    fresh weights (seeded by ``config.seed`` and the peer's index, so a module given with trained weights keeps them
    in the student only), under one optimizer and schedule (SGD and AdamW step each parameter from its own gradient
    and state, so this steps each peer as its own optimizer would). Each is validated every epoch; the peer with the
    best validation accuracy is kept, its best epoch's weights loaded into the returned module (``student`` itself
    when a module is given). It takes about ``loss.peers`` times as long as training one student; early stopping
    waits for every peer.

    Raises:
        ConfigError: the loss needs a teacher and none was given, or the teacher's classes differ from the data's.
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    if loss.needs_teacher and teacher is None:
        raise ConfigError(f"loss '{loss.name}' needs a teacher; give one, or train with loss 'ce'")
    device = torch.device(config.device) if config.device else default_device()
    module = student if isinstance(student, nn.Module) else build_network(student, data.classes, config.seed)
    count = loss.peers if isinstance(loss, PeerLoss) else 1
    peers = [module, *(_peer(module, config.seed, i) for i in range(1, count))]
    for peer in peers:
        peer.to(device)
        peer.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # as the batches are (``batches``)
    if teacher is not None:
        teacher = teacher.to(device).eval() if loss.needs_teacher else None
    x, y = to_device(data.train, device)
    fixed = None  # the teacher's outputs, when they are the same every epoch
    if teacher is not None and not config.augment:
        fixed = _teacher_outputs(teacher, x, y, data)
    generator = torch.Generator().manual_seed(config.seed)
    augment = Augment(flip=data.flip if config.flip is None else config.flip) if config.augment else None
    optimizer = _optimizer(nn.ModuleList(peers), config)
    steps = max(1, len(y) // config.batch_size)
    total_steps = config.epochs * steps
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    best = [_Best(-1.0, 0, copy.deepcopy(peer.state_dict())) for peer in peers]
    train_s, images, epoch_loss = 0.0, 0, float("nan")
    for epoch in range(1, config.epochs + 1):
        for peer in peers:
            peer.train()
        t0, total, correct, seen = time.perf_counter(), 0.0, 0, 0
        for step, (xb, yb, idx) in enumerate(batches(x, y, data, config.batch_size, generator, augment), 1):
            inputs = resize(xb, config.resolution)
            logits = [peer(inputs) for peer in peers]
            target = None
            if fixed is not None:
                target = fixed[idx]
            elif teacher is not None:
                target = _teacher_logits(teacher, xb, data)
            done = (epoch - 1) * steps + step  # steps taken once this one is
            value = torch.stack(_losses(loss, logits, yb, target, (done - 1) / total_steps)).sum()
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            schedule.step()
            total += float(value.detach()) / len(peers) * len(yb)
            correct += sum(int((out.argmax(1) == yb).sum()) for out in logits)
            seen += len(yb)
            if progress:
                progress(TrainStep(epoch, config.epochs, done, total_steps,
                                   total / seen, 100.0 * correct / (seen * len(peers))))  # fmt: skip
        train_s += time.perf_counter() - t0
        images += seen
        epoch_loss = total / max(seen, 1)
        vals = [evaluate(peer, data, data.val, resolution=config.resolution) for peer in peers]
        for peer, record, val in zip(peers, best, vals, strict=True):
            if val > record.val_top1_pct:
                record.val_top1_pct, record.epoch, record.state = val, epoch, copy.deepcopy(peer.state_dict())
        if progress:
            progress(TrainStep(epoch, config.epochs, epoch * steps, total_steps, epoch_loss,
                               100.0 * correct / max(seen * len(peers), 1), max(vals)))  # fmt: skip
        if config.patience is not None and epoch - max(r.epoch for r in best) >= config.patience:
            break
    kept = max(range(len(peers)), key=lambda i: best[i].val_top1_pct)  # the first of equals
    module.load_state_dict(best[kept].state)
    module.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    test = evaluate(module, data, data.test, resolution=config.resolution)
    result = TrainResult(loss.name, best[kept].val_top1_pct, test, best[kept].epoch, epoch, epoch_loss,
                         time.perf_counter() - started, images / train_s if train_s else 0.0, config.seed,
                         str(device), kept, tuple(r.val_top1_pct for r in best) if len(peers) > 1 else ())  # fmt: skip
    return module, result
