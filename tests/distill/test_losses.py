"""Each loss against a value computed by hand (on a two-class batch whose softmaxes are simple fractions, or in
NumPy for the batch-wise ``oskd`` and ``dml``), and the registry's answers to bad names and hyper-parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from edgebench.distill.losses import (
    LOSSES,
    PeerLoss,
    get_loss,
    revise_labels,
    sigmoid_rampup,
    subclass_distance,
)
from edgebench.exceptions import ConfigError, UnknownNameError

LN3 = math.log(3)


def test_ce_is_the_negative_log_probability_of_the_label() -> None:
    student = torch.tensor([[0.0, LN3]])  # softmax (1/4, 3/4)
    value = get_loss("ce")(student, torch.tensor([1]), None)
    assert float(value) == pytest.approx(-math.log(0.75), abs=1e-6)


def test_kd_mixes_ce_and_t_squared_kl_at_temperature() -> None:
    student = torch.tensor([[0.0, 2 * LN3]])  # softmax (1/10, 9/10); at T = 2: (1/4, 3/4)
    teacher = torch.tensor([[0.0, 0.0]])  # (1/2, 1/2) at any T
    kl = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    expected = 0.5 * -math.log(0.9) + 0.5 * 2**2 * kl
    value = get_loss("kd", {"temperature": 2.0, "alpha": 0.5})(student, torch.tensor([1]), teacher)
    assert float(value) == pytest.approx(expected, abs=1e-6)
    assert float(get_loss("kd", {"alpha": 0.0})(student, torch.tensor([1]), teacher)) == pytest.approx(-math.log(0.9))


def test_label_revision_puts_the_true_class_first() -> None:
    soft = torch.tensor([[0.75, 0.25]])  # the teacher is wrong: the label is 1
    revised = revise_labels(soft, torch.tensor([1]), eta=0.6)
    beta = 0.6 / (0.75 - 0.25 + 1)  # 0.4
    assert revised[0].tolist() == pytest.approx([beta * 0.75, beta * 0.25 + (1 - beta)])  # (0.3, 0.7)


def test_kd_lrds_revises_wrong_answers_and_skips_unreliable_samples() -> None:
    teacher = torch.tensor([[LN3, 0.0], [0.0, LN3]])  # (3/4, 1/4): wrong for label 1; (1/4, 3/4): right
    student = torch.tensor([[0.0, 0.0], [0.0, LN3]])  # (1/2, 1/2); (1/4, 3/4)
    labels = torch.tensor([1, 1])
    loss = get_loss("kd-lrds", {"temperature": 1.0, "alpha": 0.5, "eta": 0.6, "threshold": 0.2})

    def kl(p: list[float], q: list[float]) -> float:
        return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True))

    revised = 0.5 * -math.log(0.5) + 0.5 * kl([0.3, 0.7], [0.5, 0.5])  # the wrong one, revised to (0.3, 0.7)
    kept = 0.5 * -math.log(0.75) + 0.5 * kl([0.25, 0.75], [0.25, 0.75])  # the right one, unchanged: KL 0
    assert float(loss(student, labels, teacher)) == pytest.approx((revised + kept) / 2, abs=1e-6)
    # The teacher gives the first sample's label 1/4: under a 0.3 threshold it is not distilled, only CE.
    strict = get_loss("kd-lrds", {"temperature": 1.0, "alpha": 0.5, "eta": 0.6, "threshold": 0.3})
    assert float(strict(student, labels, teacher)) == pytest.approx((-math.log(0.5) + kept) / 2, abs=1e-6)


def test_distillation_losses_need_a_teacher() -> None:
    assert not LOSSES["ce"].needs_teacher and LOSSES["kd"].needs_teacher and LOSSES["kd-lrds"].needs_teacher
    assert not LOSSES["oskd"].needs_teacher and not LOSSES["dml"].needs_teacher
    with pytest.raises(ConfigError, match="loss 'kd' needs a teacher"):
        get_loss("kd")(torch.zeros(1, 2), torch.tensor([0]), None)


def test_an_unknown_loss_lists_the_valid_ones() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown loss 'kd_lrds'. Did you mean 'kd-lrds'\? Valid: ce, dml, kd, kd-lrds, oskd"
    ):
        get_loss("kd_lrds")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("ce", {"temperature": 4.0}, "loss 'ce' has no hyper-parameter 'temperature'; it takes: none"),
        ("kd", {"eta": 0.5}, "it takes: temperature, alpha"),
        ("kd", {"temperature": 0.0}, "temperature must be > 0"),
        ("kd-lrds", {"eta": 1.0}, "eta must lie strictly between 0 and 1"),
        ("oskd", {"neighbours": 0}, "loss 'oskd': neighbours must be an integer >= 1"),
        ("oskd", {"weight": -1.0}, "weight must be >= 0"),
        ("dml", {"peers": 1}, r"loss 'dml': peers must be an integer >= 2 \(a peer learns from the others\), not 1"),
        ("dml", {"peers": 2.5}, "peers must be an integer >= 2"),
        ("dml", {"rampup": 1.5}, r"loss 'dml': rampup must be a fraction of training, 0 to 1, not 1.5"),
        ("kd", {"peers": 2}, "loss 'kd' has no hyper-parameter 'peers'"),
    ],
)
def test_bad_hyper_parameters_are_refused(name: str, params: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        get_loss(name, params)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _ce(z: np.ndarray, labels: list[int]) -> float:
    return float(-np.mean(np.log(_softmax(z)[np.arange(len(labels)), labels])))


LOGITS = [[2.0, 0.0, -1.0], [0.5, 1.0, 0.0], [0.0, 3.0, 1.0], [-1.0, 0.0, 2.0]]


def test_oskd_adds_the_t_squared_distance_to_same_class_outputs() -> None:
    z, labels = np.array(LOGITS), [0, 0, 1, 1]  # two samples per class: each one's only neighbour is its partner
    p = _softmax(z / 2.0)
    d01, d23 = np.sum((p[0] - p[1]) ** 2), np.sum((p[2] - p[3]) ** 2)
    expected = _ce(z, labels) + 0.5 * 2.0**2 * (d01 + d01 + d23 + d23) / 4
    loss = get_loss("oskd", {"weight": 0.5, "temperature": 2.0})
    assert float(loss(torch.tensor(LOGITS), torch.tensor(labels), None)) == pytest.approx(expected, abs=1e-6)


def test_oskd_pulls_each_sample_to_its_nearest_same_class_samples_only() -> None:
    # Class 0: samples 0 and 1 are close, 2 is far, nearer to 1 than to 0; sample 3 is alone in class 1.
    z = np.array([[1.0, 0.0, 0.0], [1.2, 0.1, 0.0], [3.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    p = _softmax(z)

    def d(i: int, j: int) -> float:
        return float(np.sum((p[i] - p[j]) ** 2))

    assert d(2, 1) < d(2, 0)
    one = subclass_distance(torch.tensor(z), torch.tensor([0, 0, 0, 1]), 1.0, 1)
    assert float(one) == pytest.approx((d(0, 1) + d(1, 0) + d(2, 1)) / 3, abs=1e-6)  # sample 3 has no neighbour
    two = subclass_distance(torch.tensor(z), torch.tensor([0, 0, 0, 1]), 1.0, 2)
    pairs = [(d(0, 1) + d(0, 2)) / 2, (d(1, 0) + d(1, 2)) / 2, (d(2, 0) + d(2, 1)) / 2]
    assert float(two) == pytest.approx(sum(pairs) / 3, abs=1e-6)


def test_the_oskd_term_vanishes_when_same_class_outputs_agree() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    agree = torch.tensor([[2.0, 0.0, -1.0], [2.0, 0.0, -1.0], [0.0, 3.0, 1.0], [0.0, 3.0, 1.0]])
    differ = torch.tensor(LOGITS)
    assert float(subclass_distance(agree, labels, 4.0, 3)) == 0.0
    assert float(subclass_distance(differ, labels, 4.0, 3)) > 1e-3
    oskd, ce = get_loss("oskd"), get_loss("ce")
    assert float(oskd(agree, labels, None)) == pytest.approx(float(ce(agree, labels, None)))
    assert float(oskd(differ, labels, None)) > float(ce(differ, labels, None)) + 1e-3


def _spread(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean squared distance between the softmaxes (at T = 4) of same-class pairs."""
    p = torch.softmax(logits.detach() / 4.0, dim=1)
    pairs = [(i, j) for i in range(len(labels)) for j in range(i) if labels[i] == labels[j]]
    return sum(float(((p[i] - p[j]) ** 2).sum()) for i, j in pairs) / len(pairs)


