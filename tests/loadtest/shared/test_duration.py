from __future__ import annotations

import pytest

from spendcast.loadtest.shared.duration import format_duration, parse_duration, parse_think_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("2m", 120),
        ("1h30m", 5400),
        ("1h", 3600),
        ("1m5s", 65),
        ("90", 90),
        (" 3S ", 3),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "0", "0s", "3x", "1.5s", "m", "30s2m", "-5s"])
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "bounds"), [("0", (0, 0)), ("0.1", (0.1, 0.1)), ("0.05-0.2", (0.05, 0.2))]
)
def test_think_time(text: str, bounds: tuple[float, float]) -> None:
    assert parse_think_time(text) == bounds


@pytest.mark.parametrize("text", ["fast", "0.2-0.1", "-1", "0.1-"])
def test_invalid_think_time(text: str) -> None:
    with pytest.raises(ValueError, match="think time"):
        parse_think_time(text)
