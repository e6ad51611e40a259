"""Trained artefacts that ship with the package and seed the cache, so the default task needs no hours of training
on a new machine: ``edgebench/weights/`` mirrors the cache's layout (``teachers/``, ``estimators/``,
``baselines/``), and each artefact there was made by edgebench's own documented command (the README says which).
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: The shipped artefacts, laid out as the cache is.
SHIPPED = Path(__file__).resolve().parent / "weights"


def seed(cache_dir: Path, relative: Path, marker: str) -> bool:
    """Copy the shipped ``relative`` folder into ``cache_dir`` when the cache's lacks ``marker`` (the file a
    finished folder holds) and the shipped one has it; whether it copied."""
    shipped, cached = SHIPPED / relative, cache_dir / relative
    if (cached / marker).is_file() or not (shipped / marker).is_file():
        return False
    shutil.copytree(shipped, cached, dirs_exist_ok=True)
    return True