def test_gradient_steps_on_oskd_pull_same_class_outputs_together() -> None:
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    start = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)) * 3
    spreads = {}
    for name in ("ce", "oskd"):
        logits = start.clone().requires_grad_(True)
        optimizer, loss = torch.optim.SGD([logits], lr=0.5), get_loss(name)
        for _ in range(20):
            optimizer.zero_grad()
            loss(logits, labels, None).backward()
            optimizer.step()
        spreads[name] = _spread(logits, labels)
    assert spreads["oskd"] < 0.5 * _spread(start, labels) and spreads["oskd"] < spreads["ce"]


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.sum(p * np.log(p / q), axis=-1)


def test_dml_adds_the_mean_kl_from_each_other_peer() -> None:
    peers = [np.array(LOGITS), np.array(LOGITS)[::-1] * 0.5, np.array(LOGITS)[:, ::-1]]
    labels = [0, 0, 1, 2]
    p = [_softmax(z) for z in peers]
    expected = [_ce(peers[k], labels) + np.mean([_kl(p[j], p[k]).mean() for j in range(3) if j != k]) for k in range(3)]
    loss = get_loss("dml", {"peers": 3})
    assert isinstance(loss, PeerLoss)
    logits = [torch.tensor(z.copy(), requires_grad=True) for z in peers]
    values = loss.peer_losses(logits, torch.tensor(labels))
    assert [float(v) for v in values] == pytest.approx(expected, abs=1e-6)
    values[0].backward()  # the others' predictions are targets: only peer 0 moves
    assert logits[0].grad is not None and logits[1].grad is None and logits[2].grad is None
    two = get_loss("dml")(torch.tensor(peers[0]), torch.tensor(labels), torch.tensor(peers[1]))
    assert float(two) == pytest.approx(_ce(peers[0], labels) + _kl(p[1], p[0]).mean(), abs=1e-6)
    with pytest.raises(ConfigError, match="loss 'dml' needs the other peers' logits"):
        get_loss("dml")(torch.tensor(peers[0]), torch.tensor(labels), None)


