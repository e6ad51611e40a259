"""Durations parsed once at the boundary: ``15ms``, ``15``, ``0.015s``, ``2.5 s``, ``900us``, ``10min``."""

from __future__ import annotations

import re

from edgebench.exceptions import ConfigError

_MS_PER = {"": 1.0, "ms": 1.0, "s": 1000.0, "min": 60000.0, "us": 1e-3, "µs": 1e-3}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|min|us|µs)?\s*$", re.IGNORECASE)


def parse_ms(text: str, name: str = "latency") -> float:
    """Milliseconds from a number with an optional unit (no unit means ms).

    Raises:
        ConfigError: not a positive duration; the message names ``name`` and the accepted forms.
    """
    match = _DURATION.match(str(text))
    value = float(match.group(1)) * _MS_PER[(match.group(2) or "").lower()] if match else 0.0
    if value <= 0:
        raise ConfigError(
            f"{name} '{text}' is not a positive duration; write e.g. 15ms, 15 (ms), 0.015s, 900us or 10min"
        )
    return value
