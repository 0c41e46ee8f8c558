"""``summary.json``: one run's results as data (format documented in docs/summary-format.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, Final

from spendcast.loadtest.run.latency import LatencyHistogram
from spendcast.loadtest.run.recording import LoadedRecording, Tally
from spendcast.loadtest.run.slo import Observation, Slo, SloResult, evaluate

SCHEMA_VERSION: Final = 2  # 2: config.scenario may be a locustfile's label; config.locustfile
SERIES_PERCENTILES: Final = (50.0, 95.0, 99.0)


def _observation(tally: Tally, seconds: float) -> Observation:
    histogram = tally.histogram
    return Observation(
        requests=tally.requests,
        failures=tally.failures,
        rps=tally.requests / seconds if seconds > 0 else 0.0,
        percentile_ms=histogram.percentile_ms,
        max_ms=histogram.max_ms(),
        mean_ms=histogram.mean_ms(),
    )


def _merge(tallies: Sequence[Tally]) -> Tally:
    total = Tally(histogram=LatencyHistogram())
    for tally in tallies:
        total.merge(tally)
    return total


def observations(recording: LoadedRecording) -> dict[tuple[str, str] | None, Observation]:
    """What SLOs are checked against: the total (``None``), each ``(method, route)``, and each
    route over all its methods (``("*", route)``)."""
    seconds = recording.stopped_at - recording.started_at
    result: dict[tuple[str, str] | None, Observation] = {
        None: _observation(_merge(list(recording.endpoints.values())), seconds)
    }
    routes: dict[str, list[Tally]] = {}
    for (method, name), tally in recording.endpoints.items():
        result[(method, name)] = _observation(tally, seconds)
        routes.setdefault(name, []).append(tally)
    for name, tallies in routes.items():
        result[("*", name)] = _observation(_merge(tallies), seconds)
    return result


def check_slos(recording: LoadedRecording, slos: Sequence[Slo]) -> tuple[SloResult, ...]:
    measured = observations(recording)
    return tuple(evaluate(slo, measured) for slo in slos)


def _figures(tally: Tally, seconds: float) -> dict[str, Any]:
    return {
        "requests": tally.requests,
        "failures": tally.failures,
        "error_rate": tally.failures / tally.requests if tally.requests else 0.0,
        "rps": round(tally.requests / seconds, 3) if seconds > 0 else 0.0,
        "latency_ms": _latency(tally.histogram),
    }


def _latency(histogram: LatencyHistogram) -> dict[str, float | None]:
    stats = histogram.stats().as_dict()
    stats.pop("count")
    return {key: None if value is None else round(float(value), 3) for key, value in stats.items()}


def timeseries(recording: LoadedRecording) -> list[dict[str, Any]]:
    """One row per second from the first to the last second anything happened."""
    known = [*recording.seconds, *recording.users]
    if not known:
        return []
    origin = math.floor(recording.started_at)
    rows = []
    users = None
    for second in range(min(known), max(known) + 1):
        users = recording.users.get(second, users)  # sampled once a second: carry it forward
        tally = recording.seconds.get(second, Tally())
        values = tally.histogram.percentiles_ms(SERIES_PERCENTILES)
        rows.append(
            {
                "time": second - origin,
                "users": users,
                "requests": tally.requests,
                "rps": tally.requests,
                "failures": tally.failures,
                "p50": _rounded(values[50.0]),
                "p95": _rounded(values[95.0]),
                "p99": _rounded(values[99.0]),
            }
        )
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def build_summary(
    recording: LoadedRecording,
    config: Mapping[str, Any],
    slo_results: Sequence[SloResult] = (),
    files: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole ``summary.json`` document; ``config`` must hold no secret."""
    seconds = recording.stopped_at - recording.started_at
    total = _merge(list(recording.endpoints.values()))
    endpoints = [
        {"method": method, "name": name, **_figures(tally, seconds)}
        for (method, name), tally in sorted(recording.endpoints.items(), key=lambda i: i[0][::-1])
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "spendcast_version": version("spendcast"),
        "timestamp": _iso(recording.started_at),
        "finished": _iso(recording.stopped_at),
        "duration_s": round(seconds, 3),
        "config": dict(config),
        **_figures(total, seconds),
        "endpoints": endpoints,
        "timeseries": timeseries(recording),
        "slos": [result.as_dict() for result in slo_results],
        "passed": all(result.passed for result in slo_results),
        "files": dict(files or {}),
    }


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
