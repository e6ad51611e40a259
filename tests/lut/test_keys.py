"""LUT keys: every block an architecture needs is enumerated, and blocks chain shape to shape."""

from __future__ import annotations

import random

import pytest
import torch

from edgebench.lut.keys import LutKey, arch_keys, enumerate_keys
from edgebench.searching.space import get_space


@pytest.mark.parametrize("name", ["mbv2-cifar", "mbv2-224"])
def test_enumeration_covers_every_sampled_architecture(name: str) -> None:
    space = get_space(name)
    keys = set(enumerate_keys(space))
    rng = random.Random(0)
    needed: set[LutKey] = set()
    for _ in range(3000):
        needed |= set(arch_keys(space, space.sample(rng)))
    assert needed <= keys
    assert len(keys) - len(needed) <= len(keys) // 20  # nearly every enumerated key is reachable


def test_default_space_needs_252_blocks() -> None:
    assert len(enumerate_keys(get_space("mbv2-cifar"))) == 252


def test_blocks_chain_and_match_the_whole_network_shapes() -> None:
    space = get_space("mbv2-cifar")
    keys = arch_keys(space, space.sample(random.Random(2)))
    x = torch.zeros(space.input_shape())
    with torch.no_grad():
        for key in keys:
            assert tuple(x.shape) == key.input_shape, key.label
            x = key.build().eval()(x)
    assert tuple(x.shape) == (1, space.classes)


def test_row_round_trip_and_residual_flag() -> None:
    key = LutKey("mbconv", 8, 64, 64, 1, 6, 5, True)
    assert LutKey.from_row(key.to_row()) == key and key.residual and "+se res" in key.label
    assert not LutKey("mbconv", 8, 48, 64, 1, 6, 5).residual


def test_params_are_the_conv_and_linear_weights_of_the_built_block() -> None:
    space = get_space("mbv2-cifar")
    keys = enumerate_keys(space)
    picked = [k for k in keys if k.kind != "mbconv"] + [k for k in keys if k.se][:3] + [keys[len(keys) // 2]]
    for key in picked:
        layers = [m for m in key.build().modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
        assert key.params == sum(m.weight.numel() for m in layers), key.label
