"""The live figures of ``spendcast ui``: what ``GET /spendcast/stats`` answers and the tab shows.

Computed from the recording hooks' ``Recording`` (on a master, the workers' reports merged
in): per endpoint, the figures ``summary.json`` gives (exact HDR percentiles), since the test
started and since the last reset (the counts at the reset subtracted: ``LatencyHistogram.
without``), each SLO checked as the run's end will check it, and the open model's iterations.
No Locust here: the same functions as the run primitive, on what was recorded so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.recording_file import LoadedRecording
from spendcast.loadtest.shared.slo import Slo
from spendcast.loadtest.shared.summary import check_slos, figures
from spendcast.loadtest.shared.summary_figures import EndpointSummary
from spendcast.loadtest.shared.tally import Tally, total_arrivals


def copy_tallies(endpoints: Mapping[str, Tally]) -> dict[str, Tally]:
    """A snapshot of the tallies (the baseline of a reset)."""
    copies = {}
    for key, tally in endpoints.items():
        copy = Tally()
        copy.merge(tally)
        copies[key] = copy
    return copies


def since(endpoints: Mapping[str, Tally], baseline: Mapping[str, Tally]) -> dict[str, Tally]:
    """What each endpoint recorded since ``baseline`` was taken."""
    result = {}
    for key, tally in endpoints.items():
        before = baseline.get(key)
        if before is None:
            result[key] = tally
        else:
            histogram = tally.histogram.without(before.histogram)
            result[key] = Tally(tally.requests - before.requests,
                                tally.failures - before.failures, histogram)  # fmt: skip
    return result


def scope(endpoints: Mapping[str, Tally], seconds: float) -> dict[str, Any]:
    """The total and each endpoint (sorted as in ``summary.json``), as it writes them."""
    total = Tally()
    for tally in endpoints.values():
        total.merge(tally)
    rows = []
    for key in sorted(endpoints, key=lambda k: k.partition(" ")[::-1]):
        method, _, name = key.partition(" ")
        rows.append(EndpointSummary(method, name, figures(endpoints[key], seconds)).to_json())
    return {"seconds": round(seconds, 3), "total": figures(total, seconds).to_json(),
            "endpoints": rows}  # fmt: skip


@dataclass
class LiveState:
    """What the page shows besides the recording: the test, the reset, the saved runs."""

    slos: tuple[Slo, ...] = ()
    state: str = "ready"
    users: int = 0
    rate: float | None = None
    reset_at: float | None = None
    baseline: dict[str, Tally] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)  # run directories saved, the last last
    saving: bool = False


def document(recording: Recording, live: LiveState, now: float) -> dict[str, Any]:
    """The ``GET /spendcast/stats`` document (docs/summary-format.md)."""
    started = recording.started_at
    stopped = recording.stopped_at if recording.stopped_at is not None else now
    endpoints = dict(recording.endpoints) if started is not None else {}
    elapsed = max(stopped - started, 0.0) if started is not None else 0.0
    reset_at = live.reset_at if live.reset_at is not None else started
    recent = since(endpoints, live.baseline)
    slos = []
    if started is not None and live.slos:
        loaded = LoadedRecording(
            started, stopped,
            {(k.partition(" ")[0], k.partition(" ")[2]): t for k, t in endpoints.items()},
            {}, {}, dict(recording.arrivals),
        )  # fmt: skip
        slos = [
            {**result.as_dict(), "observed_text": result.describe_observed()}
            for result in check_slos(loaded, live.slos)
        ]
    arrivals = total_arrivals(recording.arrivals)
    open_model = None
    if live.rate is not None or recording.arrivals:
        open_model = {
            "rate": live.rate,
            "offered": arrivals.started + arrivals.dropped,
            "started": arrivals.started,
            "late": arrivals.late,
            "dropped": arrivals.dropped,
        }
    return {
        "state": live.state,
        "users": live.users,
        "started_at": started,
        "elapsed_s": round(elapsed, 3),
        "since_start": scope(endpoints, elapsed),
        "since_reset": {
            "reset_at": reset_at,
            **scope(recent, max(stopped - reset_at, 0.0) if reset_at is not None else 0.0),
        },
        "slos": slos,
        "open_model": open_model,
        "saving": live.saving,
        "runs": list(live.runs),
    }
