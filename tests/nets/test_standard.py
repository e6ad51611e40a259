"""The standard ImageNet families have the reference implementations' sizes, and build and classify by name."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from edgebench import nets
from edgebench.nets import NETS, create_net

#: Parameters at 1000 classes, as the reference implementations (torchvision's) count them.
PARAMS = {
    "mobilenetv3-large-224": 5_483_032,
    "mobilenetv3-small-224": 2_542_856,
    "efficientnet-b0-224": 5_288_548,
    "densenet121-224": 7_978_856,
    "squeezenet1.1-224": 1_235_496,
    "shufflenetv2-1.0-224": 2_278_604,
    "vgg16-224": 138_357_544,
    "mnasnet-1.0-224": 4_383_312,
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_parameter_count_matches_the_reference(name: str, params: int) -> None:
    with torch.device("meta"):  # shapes only: nothing allocated or initialised
        module = NETS[name].build(1000)
    assert sum(p.numel() for p in module.parameters()) == params


@pytest.fixture
def one_settling_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settle BatchNorm on one batch, not four: shapes do not need good statistics (test_nets.py checks those)."""
    monkeypatch.setattr(nets, "settle_batchnorm", partial(nets.settle_batchnorm, batches=1))


@pytest.mark.parametrize("name", PARAMS)
@pytest.mark.usefixtures("one_settling_batch")
def test_builds_by_name_and_classifies_its_input(name: str) -> None:
    module, shape = create_net(name, classes=10)
    assert shape == (1, 3, 224, 224)
    with torch.inference_mode():
        assert module(torch.randn(shape)).shape == (1, 10)
