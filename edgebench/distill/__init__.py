"""Distillation: losses by name, a training loop for any student, checkpoints as data, and a default teacher."""

from __future__ import annotations

from edgebench.distill.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from edgebench.distill.losses import LOSSES, DistillLoss, PeerLoss, get_loss
from edgebench.distill.train import Optimizer, TrainConfig, TrainResult, TrainStep, evaluate, train

__all__ = [
    "LOSSES",
    "Checkpoint",
    "DistillLoss",
    "Optimizer",
    "PeerLoss",
    "TrainConfig",
    "TrainResult",
    "TrainStep",
    "evaluate",
    "get_loss",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]
