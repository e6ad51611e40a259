"""Uniform pruning: the same share of channels removed from every group (the baseline hardware-aware pruning
must beat), keeping each group's most important channels."""

from __future__ import annotations

import torch

from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.history import PruneHistory, PruneStep
from edgebench.pruning.importance import Scores


def uniform_width(channels: int, keep: float, multiple: int) -> int:
    """``keep`` of ``channels`` rounded down to ``multiple``, at least ``multiple`` (and never more than now)."""
    return min(channels, max(multiple, int(channels * keep) // multiple * multiple))


def uniform_history(graph: PruningGraph, keep: float, multiple: int = 1, scores: Scores | None = None,
                    criterion: str = "none") -> PruneHistory:  # fmt: skip
    """The steps that bring every group to :func:`uniform_width`, dropping its least important channels (by
    ``scores``; the last channels without them). The graph is not changed."""
    history = PruneHistory(graph.input_shape)
    for i, group in enumerate(graph.groups()):
        drop = group.channels - uniform_width(group.channels, keep, multiple)
        if drop <= 0:
            continue
        score = scores[group.root] if scores is not None else -torch.arange(group.channels, dtype=torch.float32)
        channels = tuple(sorted(int(c) for c in torch.argsort(score)[:drop]))
        lost = float(score[list(channels)].sum()) if scores is not None else 0.0
        history = history.with_step(PruneStep(i, group.root, channels, criterion, lost))
    return history
