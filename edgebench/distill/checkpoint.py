"""A trained network on disk as data, never a pickled module: a folder holding ``weights.pt`` (a state_dict of
tensors, read back with ``torch.load(weights_only=True)``), ``arch.json`` (which network, how many classes) and
``metrics.json`` (how it was trained and how well it does). A pruned network's ``arch.json`` also holds its
pruning history."""

from __future__ import annotations

import json
import pickle
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from edgebench.atomic import write_atomic, write_text_atomic
from edgebench.devices.local import cpu_label
from edgebench.distill import networks
from edgebench.distill.losses import DistillLoss
from edgebench.distill.networks import Network
from edgebench.distill.train import TrainConfig, TrainResult
from edgebench.exceptions import ConfigError
from edgebench.pruning.history import PruneHistory
from edgebench.searching.space import SearchSpace
from edgebench.version import __version__

SCHEMA_VERSION = 1
WEIGHTS, ARCH, METRICS = "weights.pt", "arch.json", "metrics.json"


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A network loaded from a checkpoint folder, in eval mode, with the record of its training."""

    path: Path
    network: Network
    classes: int
    module: nn.Module
    metrics: dict[str, Any]
    space: SearchSpace | None = None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """The batch-1 input the network is designed for."""
        side = self.space.resolution if self.space is not None else networks.resolution(self.network)
        return 1, 3, side, side

    @property
    def test_top1_pct(self) -> float | None:
        value = self.metrics.get("result", {}).get("test_top1_pct")
        return None if value is None else float(value)


def save_checkpoint(
    path: Path,
    network: Network,
    module: nn.Module,
    classes: int,
    data: str,
    loss: DistillLoss,
    config: TrainConfig,
    result: TrainResult,
    pruning: PruneHistory | None = None,
    space: SearchSpace | None = None,
) -> Path:
    """Write a checkpoint folder (created if needed); each file is replaced atomically, ``metrics.json`` last, so
    a folder with it is complete. A pruned network keeps its ``pruning`` history in ``arch.json``, replayed on
    the built network before its weights are loaded; a searched one keeps its ``space`` (as adapted to the device)."""
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    arch = {"schema_version": SCHEMA_VERSION, **networks.to_dict(network), "classes": classes}
    if pruning is not None:
        arch["pruning"] = pruning.to_dict()
    if space is not None:
        arch["space"] = space.model_dump(mode="json")
    metrics = {
        "schema_version": SCHEMA_VERSION, "data": data, "loss": loss.name, "loss_params": loss.params(),
        "config": config.to_dict(), "result": result.to_dict(), "edgebench_version": __version__,
        "torch_version": torch.__version__, "host": platform.node(), "cpu": cpu_label(),
        "threads": torch.get_num_threads(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }  # fmt: skip
    write_atomic(path / WEIGHTS, lambda p: torch.save(state, p))
    write_text_atomic(path / ARCH, json.dumps(arch, indent=2) + "\n")
    write_text_atomic(path / METRICS, json.dumps(metrics, indent=2) + "\n")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read checkpoint JSON ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a checkpoint JSON must hold an object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ConfigError(f"{path}: field 'schema_version' is {data.get('schema_version')}, not {SCHEMA_VERSION}")
    return data


def _space(data: object, source: Path) -> SearchSpace:
    try:
        return SearchSpace.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: field 'space' is not a search space ({e.errors()[0]['msg']})") from None


def proxy_trained(path: Path) -> str | None:
    """Why the checkpoint in ``path`` is no deployable network (trained at another input side than its network's,
    as a proxy search's candidates are), or None; reads its JSON files only, and leaves broken ones to loading."""
    try:
        arch = _read_json(path / ARCH)
        trained = _read_json(path / METRICS).get("config", {}).get("resolution")
        if trained is None:
            return None
        space = _space(arch["space"], path / ARCH) if "space" in arch else None
        side = space.resolution if space is not None else networks.resolution(networks.from_dict(arch, path / ARCH))
    except (ConfigError, OSError, AttributeError):
        return None
    if trained == side:
        return None
    return f"{path}: trained at {trained}x{trained} (a search's proxy), not at the network's {side}x{side}"


def load_checkpoint(path: Path) -> Checkpoint:
    """Rebuild the network a checkpoint folder names and load its weights (tensors only, no code runs).

    Raises:
        ConfigError: the folder is not a complete checkpoint, or its weights do not fit its network.
    """
    if not (path / ARCH).is_file() or not (path / WEIGHTS).is_file():
        raise ConfigError(
            f"{path}: not an edgebench checkpoint (needs {ARCH} and {WEIGHTS}); make one with `edgebench teacher "
            "train` or `edgebench train --out`"
        )
    arch = _read_json(path / ARCH)
    network = networks.from_dict(arch, path / ARCH)
    classes = arch.get("classes")
    if not isinstance(classes, int) or classes < 2:
        raise ConfigError(f"{path / ARCH}: field 'classes' must be an integer >= 2, not {classes!r}")
    space = _space(arch["space"], path / ARCH) if "space" in arch else None
    module = networks.build_network(network, classes, space=space)
    if "pruning" in arch:
        module = PruneHistory.from_dict(arch["pruning"], f"{path / ARCH}: field 'pruning'").replay(module)
    try:
        state = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
        module.load_state_dict(state)
    except (RuntimeError, pickle.UnpicklingError, OSError, EOFError, AttributeError, TypeError) as e:
        reason = str(e).strip().splitlines()[0]
        raise ConfigError(f"{path / WEIGHTS}: weights do not load into {networks.label(network)} ({reason})") from None
    metrics = _read_json(path / METRICS) if (path / METRICS).is_file() else {}
    return Checkpoint(path, network, classes, module.eval(), metrics, space)
