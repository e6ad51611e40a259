"""The SSD detectors the NCS2 calibration rows were measured on match the Open Model Zoo's published sizes."""

from __future__ import annotations

import pytest
import torch

from edgebench.nets import NETS


def _gflops_and_output(module: torch.nn.Module, shape: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
    macs = []

    def count(conv: torch.nn.Module, _: object, out: torch.Tensor) -> None:
        assert isinstance(conv, torch.nn.Conv2d)
        macs.append(out.numel() * conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1])

    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(count)
    with torch.inference_mode():
        out = module(torch.randn(shape))
    return 2 * sum(macs) / 1e9, tuple(out.shape)


@pytest.mark.parametrize(
    ("name", "gflops", "mparams"),
    [("ssd-mobilenetv1-1.0-300", 2.494, 6.807), ("ssd-mobilenetv2-1.0-300", 3.775, None)],  # OMZ model cards
)
def test_flops_match_the_open_model_zoo_and_every_anchor_is_predicted(
    name: str, gflops: float, mparams: float | None
) -> None:
    entry = NETS[name]
    module = entry.build(90).eval()  # COCO: 90 classes and the background
    measured, shape = _gflops_and_output(module, entry.input_shape)
    assert measured == pytest.approx(gflops, rel=0.015)
    assert shape == (1, 1917, 4 + 91)  # 19x19x3 + (10x10 + 5x5 + 3x3 + 2x2 + 1x1) x 6 anchors
    if mparams is not None:
        assert sum(p.numel() for p in module.parameters()) / 1e6 == pytest.approx(mparams, rel=0.01)


def test_depth_multiplier_scales_the_backbone_taps_and_the_extras() -> None:
    module = NETS["ssd-mobilenetv1-0.75-300"].build(90)
    heads = [c.in_channels for c in module.heads]
    assert heads == [384, 768, 384, 192, 192, 96]
