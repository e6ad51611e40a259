"""Search spaces parse strictly; ArchSpec round-trips exactly, encodes, validates and builds."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebench.exceptions import ConfigError, UnknownNameError
from edgebench.searching.space import ArchSpec, get_space, load_arch, load_space, space_paths

SHIPPED = ["mbv2-cifar", "mbv2-224"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_space_round_trips_and_encodes(name: str) -> None:
    space = get_space(name)
    rng = random.Random(0)
    for _ in range(200):
        arch = space.sample(rng)
        assert ArchSpec.from_json(arch.to_json()) == arch
        assert ArchSpec.from_dict(arch.to_dict()) == arch
        assert space.decode(space.encode(arch)) == arch


def test_shipped_spaces_are_listed() -> None:
    assert set(space_paths()) >= set(SHIPPED)


def test_built_network_has_the_arch_depth_and_classifies() -> None:
    space = get_space("mbv2-cifar")
    arch = space.sample(random.Random(3))
    module = space.build(arch).eval()
    blocks = [m for m in module if type(m).__name__ == "InvertedResidual"]
    assert len(blocks) == arch.depth()
    with torch.no_grad():
        assert module(torch.zeros(space.input_shape())).shape == (1, space.classes)


def test_arch_file_with_a_choice_outside_the_space_names_the_field(tmp_path: Path) -> None:
    space = get_space("mbv2-cifar")
    data = space.sample(random.Random(1)).to_dict()
    data["stages"][2]["blocks"][0]["kernel"] = 7
    with pytest.raises(
        ConfigError, match=r"stages\[2\]\.blocks\[0\]\.kernel = 7 is not in the space's choices \[3, 5\]"
    ):
        space.validate_arch(ArchSpec.from_dict(data))


def test_arch_json_with_an_unknown_key_names_it(tmp_path: Path) -> None:
    path = tmp_path / "arch.json"
    path.write_text(
        '{"space": "mbv2-cifar", "stages": [{"width": 16, "blocks": [{"expansion": 1, "kernel": 3, "sx": 1}]}]}'
    )
    with pytest.raises(ConfigError, match=r"arch.json: architecture field 'stages.0.blocks.0.sx': Extra inputs"):
        load_arch(path)


def test_space_yaml_errors_name_file_and_field(tmp_path: Path) -> None:
    text = get_space("mbv2-cifar").model_dump_json()
    bad = tmp_path / "mine.yaml"
    bad.write_text(text.replace('"kernel":[3,5]', '"kernel":[3,4]', 1).replace('"name":"mbv2-cifar"', '"name":"mine"'))
    with pytest.raises(ConfigError, match=r"mine.yaml: field 'stages.1.kernel': Value error, kernel sizes must be odd"):
        load_space(bad)
    wrong_name = tmp_path / "other.yaml"
    wrong_name.write_text(text)
    with pytest.raises(ConfigError, match="must match the file name 'other'"):
        load_space(wrong_name)


def test_unknown_space_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'mbv2-cifar'"):
        get_space("mbv2-cifr")


def test_for_device_rounds_widths_up_to_the_channel_multiple() -> None:
    space = get_space("mbv2-cifar").for_device(16)
    assert all(w % 16 == 0 for s in space.stages for w in s.width)
    assert space.stages[3].width == (48, 64) and space.stages[4].width == (80, 96)
    assert space.stem.out_channels == 32 and get_space("mbv2-cifar").for_device(1) == get_space("mbv2-cifar")


def test_encoding_has_a_fixed_length_and_pads_with_zeros() -> None:
    space = get_space("mbv2-cifar")
    arch = space.sample(random.Random(5))
    vector = space.encode(arch)
    assert vector.shape == (space.encoding_length(),) and vector.dtype == np.int64
    assert vector[1] == len(arch.stages[0].blocks)
