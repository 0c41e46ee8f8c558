"""A run's live figures for dashboards: a Prometheus endpoint and a JSON lines file.

Both are fed the once-a-second ``Progress`` samples of ``run_load`` (``on_progress``), in the
``spendcast loadtest`` process, so they work the same for one process, ``--processes`` and a
distributed master. ``PrometheusExport`` serves ``/metrics``::

    spendcast_loadtest_info{scenario, host}                    1
    spendcast_loadtest_running                                 1 while the run goes, then 0
    spendcast_loadtest_elapsed_seconds, _users, _rps           the last sample
    spendcast_loadtest_requests_total{method, name}            counters since the start
    spendcast_loadtest_failures_total{method, name}
    spendcast_loadtest_response_time_seconds{method, name, quantile}   a summary: exact (HDR)
    spendcast_loadtest_response_time_seconds_count{method, name}       quantiles since the start
    spendcast_loadtest_recent_p95_seconds                      Locust's own, over the last 10 s
    spendcast_loadtest_dropped_total                           open model: iterations dropped

``JsonLinesExport`` appends each sample as one JSON object per line (the fields of
``Progress``), flushed at once, for a log shipper or ``tail -f``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.shared.credentials import public_host
from spendcast.loadtest.shared.progress import EndpointFigures, Progress

PREFIX: Final = "spendcast_loadtest"
QUANTILES: Final = (("0.5", 50.0), ("0.95", 95.0), ("0.99", 99.0))


class _LatestSample(Collector):
    """Renders the latest sample at each scrape."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = dict(labels)
        self.latest: Progress | None = None
        self.running = False

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(f"{PREFIX}_info", "The run being exported.", labels=[*self.labels])
        info.add_metric(list(self.labels.values()), 1)
        yield info
        yield GaugeMetricFamily(
            f"{PREFIX}_running", "1 while the load test runs.", value=int(self.running)
        )
        sample = self.latest
        if sample is None:
            return
        yield from _scalars(sample)
        yield from _endpoints(sample.endpoints)


def _scalars(sample: Progress) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        f"{PREFIX}_elapsed_seconds", "Seconds since the test started.", value=sample.elapsed
    )
    yield GaugeMetricFamily(f"{PREFIX}_users", "Simulated users running.", value=sample.users)
    yield GaugeMetricFamily(f"{PREFIX}_rps", "Requests per second (last second).", value=sample.rps)
    yield CounterMetricFamily(
        f"{PREFIX}_dropped", "Open-model iterations dropped (no free user).", value=sample.dropped
    )
    if sample.p95_ms is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_recent_p95_seconds",
            "Locust's 95th percentile over the last 10 seconds (rounded).",
            value=sample.p95_ms / 1000,
        )


def _endpoints(endpoints: Mapping[str, EndpointFigures]) -> Iterator[Metric]:
    labels = ["method", "name"]
    requests = CounterMetricFamily(f"{PREFIX}_requests", "Requests completed.", labels=labels)
    failures = CounterMetricFamily(f"{PREFIX}_failures", "Requests failed.", labels=labels)
    # A summary (its quantiles computed client-side), as Prometheus expects a "quantile" label
    # to be; it has no _sum, which the live sample does not carry.
    latency = Metric(
        f"{PREFIX}_response_time_seconds",
        "Exact response-time quantiles since the start (HDR histogram, 0.1 % precision).",
        "summary",
    )
    for key, figures in endpoints.items():
        method, _, name = key.partition(" ")
        requests.add_metric([method, name], figures.requests)
        failures.add_metric([method, name], figures.failures)
        endpoint = {"method": method, "name": name}
        for quantile, percentile in QUANTILES:
            value = figures.percentile_ms(percentile)
            if value is not None:
                latency.add_sample(latency.name, {**endpoint, "quantile": quantile}, value / 1000)
        latency.add_sample(f"{latency.name}_count", endpoint, figures.requests)
    yield requests
    yield failures
    yield latency


class PrometheusExport:
    """Serves the latest sample on ``http://host:port/metrics`` while the run goes."""

    def __init__(self, port: int, host: str = "127.0.0.1", labels: Mapping[str, str] = {}) -> None:
        self._collector = _LatestSample(labels)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self._collector)
        self._server, self._thread = start_http_server(port, host, registry)
        self.port: int = self._server.server_address[1]

    def update(self, sample: Progress) -> None:
        self._collector.latest = sample
        self._collector.running = not sample.final

    def start(self) -> None:
        self._collector.running = True

    def close(self) -> None:
        self._collector.running = False
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class JsonLinesExport:
    """Appends each sample to ``path`` as one JSON line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def update(self, sample: Progress) -> None:
        with self._lock:
            self._file.write(json.dumps(sample.to_json()) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class LiveExports:
    """The exports a run asked for (none, one or both), as one context manager."""

    def __init__(
        self,
        config: RunConfig,
        prometheus_port: int | None,
        prometheus_host: str,
        jsonl: Path | None,
    ) -> None:
        self.prometheus = (
            PrometheusExport(
                prometheus_port,
                prometheus_host,
                {"scenario": config.users.scenario, "host": public_host(config.target.host)},
            )
            if prometheus_port is not None
            else None
        )
        self.jsonl = JsonLinesExport(jsonl) if jsonl is not None else None

    def __enter__(self) -> LiveExports:
        if self.prometheus is not None:
            self.prometheus.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for export in (self.prometheus, self.jsonl):
            if export is not None:
                export.close()

    def update(self, sample: Progress) -> None:
        for export in (self.prometheus, self.jsonl):
            if export is not None:
                export.update(sample)
