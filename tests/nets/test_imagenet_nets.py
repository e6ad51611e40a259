"""The standard ImageNet networks published edge latencies were measured on match their published sizes."""

from __future__ import annotations

import pytest
import torch

from edgebench.nets import NETS


@pytest.mark.parametrize(
    ("name", "params"),
    [("mobilenetv1-1.0-224", 4_231_976), ("resnet50-224", 25_557_032), ("efficientnet-lite0-224", 4_652_008)],
)
def test_parameter_count_matches_the_published_one(name: str, params: int) -> None:
    entry = NETS[name]
    assert entry.input_shape == (1, 3, 224, 224)
    assert sum(p.numel() for p in entry.build(1000).parameters()) == params


def test_mobilenetv1_width_multiplier_scales_every_layer() -> None:
    quarter = NETS["mobilenetv1-0.25-224"].build(1000)
    convs = [m for m in quarter.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].out_channels == 8 and convs[-1].out_channels == 256


@pytest.mark.parametrize("name", ["mobilenetv1-0.5-224", "resnet50-224", "efficientnet-lite0-224"])
def test_runs_on_smaller_inputs_too(name: str) -> None:
    module = NETS[name].build(7).eval()
    with torch.inference_mode():
        assert module(torch.randn(1, 3, 64, 64)).shape == (1, 7)
