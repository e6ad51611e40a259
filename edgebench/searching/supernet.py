"""A once-for-all weight-sharing supernet over a search space (after Cai et al., "Once-for-All", ICLR 2020).

The supernet holds the largest weights of every choice; a sub-network takes the first blocks of each stage, the
first channels of each layer and the centred crop of each depthwise kernel. It is trained with the sandwich rule
(the largest, the smallest and a few random sub-networks on every batch) and in-place distillation, and any
sub-network can be extracted as the plain module ``SearchSpace.build`` makes, with its BatchNorm recalibrated.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgebench.atomic import write_atomic
from edgebench.data import Augment, ImageData, Split, batches, to_device
from edgebench.distill.losses import DistillLoss, get_loss
from edgebench.distill.train import TrainStep, default_device, evaluate
from edgebench.exceptions import ConfigError
from edgebench.nets.blocks import ClassifierHead, ConvBNAct, InvertedResidual, SqueezeExcite
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch, StageSpace

SCHEMA_VERSION = 1
CHECKPOINT = "supernet.pt"
#: Calibration images are a fixed random subset of the training split, the same for every sub-network.
CALIBRATION_SEED = 0


def _slice(weight: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The leading ``shape`` block of ``weight`` (a view), except a conv kernel's spatial dims, which are centred."""
    index = []
    for dim, (have, want) in enumerate(zip(weight.shape, shape, strict=True)):
        start = (have - want) // 2 if dim >= 2 else 0
        index.append(slice(start, start + want))
    return weight[tuple(index)]