@pytest.mark.parametrize(
    ("progress", "length", "weight"),
    [(0.0, 0.3, math.exp(-5)), (0.15, 0.3, math.exp(-1.25)), (0.3, 0.3, 1.0), (0.9, 0.3, 1.0), (0.0, 0.0, 1.0)],
)
def test_the_rampup_rises_from_exp_minus_five_to_one(progress: float, length: float, weight: float) -> None:
    assert sigmoid_rampup(progress, length) == pytest.approx(weight)


def test_dml_weighs_the_peers_term_by_the_rampup_of_training_done() -> None:
    own, other, labels = np.array(LOGITS), np.array(LOGITS)[:, ::-1], [0, 0, 1, 2]
    kl = _kl(_softmax(other), _softmax(own)).mean()
    loss = get_loss("dml", {"rampup": 0.5})
    assert isinstance(loss, PeerLoss)
    logits = [torch.tensor(own.copy()), torch.tensor(other.copy())]
    for progress, weight in ((0.0, math.exp(-5)), (0.25, math.exp(-1.25)), (0.5, 1.0), (1.0, 1.0)):
        value = loss.peer_losses(logits, torch.tensor(labels), progress)[0]
        assert float(value) == pytest.approx(_ce(own, labels) + weight * kl, abs=1e-6)
    full = loss(logits[0], torch.tensor(labels), logits[1][None])  # called as a loss: full strength
    assert float(full) == pytest.approx(_ce(own, labels) + kl, abs=1e-6)
