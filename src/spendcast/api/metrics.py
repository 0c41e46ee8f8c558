"""Prometheus metrics, correct with several worker processes.

``spendcast serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before workers
start; then every worker writes its values there and ``/metrics`` (answered by any worker)
aggregates them all. Without the variable (an in-process test client) each app keeps its own
registry.

A request is counted in plain per-process tallies (a dict of ints, a list of bucket counts):
updating prometheus's multiprocess values costs a lock and an mmap write per value, several
microseconds a request. The tallies are folded into them by a callback the event loop runs
once per pass, right after the requests of that pass are answered, and before each render:
a scrape sees every request answered before it, in any worker, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.routing import BaseRoute, Mount, Route

from spendcast.api.process_metrics import ServerProcessCollector
from spendcast.monitoring import RecorderStats

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED_ROUTE", "Metrics", "RouteLabels"]


class RouteLabels:
    """The ``route`` label of a request: the template of the route that answered it.

    A FastAPI endpoint (and the ``/predict`` fast path) leaves its route in ``scope["route"]``;
    the routes FastAPI adds itself (``/openapi.json``) and mounted apps (the Swagger UI assets,
    labelled ``/docs/assets/{path}``) do not, so their paths are recognised here. Anything else
    is ``unmatched``, so that random 404 paths cannot grow the label set.
    """

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        routes = list(routes)
        self._paths = frozenset(
            route.path
            for route in routes
            if isinstance(route, Route) and not route.param_convertors
        )
        self._mounts = tuple(
            (route.path, f"{route.path}/{{path}}") for route in routes if isinstance(route, Mount)
        )

    def label(self, route: object, path: str, root_path: str) -> str:
        """``route`` as routing left it in the scope; ``path`` and ``root_path`` as received."""
        template = getattr(route, "path", None)
        if isinstance(template, str):
            return template
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if path in self._paths:
            return path
        for prefix, mounted in self._mounts:
            if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
                return mounted
        return UNMATCHED_ROUTE


class Metrics:
    """The counters, histogram and gauges one app updates."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "spendcast_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=reg,
        )
        self.duration = Histogram(
            "spendcast_http_request_duration_seconds",
            "Time spent answering a request, by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=reg,
        )
        self.predictions = Counter(
            "spendcast_predictions", "Predictions answered (one per row).", registry=reg
        )
        self.predictions_refused = Counter(
            "spendcast_predictions_refused",
            "Predictions answered 503 because the inference log could not keep their row.",
            registry=reg,
        )
        self.recorder_backlog = _gauge("backlog", "Inferences waiting to be written.", reg)
        # How many workers are in each state that makes their /ready answer 503.
        self.recorder_database_unreachable = _gauge(
            "database_unreachable", "Workers whose recorder cannot reach the database.", reg
        )
        self.recorder_journal_degraded = _gauge(
            "journal_degraded", "Workers whose last journal write failed.", reg
        )
        self.recorder_buffer_full = _gauge(
            "buffer_full", "Workers whose memory buffer is full.", reg
        )
        # RecorderStats field -> counter; advanced by the change since the last sync.
        self.recorder_counters = {
            "written": _counter("written", "Inferences written to the database.", reg),
            "spilled": _counter("spilled", "Inferences that went to the journal only.", reg),
            "replayed": _counter("replayed", "Inferences replayed from dead journals.", reg),
            "journal_errors": _counter("journal_errors", "Journal writes that failed.", reg),
            "dropped": _counter("dropped", "Inferences kept in memory only and lost.", reg),
        }
        self._recorder_seen = dict.fromkeys(self.recorder_counters, 0)
        self.model_info = Gauge(
            "spendcast_model_info",
            "The model version served (1) or served before (0).",
            ["version"],
            multiprocess_mode="livemax",
            registry=reg,
        )
        self.model_store_unreachable = Gauge(
            "spendcast_model_store_unreachable",
            "Workers that cannot read the model store (they serve the model they loaded).",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.model_not_current = Gauge(
            "spendcast_model_not_current",
            "Workers not serving the store's current version because it does not load.",
            multiprocess_mode="livesum",
            registry=reg,
        )
        # Tallies not yet folded into the values above (see the module docstring).
        self._counts: dict[tuple[str, str, int], int] = {}
        self._durations: dict[str, list[float]] = {}  # route -> bucket counts..., sum
        self._predictions = 0
        self._refused = 0
        self._fold_due = False
        self._children: dict[tuple[str, str, int], Any] = {}  # label children, cached

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (in the tallies: a few dict and list operations)."""
        key = (method, route, status)
        self._counts[key] = self._counts.get(key, 0) + 1
        tally = self._durations.get(route)
        if tally is None:
            tally = self._durations[route] = [0.0] * (len(BUCKETS) + 2)
        tally[bisect_left(BUCKETS, seconds)] += 1  # the bucket ``Histogram.observe`` picks
        tally[-1] += seconds
        if not self._fold_due:
            self._fold_soon()

    def count_predictions(self, count: int) -> None:
        self._predictions += count
        self._fold_soon()

    def count_refused(self, count: int) -> None:
        self._refused += count
        self._fold_soon()

    def _fold_soon(self) -> None:
        if self._fold_due:
            return
        self._fold_due = True
        try:
            asyncio.get_running_loop().call_soon(self.fold)
        except RuntimeError:  # no event loop (a direct call): fold now
            self.fold()

    def fold(self) -> None:
        """Add the tallies to the prometheus values. Never raises: a failure is logged and
        those counts are lost, as a failed ``inc`` lost its count before."""
        self._fold_due = False
        counts, self._counts = self._counts, {}
        durations, self._durations = self._durations, {}
        predictions, self._predictions = self._predictions, 0
        refused, self._refused = self._refused, 0
        try:
            for key, count in counts.items():
                child = self._children.get(key)
                if child is None:
                    method, route, status = key
                    label = method if method in KNOWN_METHODS else "OTHER"
                    child = self._children[key] = self.requests.labels(label, route, str(status))
                child.inc(count)
            for route, tally in durations.items():
                _observe_all(self.duration.labels(route), tally)
        except Exception:
            logger.exception("could not count %d requests in the metrics", sum(counts.values()))
        for counter, count in (
            (self.predictions, predictions),
            (self.predictions_refused, refused),
        ):
            if count:
                try:
                    counter.inc(count)
                except Exception:
                    logger.exception("could not count %d predictions in the metrics", count)

    def set_model(self, version: str, previous: str | None = None) -> None:
        if previous is not None and previous != version:
            self.model_info.labels(previous).set(0)
        self.model_info.labels(version).set(1)

    def set_model_store(self, reachable: bool, current_served: bool) -> None:
        self.model_store_unreachable.set(0 if reachable else 1)
        self.model_not_current.set(0 if current_served else 1)

    def set_recorder(self, stats: RecorderStats) -> None:
        """Copy this worker's recorder state: gauges set, counters advanced by what is new."""
        self.recorder_backlog.set(stats.backlog)
        self.recorder_database_unreachable.set(0 if stats.database_ok else 1)
        self.recorder_journal_degraded.set(0 if stats.journal_ok else 1)
        self.recorder_buffer_full.set(1 if stats.buffer_full else 0)
        for field, counter in self.recorder_counters.items():
            value: int = getattr(stats, field)
            if value > self._recorder_seen[field]:
                counter.inc(value - self._recorder_seen[field])
                self._recorder_seen[field] = value

    def render(self) -> bytes:
        """The Prometheus text exposition of every worker's values."""
        self.fold()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        _forget_dead_workers(self.multiprocess_dir)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        registry.register(ServerProcessCollector(self.multiprocess_dir))
        return generate_latest(registry)

    def close(self) -> None:
        """Forget this worker's live gauges (its counters stay in the totals)."""
        self.fold()
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]


def _forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of workers that died without ``close()`` (kill -9, OOM): uvicorn
    respawns them, and their last backlog would otherwise stay in the totals forever."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, owned by someone else


def _observe_all(histogram: Any, tally: list[float]) -> None:
    """What one ``observe`` per value would have added: each bucket's count, and the sum.
    (prometheus_client has no public call for values observed in bulk; these are the
    attributes its own ``observe`` updates.)"""
    for index, count in enumerate(tally[:-1]):
        if count:
            histogram._buckets[index].inc(count)
    histogram._sum.inc(tally[-1])


def _counter(name: str, documentation: str, registry: CollectorRegistry) -> Counter:
    return Counter(f"spendcast_recorder_{name}", documentation, registry=registry)


def _gauge(name: str, documentation: str, registry: CollectorRegistry) -> Gauge:
    return Gauge(
        f"spendcast_recorder_{name}", documentation, multiprocess_mode="livesum", registry=registry
    )
