"""Lazy import of optional runtime packages, turning a missing one into an actionable error."""

from __future__ import annotations

import importlib
from types import ModuleType

from edgebench.exceptions import BackendUnavailableError


def require(module: str, backend: str, extra: str) -> ModuleType:
    """Import ``module`` or raise BackendUnavailableError naming the pip extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise BackendUnavailableError(backend, extra, f"cannot import {module}: {e}") from None
