"""``summary.json`` declared once: one run's results as typed, frozen data (docs/summary-format.md).

``shared/summary`` builds a ``Summary`` from a recording and ``run_files.write_summary`` writes
it; the displays, CI reports, report, compare, history and diagnosis read it back with
``Summary.from_json``. ``to_json``/``from_json`` are the only places a key is spelled: readers
ignore unknown keys and give a key an older file lacks its default. Values are kept as JSON
gave them (an int stays an int), so a file read and written again is the same bytes. Like
``progress``, this module imports nothing of Locust or of either side of the kit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.load_plan import LoadPlan
from spendcast.loadtest.shared.slo import SloResult

_Part = TypeVar("_Part")


@dataclass(frozen=True)
class Latency:
    """``latency_ms``: exact HDR percentiles, max and mean (ms), ``None`` when nothing ran."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None
    max: float | None = None
    mean: float | None = None

    def named(self, name: str) -> float | None:
        """The figure called ``name`` in the file (``"p99_9"``); ``KeyError`` for no figure."""
        value: float | None = self.to_json()[name]
        return value

    def to_json(self) -> dict[str, Any]:
        return {"p50": self.p50, "p90": self.p90, "p95": self.p95, "p99": self.p99,
                "p99_9": self.p99_9, "max": self.max, "mean": self.mean}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Latency:
        data = data or {}
        return cls(data.get("p50"), data.get("p90"), data.get("p95"), data.get("p99"),
                   data.get("p99_9"), data.get("max"), data.get("mean"))  # fmt: skip


@dataclass(frozen=True)
class Figures:
    """Requests, failures, their share, rps and latency: of the run, an endpoint, a stage or a
    slice. ``uncorrected_latency_ms``: the open model's latency from the actual send."""

    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0
    rps: float = 0.0
    latency_ms: Latency = field(default_factory=Latency)
    uncorrected_latency_ms: Latency | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": self.error_rate,
            "rps": self.rps,
            "latency_ms": self.latency_ms.to_json(),
        }
        if self.uncorrected_latency_ms is not None:
            data["uncorrected_latency_ms"] = self.uncorrected_latency_ms.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figures:
        uncorrected = data.get("uncorrected_latency_ms")
        return cls(
            requests=data.get("requests", 0),
            failures=data.get("failures", 0),
            error_rate=data.get("error_rate", 0.0),
            rps=data.get("rps", 0.0),
            latency_ms=Latency.from_json(data.get("latency_ms")),
            uncorrected_latency_ms=None if uncorrected is None else Latency.from_json(uncorrected),
        )


@dataclass(frozen=True)
class EndpointSummary:
    """One request type and name (``GET``, ``/predict``) and its figures."""

    method: str
    name: str
    figures: Figures

    @property
    def label(self) -> str:
        return f"{self.method} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "name": self.name, **self.figures.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointSummary:
        return cls(str(data["method"]), str(data["name"]), Figures.from_json(data))


@dataclass(frozen=True)
class StageSummary:
    """One stage of the load plan: its window (s from the start), target and figures."""

    index: int
    start_s: float
    end_s: float
    target: float
    figures: Figures
    iterations: int | None = None  # open model only
    late: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "start_s": self.start_s, "end_s": self.end_s,
                "target": self.target, **self.figures.to_json(), "iterations": self.iterations,
                "late": self.late, "dropped": self.dropped}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StageSummary:
        return cls(data["index"], data["start_s"], data["end_s"], data["target"],
                   Figures.from_json(data), data.get("iterations"), data.get("late", 0),
                   data.get("dropped", 0))  # fmt: skip


@dataclass(frozen=True)
class SliceSummary:
    """One ``--slice`` of the measured window and its figures."""

    index: int
    start_s: float
    end_s: float
    figures: Figures

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "start_s": self.start_s, "end_s": self.end_s,
                **self.figures.to_json()}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SliceSummary:
        return cls(data["index"], data["start_s"], data["end_s"], Figures.from_json(data))


@dataclass(frozen=True)
class Drift:
    """p99 of the first whole slice against the last (``window.drift`` says how it's judged)."""

    first_ms: float
    last_ms: float
    change: float  # ratio - 1
    p_value: float
    drifted: bool
    metric: str = "p99"

    def describe(self) -> str:
        direction = "up" if self.change > 0 else "down"
        return (
            f"drift: {self.metric} {direction} from {self.first_ms:g} ms in the first slice to "
            f"{self.last_ms:g} ms in the last ({self.change:+.0%}, Mann-Whitney p = "
            f"{self.p_value:.2g} on their per-second {self.metric}s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "first_ms": self.first_ms, "last_ms": self.last_ms,
                "change": self.change, "p_value": self.p_value,
                "drifted": self.drifted}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Drift:
        return cls(data["first_ms"], data["last_ms"], data["change"], data["p_value"],
                   bool(data["drifted"]), data.get("metric", "p99"))  # fmt: skip


