"""``progress.jsonl``, written by the master (or the only process): one line a second while the
test runs, and a last, exact one once every worker has handed over (``shared.progress``)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import IO, Any, Final

import gevent
from locust.env import Environment
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner

from spendcast.loadtest.shared.contract import LIVE_SLO_ENV, STOP_FILE
from spendcast.loadtest.shared.progress import EndpointFigures, Progress, Spread
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.tally import Tally

TICK_SECONDS: Final = 1.0
LIVE_PERCENTILES: Final = (50.0, 95.0, 99.0)


class ProgressWriter:
    """Writes ``recording``'s figures to ``path``; its ``tick`` also ends the run, as the
    ``--run-time`` limit does, once ``--abort-on-fail`` drops ``STOP_FILE`` beside it."""

    def __init__(self, path: Path, recording: Recording) -> None:
        self.path = path
        self.recording = recording
        self.file: IO[str] | None = None
        self.stopping = False
        # --abort-on-fail: also the total, names with several methods, and each figure SLOs use
        slo_env = os.environ.get(LIVE_SLO_ENV)
        self.slo_percentiles = (
            None if slo_env is None else [float(p) for p in slo_env.split(",") if p]
        )

    def figures(self, tally: Tally) -> EndpointFigures:
        percentiles = [*LIVE_PERCENTILES, *(self.slo_percentiles or ())]
        values = tally.histogram.percentiles_ms(percentiles)
        spread = None
        if self.slo_percentiles is not None:
            histogram = tally.histogram
            spread = Spread(histogram.max_ms(), histogram.min_ms(), histogram.mean_ms())
        return EndpointFigures.of(
            tally.requests, tally.failures, [(p, values[p]) for p in percentiles], spread
        )

    def slo_figures(self) -> tuple[EndpointFigures, dict[str, EndpointFigures]]:
        """The total, and each name with several methods."""
        names: dict[str, list[Tally]] = {}
        for key, tally in self.recording.endpoints.items():
            names.setdefault(key.partition(" ")[2], []).append(tally)
        total = _merged(list(self.recording.endpoints.values()))
        routes = {name: _merged(tallies) for name, tallies in names.items() if len(tallies) > 1}
        return self.figures(total), {
            name: self.figures(tally) for name, tally in sorted(routes.items())
        }

    def tick(self, environment: Environment) -> None:
        """Forever (a greenlet): a line a second while the test runs."""
        recording = self.recording
        while True:
            now = time.time()
            recording.close_seconds(now - 1)
            runner = environment.runner
            started = recording.started_at
            if runner is not None and started and started <= now and not recording.stopped_at:
                recording.users[int(now)] = runner.user_count
                self.write(environment, now, final=False)
                if (self.path.parent / STOP_FILE).exists() and not self.stopping:
                    self.stopping = True  # every answer counted, as at the --run-time limit
                    gevent.spawn(runner.quit)
                gevent.sleep(TICK_SECONDS)
            else:
                gevent.sleep(TICK_SECONDS / 4)

    def last(self, environment: Environment) -> None:
        if self.recording.started_at is not None:
            self.write(environment, self.recording.stopped_at or time.time(), final=True)

    def write(self, environment: Environment, now: float, *, final: bool) -> None:
        runner = environment.runner
        recording = self.recording
        assert runner is not None
        assert recording.started_at is not None
        endpoints = {key: self.figures(tally) for key, tally in sorted(recording.endpoints.items())}
        requests = sum(e.requests for e in endpoints.values())
        if final:  # the run's mean (workers' final reports arrive all at once)
            rps = requests / max(now - recording.started_at, 1e-6)
        else:  # the requests of the last second whose every request is known here
            rps = recording.requests_in(int(now) - complete_after_s(runner))
        total, routes = (None, {}) if self.slo_percentiles is None else self.slo_figures()
        line = Progress(
            elapsed=round(now - recording.started_at, 3),
            time=round(now, 3),
            users=0 if final else runner.user_count,
            requests=requests,
            failures=sum(e.failures for e in endpoints.values()),
            rps=round(rps, 2),
            p95_ms=runner.stats.total.get_current_response_time_percentile(0.95),
            endpoints=endpoints,
            dropped=sum(a.dropped for a in recording.arrivals.values()),
            final=final,
            total=total,
            routes=routes,
        )
        if self.file is None:
            self.file = self.path.open("a", encoding="utf-8")
        self.file.write(json.dumps(line.to_json()) + "\n")
        self.file.flush()

    def close(self) -> None:
        """Close the file (a later line opens it again: on SIGTERM, Locust quits first)."""
        if self.file is not None:
            self.file.close()
            self.file = None


def complete_after_s(runner: Any) -> int:
    """How many seconds back a second is complete: the last one here; on a master, the one
    before the workers' latest reports (they report every ``WORKER_REPORT_INTERVAL``: a
    one-second window would read 0 between reports and three times the rate on each)."""
    if isinstance(runner, MasterRunner):
        return math.ceil(WORKER_REPORT_INTERVAL) + 1
    return 1


def _merged(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
