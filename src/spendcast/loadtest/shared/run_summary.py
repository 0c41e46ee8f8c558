"""``summary.json`` declared once: one run's results as typed, frozen data (docs/summary-format.md).

``Summary`` holds its window, files and SLO verdicts, its ``config`` (``run_settings``) and its
figures (``summary_figures``). ``shared/summary`` builds it from a recording and
``run_files.write_summary`` writes it; the displays, CI reports, report, compare, history and
diagnosis read it back (``run_files.read_summary``). ``to_json``/``from_json`` are the only
places a key is spelled: readers ignore unknown keys and give a key an older file lacks its
default. Values are kept as JSON gave them (an int stays an int), so a file read and written
again is the same bytes. Like ``progress``, these modules import nothing of Locust or of either
side of the kit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.slo import SloResult
from spendcast.loadtest.shared.summary_figures import (
    Drift,
    EndpointSummary,
    Figures,
    Second,
    SliceSummary,
    StageSummary,
)

_Part = TypeVar("_Part")


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
            slos=_each(SloResult.from_dict, data.get("slos")),
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
