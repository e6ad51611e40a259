"""Files written whole: into a temp file of the writing process's own, then renamed into place, so a reader never
sees half a file and processes sharing a cache (parallel workers, two searches) never write into one another's
temp. Temps left by a killed writer are removed by the next write of the same file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call ``write(tmp)`` on a temp path beside ``path``, then move it onto ``path``. ``suffix`` ends the temp's
    name, for writers that append one of their own (``np.savez`` adds ``.npz``). A write that raises leaves no temp.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    _remove_orphaned_temps(path)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """:func:`write_atomic` of a UTF-8 text."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _remove_orphaned_temps(path: Path) -> None:
    """Delete ``path``'s temp files whose writing process no longer runs (a kill cut it short)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp*"):
        pid = tmp.name[len(path.name) + 2 :].partition(".")[0]
        if not (pid.isdigit() and _running(int(pid))):
            tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    return True
