"""Reference networks: registry lookups, shapes, determinism, and well-scaled activations."""

from __future__ import annotations

import re

import pytest
import torch

from edgebench.exceptions import UnknownNameError
from edgebench.nets import NETS, create_net, list_nets
from edgebench.nets.mobilenetv2 import make_divisible, mobilenetv2


def test_list_nets_filters_by_pattern() -> None:
    assert list_nets("resnet18*") == ["resnet18-0.25-cifar", "resnet18-0.5-cifar", "resnet18-1.0-cifar", "resnet18-224"]
    assert "mobilenetv2-1.0-224" in list_nets("mobilenetv2*")


def test_unknown_net_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match=re.escape("Did you mean 'mobilenetv2-0.5-cifar'")):
        create_net("mobilenetv2-0.5-cifr")


@pytest.mark.parametrize("name", ["mobilenetv2-0.25-cifar", "resnet18-0.25-cifar"])
def test_nets_classify_their_input_and_are_seeded(name: str) -> None:
    a, shape = create_net(name, classes=7)
    b, _ = create_net(name, classes=7)
    x = torch.randn(shape)
    with torch.no_grad():
        ya, yb = a(x), b(x)
    assert ya.shape == (1, 7) and torch.equal(ya, yb)


def test_settled_batchnorm_keeps_deep_activations_alive() -> None:
    settled, shape = create_net("mobilenetv2-0.5-cifar")
    default = NETS["mobilenetv2-0.5-cifar"].build(10).eval()
    x = torch.randn(8, *shape[1:])
    with torch.no_grad():
        alive, dead = settled[:-1](x).std(), default[:-1](x).std()  # features entering the classifier
    assert alive > 1e-2 and dead < 1e-5  # default statistics shrink them to nothing: INT8 cannot represent that


def test_mobilenetv2_parameter_count_matches_the_paper_at_imagenet_scale() -> None:
    params = sum(p.numel() for p in mobilenetv2(1.0, classes=1000, cifar=False).parameters())
    assert params == pytest.approx(3.5e6, rel=0.02)  # the paper's 3.4M (torchvision: 3,504,872)


@pytest.mark.parametrize(("value", "expected"), [(32 * 0.25, 8), (24 * 0.5, 16), (1280 * 0.75, 960), (20, 24)])
def test_make_divisible(value: float, expected: int) -> None:
    assert make_divisible(value) == expected