@dataclass(frozen=True)
class Second:
    """A row of ``timeseries``: one wall-clock second (``time`` from the start's second).

    ``sample`` ``None``: a file written before the measured window was (cut its ends)."""

    time: int
    users: int | None
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None
    dropped: int = 0
    warmup: bool = False
    sample: bool | None = None

    @property
    def rps(self) -> int:
        return self.requests

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "users": self.users, "requests": self.requests,
                "rps": self.rps, "failures": self.failures, "p50": self.p50, "p95": self.p95,
                "p99": self.p99, "dropped": self.dropped, "warmup": self.warmup,
                "sample": self.sample}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Second:
        return cls(data["time"], data.get("users"), data.get("requests", data.get("rps", 0)),
                   data.get("failures", 0), data.get("p50"), data.get("p95"), data.get("p99"),
                   data.get("dropped", 0), bool(data.get("warmup", False)),
                   data.get("sample"))  # fmt: skip


@dataclass(frozen=True)
class Window:
    """What the figures cover, in seconds from ``timestamp``, and the warm-up's requests."""

    start_s: float
    end_s: float
    warmup_requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"start_s": self.start_s, "end_s": self.end_s,
                "warmup_requests": self.warmup_requests}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Window:
        return cls(data["start_s"], data["end_s"], data.get("warmup_requests", 0))


@dataclass(frozen=True)
class Files:
    """The run directory's files the summary names (``log`` ``None``: ``spendcast ui``'s)."""

    recording: str
    html: str
    csv: tuple[str, ...] = ()
    log: str | None = None
    plots: tuple[str, ...] | None = None  # None: written without plots

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"recording": self.recording, "html": self.html,
                            "csv": list(self.csv), "log": self.log}  # fmt: skip
        if self.plots is not None:
            data["plots"] = list(self.plots)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Files:
        plots = data.get("plots")
        return cls(data["recording"], data["html"], tuple(data.get("csv", ())),
                   data.get("log"), None if plots is None else tuple(plots))  # fmt: skip


@dataclass(frozen=True)
class LocustfileFile:
    path: str
    sha256: str | None


@dataclass(frozen=True)
class LocustfileFacts:
    """``config.locustfile``: the path as typed, each file's hash, the classes and shapes it
    declares; never a value the file holds."""

    path: str
    files: tuple[LocustfileFile, ...]
    available_user_classes: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path,
                "files": [{"path": f.path, "sha256": f.sha256} for f in self.files],
                "available_user_classes": list(self.available_user_classes),
                "shapes": list(self.shapes)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LocustfileFacts:
        files = tuple(LocustfileFile(f["path"], f.get("sha256")) for f in data.get("files", ()))
        return cls(data["path"], files, tuple(data.get("available_user_classes", ())),
                   tuple(data.get("shapes", ())))  # fmt: skip


@dataclass(frozen=True)
class ReplayFacts:
    """``config.replay``: the trace replayed (its source without password) and the speed."""

    source: str
    kind: str  # "inference-log" or "access-log"
    requests: int
    span_s: float
    first_at: str
    speed: float | str  # the factor, or "max"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "requests": self.requests,
                "span_s": self.span_s, "first_at": self.first_at, "speed": self.speed}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReplayFacts:
        return cls(data["source"], data["kind"], data["requests"], data["span_s"],
                   data["first_at"], data["speed"])  # fmt: skip


