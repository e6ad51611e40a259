"""Training losses by name: ``ce`` (labels only), ``kd`` (Hinton), ``kd-lrds`` (KD with label revision and data
selection), and two that need no teacher: ``oskd`` (online subclass self-distillation) and ``dml`` (deep mutual
learning among peers trained together). Each is a frozen dataclass of its hyper-parameters; :func:`get_loss` builds
one by name."""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F

from edgebench.exceptions import ConfigError, UnknownNameError


@dataclass(frozen=True)
class DistillLoss(ABC):
    """A student's loss from its logits, the labels and, if ``needs_teacher``, the teacher's logits on the same
    (augmented) batch; returns the batch mean."""

    name: ClassVar[str]
    needs_teacher: ClassVar[bool] = True

    @abstractmethod
    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        """The mean loss over the batch."""

    def params(self) -> dict[str, Any]:
        """The hyper-parameters, for records."""
        return dataclasses.asdict(self)

    def _teacher(self, teacher: torch.Tensor | None) -> torch.Tensor:
        if teacher is None:
            raise ConfigError(f"loss '{self.name}' needs a teacher's logits")
        return teacher


LOSSES: dict[str, type[DistillLoss]] = {}
L = TypeVar("L", bound=type[DistillLoss])


def register(cls: L) -> L:
    """Make a loss available by its ``name``."""
    LOSSES[cls.name] = cls
    return cls


def get_loss(name: str, params: Mapping[str, float] | None = None) -> DistillLoss:
    """The loss called ``name`` with the given hyper-parameters, the others at their defaults.

    Raises:
        UnknownNameError: no such loss (lists the valid ones). ConfigError: a hyper-parameter it does not take, or
            a value out of range.
    """
    if name not in LOSSES:
        raise UnknownNameError("loss", name, LOSSES)
    cls = LOSSES[name]
    accepted = [f.name for f in dataclasses.fields(cls)]
    for key in params or {}:
        if key not in accepted:
            raise ConfigError(
                f"loss '{name}' has no hyper-parameter '{key}'; it takes: {', '.join(accepted) or 'none'}"
            )
    return cls(**(params or {}))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def soft_cross_entropy(student: torch.Tensor, labels: torch.Tensor, soft: torch.Tensor, temperature: float,
                       alpha: float) -> torch.Tensor:  # fmt: skip
    """Per sample: ``(1 - alpha) * CE(student, labels) + alpha * T² * KL(soft || softmax(student / T))``."""
    ce = F.cross_entropy(student, labels, reduction="none")
    log_q = F.log_softmax(student / temperature, dim=1)
    kl = (torch.xlogy(soft, soft) - soft * log_q).sum(dim=1)
    return (1 - alpha) * ce + alpha * temperature**2 * kl


@register
@dataclass(frozen=True)
class CrossEntropy(DistillLoss):
    """``ce``: cross-entropy with the labels; no teacher, no hyper-parameters (the baseline KD must beat)."""

    name = "ce"
    needs_teacher = False

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        return F.cross_entropy(student, labels)


@register
@dataclass(frozen=True)
class HintonKD(DistillLoss):
    """``kd`` (Hinton, Vinyals and Dean, 2015): ``(1 - alpha) * CE + alpha * T² * KL(p_t || p_s)``, where p_t and
    p_s are the teacher's and student's softmax at temperature T (the T² keeps the gradients' scale as T changes).

    Attributes:
        temperature: T > 0; higher spreads the teacher's probability over the wrong classes it finds similar.
        alpha: weight of the distillation term, 0..1 (0 is plain cross-entropy).
    """

    name = "kd"
    temperature: float = 4.0
    alpha: float = 0.9

    def __post_init__(self) -> None:
        _check(self.temperature > 0, f"loss '{self.name}': temperature must be > 0, not {self.temperature}")
        _check(0 <= self.alpha <= 1, f"loss '{self.name}': alpha must lie in 0..1, not {self.alpha}")

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        soft = F.softmax(self._teacher(teacher) / self.temperature, dim=1)
        return soft_cross_entropy(student, labels, soft, self.temperature, self.alpha).mean()


def revise_labels(soft: torch.Tensor, labels: torch.Tensor, eta: float) -> torch.Tensor:
    """Label revision (Lan et al., 2024): ``beta * p + (1 - beta) * onehot(y)`` with
    ``beta = eta / (p_max - p_true + 1)``, which ranks the true class first for any eta < 1."""
    p_true = soft.gather(1, labels[:, None])
    beta = eta / (soft.max(dim=1, keepdim=True).values - p_true + 1)
    return beta * soft + (1 - beta) * F.one_hot(labels, soft.shape[1]).to(soft.dtype)


