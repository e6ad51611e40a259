"""Durations parse once at the boundary, in the forms users type."""

from __future__ import annotations

import pytest

from edgebench.exceptions import ConfigError
from edgebench.units import parse_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("15ms", 15.0),
        ("15", 15.0),
        ("0.015s", 15.0),
        ("2.5 s", 2500.0),
        ("900us", 0.9),
        ("3MS", 3.0),
        ("10min", 600000.0),
    ],
)
def test_durations_become_milliseconds(text: str, ms: float) -> None:
    assert parse_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["", "fast", "-5ms", "0", "15 h", "1e3"])
def test_a_bad_duration_names_the_option_and_the_forms(text: str) -> None:
    with pytest.raises(ConfigError, match=r"--latency '.*' is not a positive duration; write e\.g\. 15ms"):
        parse_ms(text, "--latency")
