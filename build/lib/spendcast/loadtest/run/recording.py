"""What a run measured, request by request: HDR histograms per endpoint and per second.

A ``Recording`` lives in each Locust process that sends requests. Worker processes ``drain()``
what they recorded since their last report and the master ``absorb()``s it, so the merged
recording is the same as if one process had sent every request. Completed seconds are kept
encoded (a few hundred bytes each instead of an HDR counts array) so hour-long runs stay small.

Recording a request only appends its response time to a list (per second and endpoint): the
HDR histograms receive those lists in bulk (``LatencyHistogram.record_all_ms``) when the
tallies are read, which the live progress does once a second. The values recorded are the
same, so the percentiles stay exact; reading ``endpoints`` or ``open_seconds`` (or closing,
draining, writing) first moves what is pending into them, so a reader never sees less than
every request recorded so far.

``recording.json`` (written by the master when Locust quits; ``contract.RECORDING_FILE``)::

    {"schema_version": 1, "unit": "us", "started_at": <epoch s>, "stopped_at": <epoch s>,
     "endpoints": {"GET /predict": {"method": "GET", "name": "/predict", "requests": n,
                                    "failures": n, "histogram": "<HDR base64>"}, ...},
     "seconds": {"<epoch second>": {"requests": n, "failures": n, "histogram": "<HDR base64>"}},
     "users": {"<epoch second>": n},
     "workers": ["<Locust client id>", ...],  # distributed runs: workers that handed over
     "arrivals": {"<epoch second>": {"started": n, "late": n, "dropped": n}},  # open model
     "plan_started_at": <epoch s> | null}  # time 0 of the load plan's stages

Arrivals are keyed by the second an iteration was due (its intended start), requests by the
second they ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.run.latency import LatencyHistogram

SCHEMA_VERSION: Final = 1


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
    ``arrival.LATE_S`` after their slot) and ``dropped`` (never started: no user was free)."""

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
    return f"{method.upper()} {name}"


class _Pending:
    """Response times (ms) of one endpoint in one second, not yet in a histogram."""

    __slots__ = ("failures", "values")

    def __init__(self) -> None:
        self.values: list[float] = []
        self.failures = 0


