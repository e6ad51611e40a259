"""Each loss against a value computed by hand on a two-class batch whose softmaxes are simple fractions, and the
registry's answers to bad names and hyper-parameters."""

from __future__ import annotations

import math

import pytest
import torch

from edgebench.distill.losses import LOSSES, get_loss, revise_labels
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
    with pytest.raises(ConfigError, match="loss 'kd' needs a teacher"):
        get_loss("kd")(torch.zeros(1, 2), torch.tensor([0]), None)


def test_an_unknown_loss_lists_the_valid_ones() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown loss 'kd_lrds'. Did you mean 'kd-lrds'\? Valid: ce, kd, kd-lrds"
    ):
        get_loss("kd_lrds")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("ce", {"temperature": 4.0}, "loss 'ce' has no hyper-parameter 'temperature'; it takes: none"),
        ("kd", {"eta": 0.5}, "it takes: temperature, alpha"),
        ("kd", {"temperature": 0.0}, "temperature must be > 0"),
        ("kd-lrds", {"eta": 1.0}, "eta must lie strictly between 0 and 1"),
    ],
)
def test_bad_hyper_parameters_are_refused(name: str, params: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        get_loss(name, params)