@dataclass(frozen=True)
class RunSettings:
    """``config``: what the run was asked (no secret), as ``RunConfig.public`` gives it.

    ``users``/``spawn_rate`` ``None`` under a load plan or a locustfile's shape; ``workers``:
    a master's ``--expect-workers``; ``slos``: the expressions as written."""

    host: str = ""
    scenario: str = ""
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: int | None = None
    processes: int | None = None
    workers: int | None = None
    think_time: str | None = None
    slos: tuple[str, ...] = ()
    abort_on_fail: bool = False
    abort_grace_s: float | None = None
    load_plan: LoadPlan | None = None
    locustfile: LocustfileFacts | None = None
    user_classes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    warmup_s: int = 0
    slice_s: int | None = None
    replay: ReplayFacts | None = None

    @property
    def rate_model(self) -> bool:
        """The open model ran: iterations on an arrival timetable (``--rate``/``--stages``)."""
        return self.load_plan is not None and self.load_plan.model == "rate"

    def to_json(self) -> dict[str, Any]:
        plan, locustfile, replay = self.load_plan, self.locustfile, self.replay
        return {
            "host": self.host,
            "scenario": self.scenario,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "duration_s": self.duration_s,
            "processes": self.processes,
            "workers": self.workers,
            "think_time": self.think_time,
            "slos": list(self.slos),
            "abort_on_fail": self.abort_on_fail,
            "abort_grace_s": self.abort_grace_s,
            "load_plan": None if plan is None else plan.to_json(),
            "locustfile": None if locustfile is None else locustfile.to_json(),
            "user_classes": list(self.user_classes),
            "tags": list(self.tags),
            "exclude_tags": list(self.exclude_tags),
            "warmup_s": self.warmup_s,
            "slice_s": self.slice_s,
            "replay": None if replay is None else replay.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSettings:
        plan, locustfile, replay = data.get("load_plan"), data.get("locustfile"), data.get("replay")
        return cls(
            host=data.get("host") or "",
            scenario=data.get("scenario") or "",
            users=data.get("users"),
            spawn_rate=data.get("spawn_rate"),
            duration_s=data.get("duration_s"),
            processes=data.get("processes"),
            workers=data.get("workers"),
            think_time=data.get("think_time"),
            slos=tuple(data.get("slos", ())),
            abort_on_fail=bool(data.get("abort_on_fail", False)),
            abort_grace_s=data.get("abort_grace_s"),
            load_plan=None if plan is None else LoadPlan.from_json(plan),
            locustfile=None if locustfile is None else LocustfileFacts.from_json(locustfile),
            user_classes=tuple(data.get("user_classes", ())),
            tags=tuple(data.get("tags", ())),
            exclude_tags=tuple(data.get("exclude_tags", ())),
            warmup_s=data.get("warmup_s", 0),
            slice_s=data.get("slice_s"),
            replay=None if replay is None else ReplayFacts.from_json(replay),
        )


@dataclass(frozen=True)
class Summary:
    """One run's ``summary.json``: its window, ``config``, figures (``total`` is written at
    the top level), endpoints, stages, seconds, slices and drift, SLO verdicts, abort and files.

    ``iterations`` is ``None`` in the closed model. ``locust_exit_code`` is set once Locust
    ran; ``diagnosis`` (the CLI side's ``Diagnosis.to_json``) only when a run was diagnosed.
    """

    schema_version: int
    spendcast_version: str
    timestamp: str
    finished: str
    duration_s: float
    window: Window
    config: RunSettings
    total: Figures
    iterations: int | None = None
    late: int = 0
    dropped: int = 0
    endpoints: tuple[EndpointSummary, ...] = ()
    stages: tuple[StageSummary, ...] = ()
    timeseries: tuple[Second, ...] = ()
    slices: tuple[SliceSummary, ...] = ()
    drift: Drift | None = None
    slos: tuple[SloResult, ...] = ()
    passed: bool = True
    aborted: bool = False
    abort: Abort | None = None
    files: Files | None = None  # None: built without its run directory
    locust_exit_code: int | None = None
    diagnosis: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "spendcast_version": self.spendcast_version,
            "timestamp": self.timestamp,
            "finished": self.finished,
            "duration_s": self.duration_s,
            "window": self.window.to_json(),
            "config": self.config.to_json(),
            **self.total.to_json(),
            "iterations": self.iterations,
            "late": self.late,
            "dropped": self.dropped,
            "endpoints": [endpoint.to_json() for endpoint in self.endpoints],
            "stages": [stage.to_json() for stage in self.stages],
            "timeseries": [second.to_json() for second in self.timeseries],
            "slices": [part.to_json() for part in self.slices],
            "drift": None if self.drift is None else self.drift.to_json(),
            "slos": [result.as_dict() for result in self.slos],
            "passed": self.passed,
            "aborted": self.aborted,
            "abort": None if self.abort is None else self.abort.as_dict(),
            "files": {} if self.files is None else self.files.to_json(),
        }
        if self.locust_exit_code is not None:
            data["locust_exit_code"] = self.locust_exit_code
        if self.diagnosis is not None:
            data["diagnosis"] = dict(self.diagnosis)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        duration_s = data["duration_s"]
        window, drift, abort = data.get("window"), data.get("drift"), data.get("abort")
        files = data.get("files")
        return cls(
            schema_version=data.get("schema_version", 1),
            spendcast_version=data.get("spendcast_version", ""),
            timestamp=data["timestamp"],
            finished=data.get("finished", data["timestamp"]),
            duration_s=duration_s,
            window=Window(0.0, duration_s) if window is None else Window.from_json(window),
            config=RunSettings.from_json(data.get("config", {})),
            total=Figures.from_json(data),
            iterations=data.get("iterations"),
            late=data.get("late", 0),
            dropped=data.get("dropped", 0),
            endpoints=_each(EndpointSummary.from_json, data.get("endpoints")),
            stages=_each(StageSummary.from_json, data.get("stages")),
            timeseries=_each(Second.from_json, data.get("timeseries")),
            slices=_each(SliceSummary.from_json, data.get("slices")),
            drift=None if drift is None else Drift.from_json(drift),
            slos=_each(SloResult.from_json, data.get("slos")),
            passed=bool(data.get("passed", True)),
            aborted=bool(data.get("aborted", False)),
            abort=None if abort is None else Abort.from_dict(abort),
            files=Files.from_json(files) if files else None,
            locust_exit_code=data.get("locust_exit_code"),
            diagnosis=data.get("diagnosis"),
        )


def _each(
    read: Callable[[Mapping[str, Any]], _Part], items: Sequence[Mapping[str, Any]] | None
) -> tuple[_Part, ...]:
    return tuple(read(item) for item in items or ())
