"""Output folders owned by one run: each holds a manifest of the command and settings that wrote it, and another
run into it is refused (``--overwrite`` clears it first, deliberately), so no result is overwritten by surprise."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgebench.atomic import write_text_atomic
from edgebench.exceptions import ConfigError
from edgebench.spelling import option
from edgebench.version import __version__

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "edgebench-output.json"
SCHEMA_VERSION = 1


def claim(out: Path, command: str, settings: Mapping[str, Any], overwrite: bool = False) -> Path:
    """Make ``out`` the folder of ``command`` run with ``settings`` (JSON-able; paths as text), or reuse it for the
    same command and settings (a rerun resumes or adds to it); ``overwrite`` clears a folder held otherwise.

    Raises:
        ConfigError: ``out`` holds another run's results, or files edgebench did not write, is not a folder, or
            cannot be written.
    """
    wanted = json.loads(json.dumps(dict(settings), default=str))
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option('out', out)} is a file; give a folder")
    held = _read(out)
    if held is not None and held.get("command") == command and held.get("settings") == wanted:
        return out
    if overwrite and out.is_dir():
        shutil.rmtree(out)
    elif held is not None:
        raise ConfigError(f"{out} holds the results of another run ({_difference(command, wanted, held)}); give "
                          f"another {option('out')}, or {option('overwrite', True)} to replace them")  # fmt: skip
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no edgebench results; give a new or empty "
                          f"{option('out')}, or {option('overwrite', True)} to clear it")  # fmt: skip
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = {"schema_version": SCHEMA_VERSION, "command": command, "settings": wanted,
              "edgebench_version": __version__, "created": created}  # fmt: skip
    try:
        write_text_atomic(out / MANIFEST, json.dumps(record, indent=2) + "\n")
    except OSError as e:
        raise ConfigError(
            f"{option('out', out)} cannot be written ({e.strerror or e}); give a folder you can write"
        ) from None
    return out


def write_tables(out: Path, tables: Mapping[str, pd.DataFrame]) -> None:
    """Each table as ``out/NAME.csv``, and ``candidates`` also as Parquet (the table ``edgebench run`` reads);
    ``results``, the rows of the folder's report, is what ``edgebench report OUT`` renders again."""
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    tables["candidates"].to_parquet(out / "candidates.parquet", index=False)


def _read(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it ({e}); give another {option('out')}, or "
                          f"{option('overwrite', True)} to replace it") from None  # fmt: skip
    return record if isinstance(record, dict) else {}


def _difference(command: str, wanted: dict[str, Any], held: dict[str, Any]) -> str:
    """What the held run did otherwise, as ``name: held -> wanted``."""
    if held.get("command") != command:
        return f"`edgebench {held.get('command')}`, not `edgebench {command}`"
    theirs = held.get("settings") or {}
    keys = sorted(k for k in {*wanted, *theirs} if wanted.get(k) != theirs.get(k))
    return ", ".join(f"{k}: {theirs.get(k)} -> {wanted.get(k)}" for k in keys)