@register
@dataclass(frozen=True)
class RevisedKD(HintonKD):
    """``kd-lrds``: ``kd`` with label revision and data selection, after Lan et al., "Improve Knowledge
    Distillation via Label Revision and Data Selection" (2024).

    Label revision: where the teacher's top class is wrong, its softened distribution is pulled towards the label
    (:func:`revise_labels`), so the student never learns a wrong answer from it. Data selection: only samples on
    which the teacher gives the true class a probability (at T = 1) of at least ``threshold`` are distilled; the
    others get plain cross-entropy. The paper selects samples by influence scores; the teacher's confidence is a
    cheaper proxy for the same "is the teacher reliable here".

    Attributes:
        temperature, alpha: as in ``kd``.
        eta: revision strength, 0 < eta < 1: the weight kept on the teacher's (wrong) distribution is at most eta.
        threshold: the teacher's minimum true-class probability for a sample to be distilled, 0..1 (0: all).
    """

    name = "kd-lrds"
    eta: float = 0.8
    threshold: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(0 < self.eta < 1, f"loss '{self.name}': eta must lie strictly between 0 and 1, not {self.eta}")
        _check(0 <= self.threshold <= 1, f"loss '{self.name}': threshold must lie in 0..1, not {self.threshold}")

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        logits = self._teacher(teacher)
        soft = F.softmax(logits / self.temperature, dim=1)
        wrong = logits.argmax(dim=1) != labels
        soft = torch.where(wrong[:, None], revise_labels(soft, labels, self.eta), soft)
        reliable = F.softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1) >= self.threshold
        distilled = soft_cross_entropy(student, labels, soft, self.temperature, self.alpha)
        return torch.where(reliable, distilled, F.cross_entropy(student, labels, reduction="none")).mean()


def subclass_distance(student: torch.Tensor, labels: torch.Tensor, temperature: float, neighbours: int) -> torch.Tensor:
    """The OSKD term: for each sample, the mean squared Euclidean distance between its softmax at T and those of its
    ``neighbours`` nearest same-class samples of the batch (fewer if the batch holds fewer), averaged over the
    samples that have one. The neighbours' outputs are detached: they are the soft labels a sample learns from."""
    p = F.softmax(student / temperature, dim=1)
    distance = (p[:, None, :] - p.detach()[None, :, :]).pow(2).sum(dim=2)  # [i, j]: ||p_i - p_j||²
    same = labels[:, None] == labels[None, :]
    same.fill_diagonal_(False)
    k = min(neighbours, len(labels) - 1)
    nearest = distance.detach().masked_fill(~same, float("inf")).topk(k, dim=1, largest=False).indices
    chosen = torch.zeros_like(same).scatter(1, nearest, True) & same
    count = chosen.sum(dim=1)
    per_sample = (distance * chosen).sum(dim=1) / count.clamp(min=1)
    return per_sample.sum() / (count > 0).sum().clamp(min=1)


@register
@dataclass(frozen=True)
class OnlineSubclassKD(DistillLoss):
    """``oskd``: online subclass knowledge distillation, after Tzelepi, Passalis and Tefas, "Online Subclass
    Knowledge Distillation" (Expert Systems with Applications 181, 2021; first at ICPR 2020): a single model, trained
    in one stage, distils from itself the similarities inside each class, with no teacher and no peers.

    Computes ``CE + weight * T² * D`` where D is :func:`subclass_distance`: within the batch, each sample's softmax at
    temperature T is pulled towards those of its ``neighbours`` nearest same-class samples (its subclass, as the
    model currently sees it), whose outputs act as fixed soft labels for the step. The T² keeps the term's gradients
    at one scale as T changes, as in ``kd``.

    Departures: only the paper's abstract could be read, so this is the documented idea (soft labels from the model
    itself, similarities inside classes, single stage) made concrete; the choice of neighbours among the batch's
    same-class samples, in the softened output space, the squared Euclidean distance, the detached targets and the
    T² scaling are this implementation's, not verified against the paper's equations.

    Attributes:
        weight: of the subclass term, >= 0 (0 is plain cross-entropy).
        temperature: T > 0 of the softmax compared; higher weighs the similarities to the wrong classes more.
        neighbours: same-class samples of the batch each sample is pulled to, >= 1 (a batch of 64 over 10 classes
            holds about 5 others of each sample's class).
    """

    name = "oskd"
    needs_teacher = False
    weight: float = 1.0
    temperature: float = 4.0
    neighbours: int = 3

    def __post_init__(self) -> None:
        _check(self.weight >= 0, f"loss '{self.name}': weight must be >= 0, not {self.weight}")
        _check(self.temperature > 0, f"loss '{self.name}': temperature must be > 0, not {self.temperature}")
        _check(
            isinstance(self.neighbours, int) and self.neighbours >= 1,
            f"loss '{self.name}': neighbours must be an integer >= 1, not {self.neighbours}",
        )

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        subclass = subclass_distance(student, labels, self.temperature, self.neighbours)
        return F.cross_entropy(student, labels) + self.weight * self.temperature**2 * subclass


