"""``summary.json``: one run's results as data (format documented in docs/summary-format.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Final

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.latency import LatencyFigures, LatencyHistogram
from spendcast.loadtest.shared.load_plan import LoadPlan
from spendcast.loadtest.shared.recording_file import LoadedRecording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.run_summary import Files, Summary, Window
from spendcast.loadtest.shared.slo import Observation, Slo, SloResult, evaluate
from spendcast.loadtest.shared.summary_figures import (
    EndpointSummary,
    Figures,
    Second,
    SliceSummary,
    StageSummary,
)
from spendcast.loadtest.shared.tally import Arrivals, Tally, total_arrivals
from spendcast.loadtest.shared.window import Slice, drift, is_sample, slices

SCHEMA_VERSION: Final = 2  # 2: -f, the open model, --abort-on-fail (docs/summary-format.md)
SERIES_PERCENTILES: Final = (50.0, 95.0, 99.0)


def _observation(tally: Tally, seconds: float, dropped: int = 0) -> Observation:
    histogram = tally.histogram
    return Observation(
        requests=tally.requests,
        failures=tally.failures,
        rps=tally.requests / seconds if seconds > 0 else 0.0,
        percentile_ms=histogram.percentile_ms,
        max_ms=histogram.max_ms(),
        mean_ms=histogram.mean_ms(),
        min_ms=histogram.min_ms(),
        dropped=dropped,
    )


def _merge(tallies: Sequence[Tally]) -> Tally:
    total = Tally(histogram=LatencyHistogram())
    for tally in tallies:
        total.merge(tally)
    return total


def observations(recording: LoadedRecording) -> dict[tuple[str, str] | None, Observation]:
    """What SLOs are checked against: the total (``None``, with the run's ``dropped``), each
    ``(method, route)``, and each route over all its methods (``("*", route)``), over the
    measured window (``window``: after the warm-up)."""
    seconds = recording.stopped_at - recording.window_start
    result: dict[tuple[str, str] | None, Observation] = {
        None: _observation(
            _merge(list(recording.endpoints.values())),
            seconds,
            measured_arrivals(recording).dropped,
        )
    }
    routes: dict[str, list[Tally]] = {}
    for (method, name), tally in recording.endpoints.items():
        result[(method, name)] = _observation(tally, seconds)
        routes.setdefault(name, []).append(tally)
    for name, tallies in routes.items():
        result[("*", name)] = _observation(_merge(tallies), seconds)
    return result


def check_slos(recording: LoadedRecording, slos: Sequence[Slo]) -> tuple[SloResult, ...]:
    """Each SLO on the whole run (``dropped``: the open model's, 0 in the closed model)."""
    measured = observations(recording)
    return tuple(evaluate(slo, measured) for slo in slos)


def figures(tally: Tally, seconds: float, uncorrected: Tally | None = None) -> Figures:
    """An endpoint's (or the total's) figures as ``summary.json`` writes them; ``uncorrected``:
    the open model's same requests timed from their actual send, so the queueing before the
    send shows apart from the server's time."""
    return Figures(
        requests=tally.requests,
        failures=tally.failures,
        error_rate=tally.failures / tally.requests if tally.requests else 0.0,
        rps=round(tally.requests / seconds, 3) if seconds > 0 else 0.0,
        latency_ms=LatencyFigures.of(tally.histogram.stats()),
        uncorrected_latency_ms=(
            LatencyFigures.of(uncorrected.histogram.stats())
            if uncorrected and uncorrected.requests
            else None
        ),
    )


def measured_arrivals(recording: LoadedRecording) -> Arrivals:
    """The open model's iterations due in the measured window (after the warm-up)."""
    until = recording.warmup_until
    return total_arrivals(
        {s: a for s, a in recording.arrivals.items() if until is None or s >= until}
    )


def timeseries(recording: LoadedRecording) -> list[Second]:
    """One row per second from the first to the last second anything happened; ``sample``
    false for the warm-up's seconds and the partial ones (``window``)."""
    known = [*recording.seconds, *recording.users]
    if not known:
        return []
    origin = math.floor(recording.started_at)
    rows = []
    users = None
    for second in range(min(known), max(known) + 1):
        users = recording.users.get(second, users)  # sampled once a second: carry it forward
        tally = recording.seconds.get(second, Tally())
        arrivals = recording.arrivals.get(second, Arrivals())
        values = tally.histogram.percentiles_ms(SERIES_PERCENTILES)
        rows.append(
            Second(
                time=second - origin,
                users=users,
                requests=tally.requests,
                failures=tally.failures,
                p50=_rounded(values[50.0]),
                p95=_rounded(values[95.0]),
                p99=_rounded(values[99.0]),
                dropped=arrivals.dropped,
                warmup=recording.warmup_until is not None and second < recording.warmup_until,
                sample=is_sample(recording, second),
            )
        )
    return rows


def stages(recording: LoadedRecording, plan: LoadPlan) -> list[StageSummary]:
    """The figures of each stage of ``plan``: the seconds (requests by the second they ended,
    iterations by the second they were due) split at the stages' bounds; before the first
    stage counts in the first, after the last in the last, so the stages add up to the run."""
    origin = recording.plan_started_at or recording.started_at
    windows = plan.windows()
    tallies = [Tally() for _ in windows]
    arrivals = [Arrivals() for _ in windows]
    warm = recording.warmup_until or -math.inf
    for second, tally in recording.seconds.items():
        if second >= warm:
            tallies[plan.stage_at(second + 0.5 - origin)].merge(tally)
    for second, counts in recording.arrivals.items():
        if second >= warm:
            arrivals[plan.stage_at(second + 0.5 - origin)].merge(counts)
    shift = origin - recording.started_at
    return [
        StageSummary(
            index=index,
            start_s=round(start + shift, 3),
            end_s=round(end + shift, 3),
            target=target,
            figures=figures(tally, end - start),
            iterations=counts.started if plan.model == "rate" else None,
            late=counts.late,
            dropped=counts.dropped,
        )
        for index, ((start, end, target), tally, counts) in enumerate(
            zip(windows, tallies, arrivals, strict=True)
        )
    ]


def _slices(recording: LoadedRecording, parts: Sequence[Slice]) -> tuple[SliceSummary, ...]:
    """``--slice``: the figures of each slice of the measured window."""
    return tuple(
        SliceSummary(
            index=part.index,
            start_s=round(part.start - recording.started_at, 3),
            end_s=round(part.end - recording.started_at, 3),
            figures=figures(part.tally, part.end - part.start),
        )
        for part in parts
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def open_model(recording: LoadedRecording, plan: LoadPlan | None) -> bool:
    """Iterations ran on the arrival timetable: ``--rate`` (``plan``), or a capacity search in
    rate mode, whose shape sets the rate step by step without a plan: it recorded arrivals."""
    return (plan is not None and plan.model == "rate") or bool(recording.arrivals)


def build_summary(
    recording: LoadedRecording,
    config: RunSettings,
    slo_results: Sequence[SloResult] = (),
    files: Files | None = None,
    abort: Abort | None = None,
    plan: LoadPlan | None = None,
    slice_s: int | None = None,
) -> Summary:
    """The whole ``summary.json`` document; ``config`` holds no secret."""
    seconds = recording.stopped_at - recording.window_start
    arrivals = measured_arrivals(recording)
    uncorrected = recording.uncorrected
    endpoints = tuple(
        EndpointSummary(method, name, figures(tally, seconds, uncorrected.get((method, name))))
        for (method, name), tally in sorted(recording.endpoints.items(), key=lambda i: i[0][::-1])
    )
    parts = slices(recording, slice_s) if slice_s else []
    return Summary(
        schema_version=SCHEMA_VERSION,
        spendcast_version=version("spendcast"),
        timestamp=_iso(recording.started_at),
        finished=_iso(recording.stopped_at),
        duration_s=round(recording.stopped_at - recording.started_at, 3),
        window=Window(
            start_s=round(recording.window_start - recording.started_at, 3),
            end_s=round(recording.stopped_at - recording.started_at, 3),
            warmup_requests=sum(t.requests for t in recording.warmup_endpoints.values()),
        ),
        config=config,
        total=figures(
            _merge(list(recording.endpoints.values())),
            seconds,
            _merge(list(uncorrected.values())),
        ),
        iterations=arrivals.started if open_model(recording, plan) else None,
        late=arrivals.late,
        dropped=arrivals.dropped,
        endpoints=endpoints,
        stages=() if plan is None else tuple(stages(recording, plan)),
        timeseries=tuple(timeseries(recording)),
        slices=_slices(recording, parts),
        drift=drift(parts) if slice_s else None,
        slos=tuple(slo_results),
        passed=abort is None and all(result.passed for result in slo_results),
        aborted=abort is not None,
        abort=abort,
        files=files,
    )


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
