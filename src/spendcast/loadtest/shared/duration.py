"""Durations as people type them: ``30s``, ``2m``, ``1h30m``, ``90`` (seconds)."""

from __future__ import annotations

import re
from typing import Final

_UNIT_SECONDS: Final = {"h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str) -> int:
    """Whole seconds in ``text``; raises ``ValueError`` with the accepted forms otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        seconds = int(cleaned)
    else:
        match = _DURATION.match(cleaned)
        if not cleaned or match is None:
            raise ValueError(f"invalid duration {text!r}: use e.g. 30s, 2m, 1h30m or 90")
        seconds = sum(int(match[u] or 0) * factor for u, factor in _UNIT_SECONDS.items())
    if seconds < 1:
        raise ValueError(f"invalid duration {text!r}: at least one second")
    return seconds


def format_duration(seconds: float) -> str:
    """``95 -> "1m35s"``, ``3600 -> "1h"``: the shortest form ``parse_duration`` reads back."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def parse_think_time(text: str) -> tuple[float, float]:
    """A user's pause between requests in seconds: ``"0.1"`` or a range ``"0.05-0.2"``."""
    low, dash, high = text.strip().partition("-")
    try:
        bounds = (float(low), float(high if dash else low))
    except ValueError:
        raise ValueError(f"invalid think time {text!r}: use seconds like 0.1 or 0.05-0.2") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ValueError(f"invalid think time {text!r}: 0 <= low <= high")
    return bounds
