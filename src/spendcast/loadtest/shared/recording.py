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

What is written to ``recording.json`` and how it is read back: ``recording_file``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from spendcast.loadtest.shared.recording_file import SCHEMA_VERSION, encoded_endpoints
from spendcast.loadtest.shared.tally import Arrivals, Tally, endpoint_key


class _Pending:
    """Response times (ms) of one endpoint in one second, not yet in a histogram."""

    __slots__ = ("failures", "uncorrected", "values")

    def __init__(self) -> None:
        self.values: list[float] = []
        self.uncorrected: list[float] = []  # open model: from the actual send
        self.failures = 0


class Recording:
    """Per-endpoint and per-second tallies, plus the users running each second."""

    def __init__(self) -> None:
        self._endpoints: dict[str, Tally] = {}
        self._warmup_endpoints: dict[str, Tally] = {}
        # Open model: the same requests timed from their actual send, not the intended start
        self._uncorrected: dict[str, Tally] = {}
        self.warmup_s = 0.0  # --warmup: the measured window starts ``warmup_until``
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

    def restart(self, at: float) -> None:
        """Forget everything recorded: a new test starts at ``at`` (``spendcast ui`` runs one
        test after another in the same process)."""
        Recording.__init__(self)
        self.started_at = at

    @property
    def endpoints(self) -> dict[str, Tally]:
        """Tallies by ``endpoint_key``, since the start (or the last drain)."""
        self._flush()
        return self._endpoints

    @property
    def uncorrected(self) -> dict[str, Tally]:
        """Open model: tallies by ``endpoint_key`` of the measured window's requests timed from
        their actual send (``endpoints`` time them from the iteration's intended start)."""
        self._flush()
        return self._uncorrected

    @property
    def warmup_until(self) -> int | None:
        """The epoch second the measured window starts at (``None``: no warm-up)."""
        if not self.warmup_s or self.started_at is None:
            return None
        return math.ceil(self.started_at + self.warmup_s)

    @property
    def warmup_endpoints(self) -> dict[str, Tally]:
        """Tallies by ``endpoint_key`` of the requests that ended in the warm-up."""
        self._flush()
        return self._warmup_endpoints

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
        self,
        method: str,
        name: str,
        response_time_ms: float,
        failed: bool,
        at: float,
        uncorrected_ms: float | None = None,
    ) -> None:
        """One request (called by every request: the cost is a list append; two in the open
        model, whose ``uncorrected_ms`` is the response time from the actual send)."""
        second = int(at)
        if second != self._pending_second:
            self._pending_second = second
            self._pending_now = self._pending.setdefault(second, {})
        pending = self._pending_now.get((method, name))
        if pending is None:
            pending = self._pending_now[(method, name)] = _Pending()
        pending.values.append(response_time_ms)
        if uncorrected_ms is not None:
            pending.uncorrected.append(uncorrected_ms)
        if failed:
            pending.failures += 1

    def _flush(self) -> None:
        """Move every pending response time into the endpoint and per-second tallies."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        self._pending_second, self._pending_now = None, {}
        warmup_until = self.warmup_until
        for second, by_endpoint in pending.items():
            per_second = self._open_seconds.get(second)
            if per_second is None:
                per_second = self._open_seconds[second] = Tally()
            warm = warmup_until is not None and second < warmup_until
            endpoints = self._warmup_endpoints if warm else self._endpoints
            for (method, name), values in by_endpoint.items():
                part = Tally.of(values.values, values.failures)
                key = endpoint_key(method, name)
                tally = endpoints.get(key)
                if tally is None:
                    tally = endpoints[key] = Tally()
                tally.merge(part)
                per_second.merge(part)
                if values.uncorrected and not warm:
                    sent = self._uncorrected.get(key)
                    if sent is None:
                        sent = self._uncorrected[key] = Tally()
                    sent.merge(Tally.of(values.uncorrected, values.failures))

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
            "warmup_endpoints": {k: t.to_json() for k, t in self._warmup_endpoints.items()},
            "uncorrected": {k: t.to_json() for k, t in self._uncorrected.items()},
            "seconds": {str(s): encoded for s, encoded in self.closed_seconds.items()},
            "arrivals": {str(s): a.to_json() for s, a in self.arrivals.items()},
        }
        self._endpoints = {}
        self._warmup_endpoints = {}
        self._uncorrected = {}
        self.closed_seconds = {}
        self.arrivals = {}
        return data

    def absorb(self, data: dict[str, Any]) -> None:
        """Merge what another process drained."""
        for section, endpoints in (
            ("endpoints", self._endpoints),
            ("warmup_endpoints", self._warmup_endpoints),
            ("uncorrected", self._uncorrected),
        ):
            for key, encoded in data.get(section, {}).items():
                tally = Tally.from_json(encoded)
                if key in endpoints:
                    endpoints[key].merge(tally)
                else:
                    endpoints[key] = tally
        for second, encoded in data.get("seconds", {}).items():
            self._add_closed(int(second), encoded)
        for second, counts in data.get("arrivals", {}).items():
            self.arrivals.setdefault(int(second), Arrivals()).merge(Arrivals.from_json(counts))

    def to_json(self) -> dict[str, Any]:
        self.close_seconds()
        warmup = None
        if self.warmup_until is not None:
            warmup = {
                "until": self.warmup_until,
                "endpoints": encoded_endpoints(self._warmup_endpoints),
            }
        return {
            "schema_version": SCHEMA_VERSION,
            "unit": "us",
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "endpoints": encoded_endpoints(self._endpoints),
            "seconds": {str(s): self.closed_seconds[s] for s in sorted(self.closed_seconds)},
            "users": {str(s): n for s, n in sorted(self.users.items())},
            "workers": sorted(self.workers),
            "arrivals": {str(s): self.arrivals[s].to_json() for s in sorted(self.arrivals)},
            "plan_started_at": self.plan_started_at,
            "warmup": warmup,
            "uncorrected": encoded_endpoints(self._uncorrected),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json()), encoding="utf-8")