@dataclass(frozen=True)
class PeerLoss(DistillLoss):
    """A loss that trains ``peers`` copies of the student at once, on the same batches, each learning from the
    others' outputs instead of a teacher's: ``__call__`` is one peer's loss at full strength, given the other peers'
    logits, stacked (peers - 1, batch, classes), as ``teacher``."""

    needs_teacher = False
    peers: int = 2

    @abstractmethod
    def peer_loss(self, own: torch.Tensor, labels: torch.Tensor, others: torch.Tensor, progress: float) -> torch.Tensor:
        """One peer's mean loss over the batch, ``progress`` (0 to 1) of the way through training."""

    def peer_losses(self, logits: Sequence[torch.Tensor], labels: torch.Tensor,
                    progress: float = 1.0) -> list[torch.Tensor]:  # fmt: skip
        """Each peer's mean loss over the batch, in the order of ``logits``; the others' logits are detached, so a
        peer's loss moves that peer only."""
        return [
            self.peer_loss(own, labels, torch.stack([o.detach() for j, o in enumerate(logits) if j != i]), progress)
            for i, own in enumerate(logits)
        ]

    def __call__(self, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None) -> torch.Tensor:
        if teacher is None:
            raise ConfigError(f"loss '{self.name}' needs the other peers' logits (train() passes them)")
        return self.peer_loss(student, labels, teacher, 1.0)


def sigmoid_rampup(progress: float, length: float) -> float:
    """``exp(-5 (1 - t)²)`` with ``t = progress / length`` capped at 1: about 0.007 at the start, 1 from ``length``
    on (Laine and Aila's ramp for a consistency term); 1 throughout when ``length`` is 0."""
    if length <= 0:
        return 1.0
    t = min(1.0, max(0.0, progress) / length)
    return math.exp(-5.0 * (1.0 - t) ** 2)


@register
@dataclass(frozen=True)
class MutualLearning(PeerLoss):
    """``dml``: deep mutual learning (Zhang, Xiang, Hospedales and Lu, CVPR 2018). Each of ``peers`` students is
    trained with ``CE + w * mean over the other peers l of KL(p_l || p_k)``, p the softmax at T = 1 and the others'
    predictions detached; :func:`~edgebench.distill.train.train` keeps the peer with the best validation accuracy.
    Training takes about ``peers`` times as long as one student's.

    The weight w rises from about 0 to 1 over the first ``rampup`` of training (:func:`sigmoid_rampup`), as ONE and
    its successors ramp their peer term (80 of 300 epochs in OKDDip's code); the DML paper uses w = 1 throughout
    (``rampup=0``). Without the ramp, two freshly initialised peers at the default learning rate can chase each
    other's exploding logits in the first steps and settle on one uniform answer, which is then slow to leave.

    Attributes:
        peers: students trained together, an integer >= 2.
        rampup: the fraction of training, 0 to 1, over which w rises to 1 (0: full weight from the first step).
    """

    name = "dml"
    rampup: float = 0.3

    def __post_init__(self) -> None:
        _check(
            isinstance(self.peers, int) and self.peers >= 2,
            f"loss '{self.name}': peers must be an integer >= 2 (a peer learns from the others), not {self.peers}",
        )
        _check(0 <= self.rampup <= 1, f"loss '{self.name}': rampup must be a fraction of training, 0 to 1, not "
               f"{self.rampup}")  # fmt: skip

    def peer_loss(self, own: torch.Tensor, labels: torch.Tensor, others: torch.Tensor, progress: float) -> torch.Tensor:
        targets = F.softmax(others.detach().reshape(-1, *own.shape), dim=2)
        kl = (torch.xlogy(targets, targets) - targets * F.log_softmax(own, dim=1)).sum(dim=2)
        return F.cross_entropy(own, labels) + sigmoid_rampup(progress, self.rampup) * kl.mean()
