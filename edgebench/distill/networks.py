"""What a training run or a checkpoint names: a built-in network (``resnet18-0.5-cifar``) or an ``ArchSpec``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import torch
from torch import nn

from edgebench.exceptions import ConfigError, UnknownNameError
from edgebench.nets import NETS
from edgebench.searching.space import ArchSpec, SearchSpace, get_space, load_arch

#: A registered network name, or an architecture of a search space.
Network: TypeAlias = str | ArchSpec
#: Short names for the usual teachers.
ALIASES = {"resnet18-cifar": "resnet18-1.0-cifar"}


def resolve_network(spec: str) -> Network:
    """A path to an ``ArchSpec`` JSON, or a built-in network name or alias (``resnet18-cifar``).

    Raises:
        ConfigError: the JSON is malformed. UnknownNameError: neither a file nor a known name.
    """
    if spec.endswith(".json") or Path(spec).is_file():
        arch = load_arch(spec)
        get_space(arch.space).validate_arch(arch)
        return arch
    name = ALIASES.get(spec, spec)
    if name not in NETS:
        raise UnknownNameError("network (neither an ArchSpec JSON nor a built-in name)", spec, [*NETS, *ALIASES])
    return name


def resolution(network: Network) -> int:
    """The input side the network is designed for."""
    if isinstance(network, ArchSpec):
        return get_space(network.space).resolution
    return NETS[network].input_shape[-1]


def label(network: Network) -> str:
    """A short name for tables and file names."""
    if isinstance(network, str):
        return network
    widths = "-".join(str(s.width) for s in network.stages)
    return f"{network.space}-d{network.depth()}-w{widths}"


def build_network(network: Network, classes: int, seed: int = 0, space: SearchSpace | None = None) -> nn.Module:
    """The network with ``classes`` outputs and seeded random weights, in train mode; an ``ArchSpec`` is built in
    ``space`` when given (a search's space as adapted to its device), else in the space it names."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if isinstance(network, ArchSpec):
            return (space or get_space(network.space)).model_copy(update={"classes": classes}).build(network)
        return NETS[network].build(classes)


def to_dict(network: Network) -> dict[str, Any]:
    return {"arch": network.to_dict()} if isinstance(network, ArchSpec) else {"net": network}


def from_dict(data: dict[str, Any], source: Path) -> Network:
    """The inverse of :func:`to_dict`; ConfigError names ``source`` if it holds neither form."""
    if "arch" in data:
        try:
            return ArchSpec.from_dict(data["arch"])
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}") from None
    if data.get("net") in NETS:
        return str(data["net"])
    raise ConfigError(f"{source}: field 'net' must name a built-in network, or 'arch' hold an ArchSpec")
