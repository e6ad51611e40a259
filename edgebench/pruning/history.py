"""A pruning run as data: which channels of which layer went, step by step, so a pruned network is rebuilt from
its original checkpoint by replaying the steps, without pickling modules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgebench.exceptions import ConfigError
from edgebench.pruning.graph import PruningGraph

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PruneStep:
    """One removal: ``channels`` are indices into ``root``'s outputs as they were just before this step."""

    step: int
    root: str
    channels: tuple[int, ...]
    criterion: str
    importance: float  # the importance the cut lost: the output KL it caused on the calibration images
    predicted_ms: float | None = None  # the network's predicted latency after this step


@dataclass(frozen=True)
class PruneHistory:
    """Every step of one pruning run, in order."""

    input_shape: tuple[int, ...]
    steps: tuple[PruneStep, ...] = ()

    def with_step(self, step: PruneStep) -> PruneHistory:
        return PruneHistory(self.input_shape, (*self.steps, step))

    def replay(self, module: nn.Module) -> nn.Module:
        """Apply every step to ``module`` (a freshly built original network) in place and return it."""
        graph = PruningGraph(module, self.input_shape)
        for s in self.steps:
            graph.prune(s.root, s.channels)
        return module

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "input_shape": list(self.input_shape),
                "steps": [asdict(s) for s in self.steps]}  # fmt: skip

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str = "pruning history") -> PruneHistory:
        """The inverse of :meth:`to_dict`; a malformed one is a ConfigError naming ``source`` and the field."""
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise ConfigError(f"{source}: not a pruning history of schema version {SCHEMA_VERSION}")
        try:
            steps = tuple(_step(s) for s in data["steps"])
            return cls(tuple(int(d) for d in data["input_shape"]), steps)
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"{source}: malformed pruning history (field {e})") from None

    @classmethod
    def load(cls, path: Path) -> PruneHistory:
        """Read a history file; a malformed one is a ConfigError naming the file and the field."""
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: cannot read pruning history ({e})") from None
        return cls.from_dict(data, str(path))


def _step(s: dict[str, Any]) -> PruneStep:
    predicted = s.get("predicted_ms")
    return PruneStep(int(s["step"]), str(s["root"]), _ints(s["channels"]), str(s["criterion"]),
                     float(s["importance"]), None if predicted is None else float(predicted))  # fmt: skip


def _ints(values: Sequence[Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
