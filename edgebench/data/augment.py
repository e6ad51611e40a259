"""Augmentation for small images, on whole normalised batches: random crop of a padded image, horizontal flip."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    """Shift each image by up to ``pad`` pixels (a random crop of the zero-padded image; zero is the mean colour
    after normalisation) and, if ``flip``, mirror it left-right with probability 1/2.

    Flips are for natural images; digits and text change meaning when mirrored, so their data sets ``flip=False``.
    """

    pad: int = 4
    flip: bool = True

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a normalised (N, C, H, W) batch; ``generator`` (on the CPU) draws every random choice."""
        n, c, h, w = x.shape
        if self.pad:
            padded = F.pad(x, (self.pad, self.pad, self.pad, self.pad))
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2, n, 1), generator=generator).to(x.device)
            rows = (dy + torch.arange(h, device=x.device))[:, None, :, None]
            cols = (dx + torch.arange(w, device=x.device))[:, None, None, :]
            batch = torch.arange(n, device=x.device)[:, None, None, None]
            x = padded[batch, torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
        if self.flip:
            mirror = (torch.rand(n, generator=generator) < 0.5).to(x.device)
            x = torch.where(mirror[:, None, None, None], x.flip(3), x)
        return x
