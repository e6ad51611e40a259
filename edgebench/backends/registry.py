"""Backends registered by name; an unknown name lists the valid ones and suggests the closest."""

from __future__ import annotations

from typing import TypeVar

from edgebench.backends.base import Backend
from edgebench.exceptions import BackendUnavailableError, UnknownNameError

_REGISTRY: dict[str, type[Backend]] = {}
B = TypeVar("B", bound=type[Backend])


def register(cls: B) -> B:
    """Class decorator adding a backend under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def list_backends() -> list[str]:
    """Registered backend names, sorted."""
    return sorted(_REGISTRY)


def get_backend(name: str) -> Backend:
    """A fresh instance of the backend registered as ``name``."""
    if name not in _REGISTRY:
        raise UnknownNameError("backend", name, _REGISTRY)
    return _REGISTRY[name]()


def is_available(name: str) -> bool:
    """True when the backend's runtime package imports."""
    try:
        get_backend(name).version()
    except BackendUnavailableError:
        return False
    return True
