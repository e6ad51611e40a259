"""How an error message names what the user gave: ``--out DIR`` to a CLI user, ``out=`` to a Python caller.

The API's messages name parameters through :func:`option`; the CLI runs every command inside :func:`cli_spelling`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from pathlib import PurePath

_CLI: ContextVar[bool] = ContextVar("edgebench_cli_spelling", default=False)


def option(name: str, value: object = None, python: str | None = None) -> str:
    """``--name [value]`` inside :func:`cli_spelling`, else ``python=value`` (``python`` defaults to ``name`` with
    dashes as underscores), for a message that tells the user what to change."""
    if _CLI.get():  # a flag (value True) is named alone
        return f"--{name}" if value is None or value is True else f"--{name} {value}"
    keyword = python or name.replace("-", "_")
    if value is None:
        return f"{keyword}="
    return f"{keyword}={str(value) if isinstance(value, PurePath | Enum) else value!r}"


@contextmanager
def cli_spelling() -> Iterator[None]:
    """Name options as the CLI spells them in every message raised inside."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)
