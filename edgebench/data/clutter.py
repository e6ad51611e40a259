"""The default task: scikit-learn's bundled digits made hard, so that students of different capacity differ.

A benchmark stand-in built without a download, not a replacement for your own data. Each image is one real 8x8
digit (UCI "Optical Recognition of Handwritten Digits", shipped with scikit-learn) drawn on a 32x32 RGB canvas
under a random affine transform (rotation, shear, scale, position), in a random colour over a darker random
background colour, among up to four fragments of other digits in their own colours and transforms, with a
per-channel contrast change and Gaussian noise of a random strength. How hard an image is varies: some have no
clutter and a strong contrast, others four fragments, a faint digit and heavy noise. The 1,797 base digits are
split per class with a fixed seed *before* any image is drawn: the digits (and the clutter) of the test images
are never seen in training or validation.

Generation is deterministic (fixed seeds, computed on the CPU) and takes seconds; the arrays are cached under
``$EDGEBENCH_CACHE/data`` as an ``.npz`` named by :data:`VERSION` and a digest of the :class:`Recipe`. On x86 it
runs in a child process with MKL's reproducibility mode pinned to its AVX2 path (``MKL_CBWR=AVX2``, read only when
MKL starts): the affine grids go through MKL's GEMM, whose AVX-512 path rounds otherwise, and a few pixels of the
images (so their digest, and every estimator and baseline keyed by it) differed between CPUs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgebench.atomic import write_atomic
from edgebench.data.dataset import RESOLUTION, ImageData, Split, as_images, stratified_split

log = logging.getLogger(__name__)

NAME = "cluttered-digits"
#: Part of the cache file's name: bump it whenever the drawing changes (a changed :class:`Recipe` changes the name).
VERSION = 1
#: Images drawn at once (bounds memory; part of the random stream, so part of the data).
CHUNK = 2048


@dataclass(frozen=True)
class Recipe:
    """How the images are drawn. Shares split the base digits; ``*_images`` are the images drawn per split."""

    val_share: float = 0.15
    test_share: float = 0.3
    train_images: int = 20000
    val_images: int = 2400
    test_images: int = 4800
    scale_px: tuple[float, float] = (13.0, 22.0)  # side of the 8x8 digit on the canvas
    rotation_deg: float = 25.0
    shear: float = 0.3
    fragments: int = 4  # at most this many pieces of other digits per image (uniformly 0..fragments)
    fragment_share: tuple[float, float] = (0.3, 0.55)  # side of a fragment's window, as a share of the digit
    background: tuple[float, float] = (0.0, 0.5)  # per channel, 0-1 scale: darker than strokes on average
    foreground: tuple[float, float] = (0.3, 1.0)  # the digit's and each fragment's colour, per channel
    noise: tuple[float, float] = (0.0, 0.15)  # Gaussian noise sd per image (0-1 scale)
    seed: int = 0


RECIPE = Recipe()


def _glyphs() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def _affine(n: int, recipe: Recipe, g: torch.Generator, scale: tuple[float, float]) -> torch.Tensor:
    """(n, 2, 3) maps from canvas to glyph coordinates (both normalised to [-1, 1]) for ``F.affine_grid``."""

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    side = uniform(*scale)
    angle = uniform(-recipe.rotation_deg, recipe.rotation_deg) * math.pi / 180
    shear = uniform(-recipe.shear, recipe.shear)
    cos, sin, zoom = torch.cos(angle), torch.sin(angle), RESOLUTION / side
    # glyph = zoom * Shear * Rotation * (canvas - centre); the centre keeps most of the digit on the canvas
    half = side / RESOLUTION
    cx, cy = (uniform(0, 1) * 2 - 1) * (1 - half * 0.8), (uniform(0, 1) * 2 - 1) * (1 - half * 0.8)
    a = torch.stack([torch.stack([cos + shear * sin, -sin + shear * cos]), torch.stack([sin, cos])]) * zoom
    a = a.permute(2, 0, 1)  # (n, 2, 2)
    t = -(a @ torch.stack([cx, cy], 1)[:, :, None])
    return torch.cat([a, t], 2)


def _draw(glyphs: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Glyphs (n, 8, 8) warped onto (n, 1, 32, 32) canvases (bilinear, zero outside the glyph)."""
    grid = F.affine_grid(theta, [len(glyphs), 1, RESOLUTION, RESOLUTION], align_corners=False)
    return F.grid_sample(glyphs[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _windows(n: int, recipe: Recipe, g: torch.Generator) -> torch.Tensor:
    """(n, 8, 8) masks of a random rectangle: the part of a digit a fragment keeps."""
    lo, hi = recipe.fragment_share
    sides = (lo + (hi - lo) * torch.rand(n, 2, generator=g)) * 8
    starts = torch.rand(n, 2, generator=g) * (8 - sides)
    idx = torch.arange(8, dtype=torch.float32) + 0.5
    rows = (idx[None] >= starts[:, :1]) & (idx[None] < starts[:, :1] + sides[:, :1])
    cols = (idx[None] >= starts[:, 1:]) & (idx[None] < starts[:, 1:] + sides[:, 1:])
    return (rows[:, :, None] & cols[:, None, :]).float()


def _colours(n: int, g: torch.Generator, low: float, high: float) -> torch.Tensor:
    """(n, 3) RGB colours, each channel uniform in ``low``..``high`` (0-1 scale)."""
    return low + (high - low) * torch.rand(n, 3, generator=g)


def render(glyphs: np.ndarray, count: int, recipe: Recipe, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images drawn from ``glyphs`` (one split's base digits, (M, 8, 8) in 0-1), cycling through them so
    each is the subject equally often; returns uint8 (count, 3, 32, 32) and the base digits' row indices."""
    g = torch.Generator().manual_seed(seed)
    base = torch.from_numpy(glyphs)
    order = torch.cat([torch.randperm(len(base), generator=g) for _ in range(-(-count // len(base)))])[:count]
    images = [_scenes(base, order[i : i + CHUNK], recipe, g) for i in range(0, count, CHUNK)]
    return np.concatenate(images), order.numpy()


def _scenes(base: torch.Tensor, subjects: torch.Tensor, recipe: Recipe, g: torch.Generator) -> np.ndarray:
    """One uint8 image per row of ``subjects`` (indices into ``base``), its clutter drawn from ``base`` too."""
    n = len(subjects)
    background = _colours(n, g, *recipe.background)
    canvas = background[:, :, None, None].expand(n, 3, RESOLUTION, RESOLUTION).clone()
    count = torch.randint(recipe.fragments + 1, (n,), generator=g)
    for k in range(recipe.fragments):  # fragments first, so the digit is drawn over them
        others = torch.randint(len(base), (n,), generator=g)
        window = _windows(n, recipe, g) * (k < count).float()[:, None, None]
        piece = _draw(base[others] * window, _affine(n, recipe, g, recipe.scale_px))
        colour = _colours(n, g, *recipe.foreground)
        canvas = canvas * (1 - piece) + colour[:, :, None, None] * piece
    digit = _draw(base[subjects], _affine(n, recipe, g, recipe.scale_px))
    colour = _colours(n, g, *recipe.foreground)
    canvas = canvas * (1 - digit) + colour[:, :, None, None] * digit
    gain = 0.6 + 0.8 * torch.rand(n, 3, 1, 1, generator=g)  # per-channel contrast about the image's mean
    mean = canvas.mean((2, 3), keepdim=True)
    noise = recipe.noise[0] + (recipe.noise[1] - recipe.noise[0]) * torch.rand(n, 1, 1, 1, generator=g)
    canvas = mean + gain * (canvas - mean) + noise * torch.randn(canvas.shape, generator=g)
    return (canvas.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def generate(recipe: Recipe = RECIPE) -> dict[str, np.ndarray]:
    """Arrays ``{split}_x`` (uint8 (N, 3, 32, 32)), ``{split}_y`` and ``{split}_base`` (row of the base digit in
    scikit-learn's set) for train, val and test: each split drawn from its own base digits only."""
    glyphs, labels = _glyphs()
    val_idx, test_idx, train_idx = stratified_split(labels, (recipe.val_share, recipe.test_share), seed=recipe.seed)
    arrays: dict[str, np.ndarray] = {}
    splits = (("train", train_idx, recipe.train_images), ("val", val_idx, recipe.val_images),
              ("test", test_idx, recipe.test_images))  # fmt: skip
    for offset, (split, idx, count) in enumerate(splits):
        with torch.random.fork_rng():
            images, order = render(glyphs[idx], count, recipe, seed=recipe.seed * 1000 + offset)
        arrays[f"{split}_x"], arrays[f"{split}_y"], arrays[f"{split}_base"] = images, labels[idx][order], idx[order]
    return arrays


def cache_path(cache_dir: Path, recipe: Recipe = RECIPE) -> Path:
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(recipe), sort_keys=True).encode()).hexdigest()[:10]
    return cache_dir / "data" / f"{NAME}-v{VERSION}-{digest}.npz"


def load_cluttered_digits(
    resolution: int = RESOLUTION, cache_dir: Path | None = None, recipe: Recipe = RECIPE
) -> ImageData:
    """The default task (see the module docstring), generated on first use and cached; no flips (a mirrored 2 is
    no 2)."""
    from edgebench.lut.store import default_cache_dir

    path = cache_path(cache_dir or default_cache_dir(), recipe)
    arrays = _read(path)
    if arrays is None:
        log.info("generating %s (once; cached in %s)", NAME, path)
        arrays = _generate_pinned(path) if recipe == RECIPE else None
        if arrays is None:
            arrays = generate(recipe)
            _write(path, arrays)
    splits = {
        s: Split(as_images(arrays[f"{s}_x"], NAME, resolution), arrays[f"{s}_y"]) for s in ("train", "val", "test")
    }
    return ImageData(NAME, tuple(str(c) for c in range(10)), splits["train"], splits["val"], splits["test"], False)


def _generate_pinned(path: Path) -> dict[str, np.ndarray] | None:
    """The default recipe's arrays generated and cached in ``path`` by a child process with ``MKL_CBWR=AVX2``
    (see the module docstring), on x86 where this process's MKL may not run that path; None elsewhere or if the
    child failed (then this process generates them)."""
    if os.environ.get("MKL_CBWR") == "AVX2" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    env = {**os.environ, "MKL_CBWR": "AVX2"}
    done = subprocess.run([sys.executable, "-m", __name__, str(path)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        log.warning("generating %s in a child process failed (%s); generating it here", NAME, done.stderr[-500:])
        return None
    return _read(path)


def _read(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when absent or unreadable (a cache is regenerated, never trusted half-written)."""
    try:
        with np.load(path) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError):
        return None


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically; a cache that cannot be written is only a lost speed-up."""
    try:
        write_atomic(path, lambda tmp: np.savez(tmp, allow_pickle=False, **arrays), suffix=".npz")
    except OSError as e:
        log.warning("could not cache %s in %s (%s); it will be generated again next time", NAME, path, e)


if __name__ == "__main__":  # the child of _generate_pinned: generate the default recipe into the path given
    _write(Path(sys.argv[1]), generate())