class Recording:
    """Per-endpoint and per-second tallies, plus the users running each second."""

    def __init__(self) -> None:
        self._endpoints: dict[str, Tally] = {}
        self._open_seconds: dict[int, Tally] = {}
        self.closed_seconds: dict[int, dict[str, Any]] = {}  # second -> encoded Tally
        self.users: dict[int, int] = {}
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.workers: list[str] = []  # distributed: the workers that handed over their last data
        self._arrivals: dict[int, Arrivals] = {}
        # The second ``record_start`` counted last and its entry of ``arrivals``.
        self._arrival_second: int | None = None
        self._arrivals_now = Arrivals()
        self.plan_started_at: float | None = None
        # second -> (method, name) -> what is not yet in the tallies; the current second's map
        self._pending: dict[int, dict[tuple[str, str], _Pending]] = {}
        self._pending_second: int | None = None
        self._pending_now: dict[tuple[str, str], _Pending] = {}

    @property
    def endpoints(self) -> dict[str, Tally]:
        """Tallies by ``endpoint_key``, since the start (or the last drain)."""
        self._flush()
        return self._endpoints

    @property
    def open_seconds(self) -> dict[int, Tally]:
        """Tallies of the seconds not yet closed, by epoch second."""
        self._flush()
        return self._open_seconds

    @property
    def arrivals(self) -> dict[int, Arrivals]:
        """Open-model iterations by the second they were due."""
        return self._arrivals

    @arrivals.setter
    def arrivals(self, arrivals: dict[int, Arrivals]) -> None:
        self._arrivals, self._arrival_second = arrivals, None  # record_start's entry went too

    def record(
        self, method: str, name: str, response_time_ms: float, failed: bool, at: float
    ) -> None:
        """One request (called by every request: the cost is a list append)."""
        second = int(at)
        if second != self._pending_second:
            self._pending_second = second
            self._pending_now = self._pending.setdefault(second, {})
        pending = self._pending_now.get((method, name))
        if pending is None:
            pending = self._pending_now[(method, name)] = _Pending()
        pending.values.append(response_time_ms)
        if failed:
            pending.failures += 1

    def _flush(self) -> None:
        """Move every pending response time into the endpoint and per-second tallies."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        self._pending_second, self._pending_now = None, {}
        for second, by_endpoint in pending.items():
            per_second = self._open_seconds.get(second)
            if per_second is None:
                per_second = self._open_seconds[second] = Tally()
            for (method, name), values in by_endpoint.items():
                part = Tally.of(values.values, values.failures)
                key = endpoint_key(method, name)
                tally = self._endpoints.get(key)
                if tally is None:
                    tally = self._endpoints[key] = Tally()
                tally.merge(part)
                per_second.merge(part)

    def requests_in(self, second: int) -> int:
        """The requests recorded so far that were answered in ``second`` (epoch, whole)."""
        still_open = self.open_seconds.get(second)
        closed = self.closed_seconds.get(second)
        return (still_open.requests if still_open else 0) + (closed["requests"] if closed else 0)

    def record_arrival(self, due: float, *, dropped: bool = False, late: bool = False) -> None:
        """An open-model iteration due at ``due`` (epoch s) started (maybe late) or dropped."""
        if not dropped:
            self.record_start(due, late)
            return
        arrivals = self.arrivals.get(int(due))
        if arrivals is None:
            arrivals = self.arrivals[int(due)] = Arrivals()
        arrivals.dropped += 1

    def record_start(self, due: float, late: bool) -> None:
        """An open-model iteration due at ``due`` started (``late``: more than ``LATE_S`` after).
        Called by every iteration: the entry of the last second counted is kept at hand."""
        second = int(due)
        if second != self._arrival_second:
            arrivals = self._arrivals.get(second)
            if arrivals is None:
                arrivals = self._arrivals[second] = Arrivals()
            self._arrival_second, self._arrivals_now = second, arrivals
        arrivals = self._arrivals_now
        arrivals.started += 1
        if late:
            arrivals.late += 1

    def close_seconds(self, before: float | None = None) -> None:
        """Encode the seconds earlier than ``before`` (all of them when ``None``)."""
        self._flush()
        for second in sorted(self._open_seconds):
            if before is not None and second >= int(before):
                break
            self._add_closed(second, self._open_seconds.pop(second).to_json())

    def _add_closed(self, second: int, encoded: dict[str, Any]) -> None:
        previous = self.closed_seconds.get(second)
        if previous is not None:
            merged = Tally.from_json(previous)
            merged.merge(Tally.from_json(encoded))
            encoded = merged.to_json()
        self.closed_seconds[second] = encoded

    def drain(self, now: float | None = None) -> dict[str, Any]:
        """What was recorded since the last drain, encoded; the recording restarts empty."""
        self.close_seconds(now)
        data = {
            "endpoints": {key: tally.to_json() for key, tally in self._endpoints.items()},
            "seconds": {str(s): encoded for s, encoded in self.closed_seconds.items()},
            "arrivals": {str(s): a.to_json() for s, a in self.arrivals.items()},
        }
        self._endpoints = {}
        self.closed_seconds = {}
        self.arrivals = {}
        return data

    def absorb(self, data: dict[str, Any]) -> None:
        """Merge what another process drained."""
        for key, encoded in data.get("endpoints", {}).items():
            tally = Tally.from_json(encoded)
            if key in self._endpoints:
                self._endpoints[key].merge(tally)
            else:
                self._endpoints[key] = tally
        for second, encoded in data.get("seconds", {}).items():
            self._add_closed(int(second), encoded)
        for second, counts in data.get("arrivals", {}).items():
            self.arrivals.setdefault(int(second), Arrivals()).merge(Arrivals.from_json(counts))

    def to_json(self) -> dict[str, Any]:
        self.close_seconds()
        endpoints: dict[str, Any] = {}
        for key, tally in sorted(self._endpoints.items()):
            method, _, name = key.partition(" ")
            endpoints[key] = {"method": method, "name": name, **tally.to_json()}
        return {
            "schema_version": SCHEMA_VERSION,
            "unit": "us",
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "endpoints": endpoints,
            "seconds": {str(s): self.closed_seconds[s] for s in sorted(self.closed_seconds)},
            "users": {str(s): n for s, n in sorted(self.users.items())},
            "workers": sorted(self.workers),
            "arrivals": {str(s): self.arrivals[s].to_json() for s in sorted(self.arrivals)},
            "plan_started_at": self.plan_started_at,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json()), encoding="utf-8")


@dataclass(frozen=True)
class LoadedRecording:
    """A ``recording.json`` read back: decoded tallies keyed as written."""

    started_at: float
    stopped_at: float
    endpoints: dict[tuple[str, str], Tally]  # (method, name) -> tally
    seconds: dict[int, Tally]
    users: dict[int, int]
    arrivals: dict[int, Arrivals] = field(default_factory=dict)  # open model, by second due
    plan_started_at: float | None = None


def read_recording(path: Path) -> LoadedRecording:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported schema_version {data.get('schema_version')!r}")
    endpoints = {
        (str(e["method"]), str(e["name"])): Tally.from_json(e) for e in data["endpoints"].values()
    }
    seconds = {int(s): Tally.from_json(t) for s, t in data["seconds"].items()}
    users = {int(s): int(n) for s, n in data["users"].items()}
    started = data["started_at"]
    stopped = data["stopped_at"]
    if started is None:
        started = min([*seconds, *users], default=0)
    if stopped is None:
        stopped = max([s + 1 for s in [*seconds, *users]], default=started)
    arrivals = {int(s): Arrivals.from_json(a) for s, a in data.get("arrivals", {}).items()}
    plan_start = data.get("plan_started_at")
    return LoadedRecording(
        float(started), float(stopped), endpoints, seconds, users, arrivals,
        None if plan_start is None else float(plan_start),
    )  # fmt: skip