def _conv_bn(layer: ConvBNAct, x: torch.Tensor, cout: int, kernel: int = 1) -> torch.Tensor:
    """``layer`` on its first ``x.shape[1]`` inputs and ``cout`` outputs, with a ``kernel`` crop; a depthwise layer
    is one group per input. BatchNorm uses batch statistics in train mode, the running ones in eval mode."""
    conv, bn = cast(nn.Conv2d, layer[0]), cast(nn.BatchNorm2d, layer[1])
    groups = x.shape[1] if conv.groups > 1 else 1
    weight = _slice(conv.weight, (cout, x.shape[1] // groups, kernel, kernel))
    y = F.conv2d(x, weight, None, conv.stride, kernel // 2, groups=groups)
    mean, var = (None, None) if bn.training else (bn.running_mean, bn.running_var)
    y = F.batch_norm(
        y,
        None if mean is None else mean[:cout],
        None if var is None else var[:cout],
        bn.weight[:cout],
        bn.bias[:cout],
        bn.training,
        0.0,
        bn.eps,
    )
    return F.relu6(y) if len(layer) > 2 else y


def _squeeze_excite(layer: SqueezeExcite, x: torch.Tensor) -> torch.Tensor:
    """``layer`` on ``x``'s channels, with the hidden width ``SqueezeExcite`` gives that many channels."""
    s = torch.relu(_pointwise(layer.fc1, x.mean((2, 3), keepdim=True), max(8, x.shape[1] // 4)))
    return x * F.hardsigmoid(_pointwise(layer.fc2, s, x.shape[1]))


def _pointwise(conv: nn.Conv2d, x: torch.Tensor, cout: int) -> torch.Tensor:
    """A 1x1 ``conv`` with a bias on its first ``x.shape[1]`` inputs and ``cout`` outputs."""
    weight = _slice(conv.weight, (cout, x.shape[1], 1, 1))
    return F.conv2d(x, weight, None if conv.bias is None else conv.bias[:cout])


class _ElasticBlock(nn.Module):
    """An inverted-residual block with the largest weights its slot allows: any width, expansion, kernel and SE."""

    def __init__(self, cin: int, cout: int, stride: int, choices: StageSpace) -> None:
        super().__init__()
        hidden = cin * max(choices.expansion)
        self.expand = ConvBNAct(cin, hidden, 1) if max(choices.expansion) != 1 else None
        self.depthwise = ConvBNAct(hidden, hidden, max(choices.kernel), stride, groups=hidden)
        self.se = SqueezeExcite(hidden) if True in choices.se else None
        self.project = ConvBNAct(hidden, cout, 1, act=False)
        self.stride = stride

    def layers(self, block: BlockArch) -> list[ConvBNAct | SqueezeExcite]:
        """The layers ``block`` uses, in the order of ``InvertedResidual.body``."""
        wanted = [
            (self.expand, block.expansion != 1),
            (self.depthwise, True),
            (self.se, block.se),
            (self.project, True),
        ]
        return [layer for layer, used in wanted if used and layer is not None]

    def forward(self, x: torch.Tensor, block: BlockArch, cout: int) -> torch.Tensor:
        cin = x.shape[1]
        y = x
        for layer in self.layers(block):
            if isinstance(layer, SqueezeExcite):
                y = _squeeze_excite(layer, y)
            elif layer is self.depthwise:
                y = _conv_bn(layer, y, y.shape[1], block.kernel)
            else:
                y = _conv_bn(layer, y, cout if layer is self.project else cin * block.expansion)
        return x + y if self.stride == 1 and cin == cout else y


class Supernet(nn.Module):
    """The largest weights of every choice of ``space``; ``forward(x, arch)`` runs the sub-network ``arch``.

    Args:
        space: the search space (as adapted to a device, if it is).
        classes: outputs of the classifier (None: the space's).
        seed: the initial weights.
    """

    def __init__(self, space: SearchSpace, classes: int | None = None, seed: int = 0) -> None:
        super().__init__()
        self.space = space if classes is None else space.model_copy(update={"classes": classes})
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.stem = ConvBNAct(space.in_channels, space.stem.out_channels, space.stem.kernel, space.stem.stride)
            cin, stages = space.stem.out_channels, []
            for s in space.stages:
                blocks = [
                    _ElasticBlock(cin if j == 0 else max(s.width), max(s.width), s.stride if j == 0 else 1, s)
                    for j in range(max(s.depth))
                ]
                stages.append(nn.ModuleList(blocks))
                cin = max(s.width)
            self.stages = nn.ModuleList(stages)
            self.head = ConvBNAct(cin, space.head.channels, 1)
            self.classifier = ClassifierHead(space.head.channels, self.space.classes)
        self.active = self.largest()

    def largest(self) -> ArchSpec:
        """Every stage at its deepest and widest, every block at its largest expansion and kernel, SE if allowed."""
        return self._extreme(max)

    def smallest(self) -> ArchSpec:
        """Every choice at its minimum (no SE, if the space allows it)."""
        return self._extreme(min)

    def _extreme(self, pick: Callable[[tuple[Any, ...]], Any]) -> ArchSpec:
        stages = tuple(
            StageArch(pick(s.width), (BlockArch(pick(s.expansion), pick(s.kernel), pick(s.se)),) * pick(s.depth))
            for s in self.space.stages
        )
        return ArchSpec(self.space.name, stages)

    def sample(self, rng: random.Random) -> ArchSpec:
        """A random sub-network, as ``SearchSpace.sample`` draws it."""
        return self.space.sample(rng)

    def set_active(self, arch: ArchSpec) -> None:
        """Make ``arch`` the sub-network ``forward`` runs when it is given none."""
        self.space.validate_arch(arch)
        self.active = arch

    def blocks(self, arch: ArchSpec) -> Iterator[tuple[_ElasticBlock, BlockArch, int]]:
        """Each block of ``arch`` with the elastic block that runs it and its output width."""
        self.space.validate_arch(arch)
        for stage, slots in zip(arch.stages, self.stages, strict=True):
            for block, elastic in zip(stage.blocks, cast(nn.ModuleList, slots), strict=False):
                yield cast(_ElasticBlock, elastic), block, stage.width

    def forward(self, x: torch.Tensor, arch: ArchSpec | None = None) -> torch.Tensor:
        x = self.stem(x)
        for elastic, block, width in self.blocks(arch or self.active):
            x = elastic(x, block, width)
        return self.classifier(_conv_bn(self.head, x, self.space.head.channels))


def _pairs(supernet: Supernet, arch: ArchSpec, module: nn.Module) -> Iterator[tuple[nn.Module, nn.Module]]:
    """Each layer of ``module`` (``space.build(arch)``) with the supernet layer whose slice it is."""
    layers = iter(cast(nn.Sequential, module))
    yield supernet.stem, next(layers)
    for elastic, block, _ in supernet.blocks(arch):
        yield from zip(elastic.layers(block), cast(InvertedResidual, next(layers)).body, strict=True)
    yield supernet.head, next(layers)
    yield supernet.classifier, next(layers)


@torch.no_grad()
def _share(supernet: Supernet, arch: ArchSpec, module: nn.Module, into_module: bool) -> None:
    """Copy the supernet's slices into ``module``, or else ``module``'s BatchNorm statistics into the slices."""
    for big, small in _pairs(supernet, arch, module):
        shared = big.state_dict()
        for key, value in small.state_dict().items():
            view = _slice(shared[key], value.shape)
            if into_module:
                value.copy_(view)
            elif key.endswith(("running_mean", "running_var")):
                view.copy_(value)


def extract(supernet: Supernet, arch: ArchSpec | None = None) -> nn.Module:
    """The standalone module ``space.build(arch)`` (default: the active arch) with the supernet's weights and BN
    statistics, in eval mode, on the supernet's device. Recalibrate its BN (:func:`recalibrate_bn`) before
    evaluating a trained supernet's sub-network: training keeps no meaningful running statistics."""
    arch = arch or supernet.active
    module = supernet.space.build(arch).to(next(supernet.parameters()).device)
    _share(supernet, arch, module, into_module=True)
    return module.eval()


@torch.no_grad()
def recalibrate_bn(
    model: nn.Module, images: torch.Tensor, arch: ArchSpec | None = None, batch_size: int = 256
) -> nn.Module:
    """Re-estimate every BatchNorm's running statistics as the plain average over batches of normalised ``images``.

    A plain module is recalibrated in place and returned in eval mode. For a :class:`Supernet`, the sub-network
    ``arch`` (default: the active one) is extracted and recalibrated, its statistics are written back to the
    supernet's slices (shared with other sub-networks), and the extracted module is returned.
    """
    if isinstance(model, Supernet):
        arch = arch or model.active
        module = recalibrate_bn(extract(model, arch), images, batch_size=batch_size)
        _share(model, arch, module, into_module=False)
        return module
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    device = next(model.parameters()).device
    for i in range(0, len(images), batch_size):
        model(images[i : i + batch_size].to(device))
    for bn, momentum in zip(norms, momenta, strict=True):
        bn.momentum = momentum
    return model.eval()


def _calibration_images(data: ImageData, count: int, device: torch.device) -> torch.Tensor:
    rows = np.sort(np.random.default_rng(CALIBRATION_SEED).permutation(len(data.train))[:count])
    x, y = to_device(Split(data.train.x[rows], data.train.y[rows]), device)
    return torch.cat([xb for xb, _, _ in batches(x, y, data, 256)])


def inherit(supernet: Supernet, arch: ArchSpec, data: ImageData, calib: int = 1024) -> nn.Module:
    """The sub-network ``arch`` as the module the space builds, with the supernet's weights and its BN recalibrated
    on ``calib`` training images (a fixed random subset), in eval mode; the supernet is left unchanged."""
    module = extract(supernet, arch)
    return recalibrate_bn(module, _calibration_images(data, calib, next(module.parameters()).device))


def score(supernet: Supernet, arch: ArchSpec, data: ImageData, calib: int = 1024, split: Split | None = None) -> float:
    """Top-1 accuracy in percent of the inherited sub-network ``arch`` (:func:`inherit`) on ``split`` (default:
    validation)."""
    return evaluate(inherit(supernet, arch, data, calib), data, data.val if split is None else split)


@dataclass(frozen=True)
class SupernetConfig:
    """How to train a supernet.

    Attributes:
        epochs: passes over the training split (the cosine schedule spans them all).
        largest_epochs: the first of them train the largest sub-network alone, as once-for-all trains the full
            network before it shrinks it; the sandwich rule starts after them. On the default task training starts
            on a plateau at chance, and a sandwich from the first step kept every sub-network there for 8 epochs.
        batch_size: images per step; the last partial batch of an epoch is dropped.
        lr, weight_decay: of SGD (momentum 0.9, Nesterov).
        random_subnets: random sub-networks per step, besides the largest and the smallest.
        temperature, alpha: of the ``kd`` loss, when distilling a teacher.
        seed: shuffling, augmentation and the sub-networks drawn; not the initial weights (``Supernet(seed=...)``).
        augment: random crop of the 4-pixel padded image, plus flips where the data allows them.
        device: "cpu", "cuda", ... (None: CUDA when present).
    """

    epochs: int = 8  # about 15 minutes each for mbv2-cifar on the default task on two CPU cores
    largest_epochs: int = 2
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 5e-4
    random_subnets: int = 2
    temperature: float = 4.0
    alpha: float = 0.9
    seed: int = 0
    augment: bool = True
    device: str | None = None

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("random_subnets", 0), ("largest_epochs", 0)):
            if getattr(self, name) < low:
                raise ConfigError(f"supernet {name} must be >= {low}, not {getattr(self, name)}")
        if self.largest_epochs >= self.epochs:
            raise ConfigError(f"supernet largest_epochs ({self.largest_epochs}) must be below epochs ({self.epochs})")

    def identity(self) -> dict[str, Any]:
        """What a run must match to be resumed or reused: everything but the device."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "device"}


@dataclass(frozen=True)
class SupernetResult:
    """A supernet training run: epochs done (``epochs_run`` of them by this call), what it cost, and the validation
    top-1 of the largest and smallest sub-networks (BN recalibrated)."""

    epochs: int
    epochs_run: int
    train_loss: float  # mean over the sub-networks and steps of the last epoch run (nan if none)
    wall_time_s: float  # the whole call, scoring included
    train_s: float  # every epoch's training, summed over the calls that resumed the run (nan: a checkpoint without it)
    images_per_s: float  # training images per second, each through every sub-network of its step
    largest_val_top1_pct: float
    smallest_val_top1_pct: float


def _archs(supernet: Supernet, count: int, seed: str) -> list[ArchSpec]:
    """One step's sub-networks: the largest, the smallest and ``count`` random ones drawn with ``seed``."""
    rng = random.Random(seed)
    return [supernet.largest(), supernet.smallest(), *(supernet.sample(rng) for _ in range(count))]


def _sandwich(
    supernet: Supernet, teacher: nn.Module | None, kd: DistillLoss, xb: torch.Tensor, yb: torch.Tensor,
    archs: list[ArchSpec],
) -> tuple[float, int]:  # fmt: skip
    """Accumulate the gradients of each of ``archs`` (the largest first) on one batch, distilling the teacher's
    logits or else the largest's; the mean loss, and how many the largest got right."""
    with torch.no_grad():
        target = teacher(xb) if teacher is not None else None
    total, reference, correct = 0.0, None, 0
    for arch in archs:
        logits = supernet(xb, arch)
        if target is not None:
            value = kd(logits, yb, target)
        elif reference is None:
            value = F.cross_entropy(logits, yb)
        else:
            value = F.kl_div(F.log_softmax(logits, 1), reference, reduction="batchmean")
        if reference is None:
            reference, correct = F.softmax(logits.detach(), 1), int((logits.argmax(1) == yb).sum())
        value.backward()
        total += float(value.detach())
    return total / len(archs), correct


def _record(supernet: Supernet, config: SupernetConfig) -> dict[str, Any]:
    """What a checkpoint must match to be resumed."""
    return {"space": supernet.space.name, **config.identity()}


def load_supernet(folder: Path, space: SearchSpace, classes: int, config: SupernetConfig) -> Supernet | None:
    """The supernet of a finished run of ``config`` saved in ``folder`` (on the CPU), or None if there is none."""
    if not (folder / CHECKPOINT).exists():
        return None
    state = torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=True)
    if state["epoch"] != config.epochs:
        return None
    supernet = Supernet(space, classes, seed=config.seed)
    supernet.load_state_dict(state["supernet"])
    return supernet


def slim_copy(source: Path, target: Path) -> None:
    """Copy a finished run's checkpoint from folder ``source`` to folder ``target`` without what only resuming
    needs (optimizer, schedule, generator): half the bytes, and :func:`load_supernet` reads it the same."""
    state = torch.load(source / CHECKPOINT, map_location="cpu", weights_only=True)
    keep = {k: state[k] for k in ("schema_version", "config", "epoch", "supernet")}
    target.mkdir(parents=True, exist_ok=True)
    torch.save(keep, target / CHECKPOINT)


def _save(
    folder: Path, parts: dict[str, Any], generator: torch.Generator, record: dict[str, Any], epoch: int, train_s: float
) -> None:
    """Write the run after ``epoch`` (``train_s`` seconds of training so far) atomically: tensors, dicts and numbers
    only, for ``weights_only`` loading."""
    state = {name: part.state_dict() for name, part in parts.items()}
    state.update(schema_version=SCHEMA_VERSION, config=record, epoch=epoch, generator=generator.get_state(),
                 train_s=train_s)  # fmt: skip
    write_atomic(folder / CHECKPOINT, lambda tmp: torch.save(state, tmp))


def _resume(
    folder: Path | None, record: dict[str, Any], parts: dict[str, Any], generator: torch.Generator
) -> tuple[int, float]:
    """Load the checkpoint in ``folder`` into ``parts`` and ``generator``, if there is one; the epochs it holds and
    the seconds they took to train (nan from a checkpoint written before it kept them)."""
    if folder is None or not (folder / CHECKPOINT).exists():
        return 0, 0.0
    state = torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=True)
    if state["config"] != record:
        diff = sorted(k for k in record if state["config"].get(k) != record[k])
        raise ConfigError(
            f"{folder / CHECKPOINT} was trained with other settings ({', '.join(diff)}); "
            "resume with the same ones or use another folder"
        )
    for name, part in parts.items():
        part.load_state_dict(state[name])
    generator.set_state(state["generator"])
    return int(state["epoch"]), float(state.get("train_s", float("nan")))


def train_supernet(
    supernet: Supernet,
    data: ImageData,
    teacher: nn.Module | None = None,
    config: SupernetConfig | None = None,
    progress: Callable[[TrainStep], None] | None = None,
    checkpoint: Path | None = None,
) -> SupernetResult:
    """Train ``supernet`` in place: the largest sub-network alone for ``largest_epochs``, then with the sandwich
    rule: on each batch the largest, the smallest and ``random_subnets`` random sub-networks, their gradients summed
    into one SGD step. With a ``teacher`` each learns
    its logits (``kd``); without, the largest learns the labels and the others its logits (in-place distillation).

    With a ``checkpoint`` folder, the run is saved there after every epoch and resumed from it: a run stopped
    mid-epoch redoes only that epoch, and a finished one is only scored.

    Raises:
        ConfigError: the data's classes differ from the supernet's, or the checkpoint was made with other settings.
    """
    config = config or SupernetConfig()
    started = time.perf_counter()
    if data.classes != supernet.space.classes:
        raise ConfigError(f"data '{data.name}' has {data.classes} classes; the supernet {supernet.space.classes}")
    device = torch.device(config.device) if config.device else default_device()
    supernet.to(device)
    teacher = teacher.to(device).eval() if teacher is not None else None
    kd = get_loss("kd", {"temperature": config.temperature, "alpha": config.alpha})
    x, y = to_device(data.train, device)
    generator = torch.Generator().manual_seed(config.seed)
    augment = Augment(flip=data.flip) if config.augment else None
    optimizer = torch.optim.SGD(supernet.parameters(), config.lr, 0.9, nesterov=True, weight_decay=config.weight_decay)
    steps = max(1, len(y) // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps)
    parts: dict[str, Any] = {"supernet": supernet, "optimizer": optimizer, "schedule": schedule}
    record = _record(supernet, config)
    done_epochs, before_s = _resume(checkpoint, record, parts, generator)
    first = done_epochs + 1
    train_s, images, epoch_loss = 0.0, 0, float("nan")
    for epoch in range(first, config.epochs + 1):
        supernet.train()
        t0, total, correct, seen = time.perf_counter(), 0.0, 0, 0
        for step, (xb, yb, _) in enumerate(batches(x, y, data, config.batch_size, generator, augment), 1):
            done = (epoch - 1) * steps + step
            optimizer.zero_grad(set_to_none=True)
            archs = ([supernet.largest()] if epoch <= config.largest_epochs
                     else _archs(supernet, config.random_subnets, f"{config.seed}/{done}"))  # fmt: skip
            value, right = _sandwich(supernet, teacher, kd, xb, yb, archs)
            optimizer.step()
            schedule.step()
            total, correct, seen = total + value * len(yb), correct + right, seen + len(yb)
            if progress:
                progress(TrainStep(epoch, config.epochs, done, config.epochs * steps, total / seen,
                                   100.0 * correct / seen))  # fmt: skip
        train_s, images, epoch_loss = train_s + time.perf_counter() - t0, images + seen, total / max(seen, 1)
        if checkpoint is not None:
            _save(checkpoint, parts, generator, record, epoch, before_s + train_s)
    largest, smallest = (score(supernet, arch, data) for arch in (supernet.largest(), supernet.smallest()))
    return SupernetResult(config.epochs, config.epochs + 1 - first, epoch_loss, time.perf_counter() - started,
                          before_s + train_s, images / train_s if train_s else 0.0, largest, smallest)  # fmt: skip
