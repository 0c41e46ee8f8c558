"""A count of requests and failures with their latencies, and the open model's arrivals.

The units both sides add up: a ``Recording`` keeps a ``Tally`` per endpoint and per second and
``Arrivals`` per second; the summary, the window and the capacity search read them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spendcast.loadtest.shared.latency import LatencyHistogram


@dataclass
class Tally:
    """Requests, failures and their latencies (kept as a histogram or as its encoding)."""

    requests: int = 0
    failures: int = 0
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, response_time_ms: float, failed: bool) -> None:
        self.requests += 1
        self.failures += int(failed)
        self.histogram.record_ms(response_time_ms)

    @classmethod
    def of(cls, response_times_ms: list[float], failures: int) -> Tally:
        """A tally of ``response_times_ms``, recorded in bulk."""
        tally = cls(len(response_times_ms), failures)
        tally.histogram.record_all_ms(response_times_ms)
        return tally

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.histogram.merge(other.histogram)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "histogram": self.histogram.encode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        histogram = LatencyHistogram.decode(str(data["histogram"]))
        return cls(int(data["requests"]), int(data["failures"]), histogram)


@dataclass
class Arrivals:
    """Open-model iterations due in a second: ``started`` (``late`` of them started more than
    ``timetable.LATE_S`` after their slot) and ``dropped`` (never started: no user was free)."""

    started: int = 0
    late: int = 0
    dropped: int = 0

    def merge(self, other: Arrivals) -> None:
        self.started += other.started
        self.late += other.late
        self.dropped += other.dropped

    def to_json(self) -> dict[str, int]:
        return {"started": self.started, "late": self.late, "dropped": self.dropped}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Arrivals:
        return cls(int(data["started"]), int(data["late"]), int(data["dropped"]))


def total_arrivals(arrivals: dict[int, Arrivals]) -> Arrivals:
    total = Arrivals()
    for second in arrivals.values():
        total.merge(second)
    return total


def endpoint_key(method: str, name: str) -> str:
    return f"{method} {name}"  # as the user gave it: Locust shows "manual", not "MANUAL"
