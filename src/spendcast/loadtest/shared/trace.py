"""A replay's trace and timetable: the recorded requests, re-timed (pure, both sides).

A ``Trace`` holds each recorded request's method, path and query (``None``: the source kept no
parameters) and its offset from the first one, in the order they came (``run/replay.py`` reads
it from a source). ``OffsetSchedule`` is the open model's timetable of a trace at a speed:
request ``k`` due at ``LEAD_S + offset_k / speed``, and process ``i`` of ``n`` sends the
requests ``k ≡ i (mod n)`` in their order (the ``Timetable`` of ``locust/timetable.py`` hands
them out as it does an ``ArrivalSchedule``'s slots).
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from spendcast.loadtest.shared.load_plan import LoadPlan, Stage
from spendcast.loadtest.shared.run_settings import ReplayFacts

# The first request is due this long after the open model's time 0 (itself a second after the
# start): every process has its users spawned and waiting, even on a busy machine, and none of
# the trace's first requests is dropped for want of a user.
LEAD_S: Final = 1.0
MAX_SPEED: Final = "max"


@dataclass(frozen=True)
class Replayed:
    """One recorded request: when (s after the trace's first), what, and its query string."""

    offset_s: float
    method: str
    path: str
    query: str | None  # None: the source kept no parameters (an access log)


@dataclass(frozen=True)
class Trace:
    requests: tuple[Replayed, ...]
    source: str  # as shown: a path, or a URL without its password
    kind: str  # "inference-log" or "access-log"
    first_at: float  # epoch s of the first request

    @property
    def span_s(self) -> float:
        return self.requests[-1].offset_s

    def offsets(self, speed: float) -> list[float]:
        """When each request is due at ``speed``, from the open model's time 0 (``LEAD_S``)."""
        return [LEAD_S + request.offset_s / speed for request in self.requests]

    def plan(self, speed: float, max_users: int) -> LoadPlan:
        """The open model's plan for the shape and the pool: the trace's length at ``speed``
        and its busiest second's rate (the pool is sized from it)."""
        offsets = self.offsets(speed)
        peak = max(
            bisect.bisect_right(offsets, at + 1.0) - index for index, at in enumerate(offsets)
        )
        duration = math.ceil(offsets[-1] + 0.5)
        return LoadPlan("rate", (Stage(duration, float(peak)),), float(peak), max_users)

    def public(self, speed: float | None) -> ReplayFacts:
        return ReplayFacts(
            source=self.source,
            kind=self.kind,
            requests=len(self.requests),
            span_s=round(self.span_s, 3),
            first_at=datetime.fromtimestamp(self.first_at, UTC).isoformat(),
            speed=MAX_SPEED if speed is None else speed,
        )

    def write(self, path: Path) -> None:
        rows = [[r.offset_s, r.method, r.path, r.query] for r in self.requests]
        data = {"source": self.source, "kind": self.kind, "first_at": self.first_at}
        path.write_text(json.dumps({**data, "requests": rows}), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Trace:
        data = json.loads(path.read_text(encoding="utf-8"))
        requests = tuple(Replayed(float(o), m, p, q) for o, m, p, q in data["requests"])
        return cls(requests, data["source"], data["kind"], float(data["first_at"]))


def parse_speed(text: str) -> float | None:
    """``"2"`` -> 2.0 (twice as fast), ``"max"`` -> ``None`` (as fast as answered)."""
    if text.strip().lower() == MAX_SPEED:
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not 0 < speed < math.inf:
        raise ValueError(f"invalid speed {text!r}: a number above 0 (2: twice as fast) or max")
    return speed


class OffsetSchedule:
    """A trace's timetable: request ``k`` due ``offsets[k]`` s after the origin (ascending)."""

    def __init__(self, offsets: list[float]) -> None:
        self.offsets = offsets

    @property
    def total(self) -> int:
        return len(self.offsets)

    def rate_at(self, t: float) -> float:
        """Requests due per second around ``t`` (the timetable sizes its tick from it)."""
        return float(
            bisect.bisect_right(self.offsets, t + 0.5) - bisect.bisect_left(self.offsets, t - 0.5)
        )

    def slot(self, index: int, processes: int, j: int) -> float | None:
        k = index + j * processes
        return self.offsets[k] if k < len(self.offsets) else None

    def slots_by(self, index: int, processes: int, j: int, until: float, limit: int) -> list[float]:
        found: list[float] = []
        offsets, k = self.offsets, index + j * processes
        while len(found) < limit and k < len(offsets) and offsets[k] <= until:
            found.append(offsets[k])
            k += processes
        return found
