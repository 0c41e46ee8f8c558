"""The lines of ``capacity_steps.jsonl``, declared once for both sides of the boundary.

The load shape (``locust/shapes``) appends a line when a step starts (``StepStarted``), when it
ends (``StepEnded``: the capacity step, its figures and what the load generator did), when it
holds the knee while the server is sampled (``KneeHeld``) and when the search is over
(``SearchEnded``); the CLI side (``capacity/``, ``diagnosis/``, the live display, the report)
reads them back with ``step_event``. ``to_json``/``from_json`` are the only places a key is
spelled; readers ignore unknown keys and unknown events. Values are kept as JSON gave them (an
int stays an int), so a line read and written again is the same bytes. Like ``contract``, this
module imports nothing of Locust or the kit's two sides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from spendcast.loadtest.shared.latency import LatencyFigures
from spendcast.loadtest.shared.slo import SloResult

_EVENT = "event"


@dataclass(frozen=True)
class WindowFigures:
    """What a step's windows measured, merged: requests, throughput, errors, latency, and each
    SLO's result over them."""

    requests: int
    failures: int
    seconds: float
    rps: float
    error_rate: float
    latency_ms: LatencyFigures
    slos: tuple[SloResult, ...] = ()

    @property
    def broken(self) -> tuple[SloResult, ...]:
        return tuple(result for result in self.slos if not result.passed)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "seconds": self.seconds,
            "rps": self.rps,
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms.to_json(),
            "slos": [result.as_dict() for result in self.slos],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WindowFigures:
        return cls(
            requests=data["requests"],
            failures=data["failures"],
            seconds=data["seconds"],
            rps=data["rps"],
            error_rate=data["error_rate"],
            latency_ms=LatencyFigures.from_json(data.get("latency_ms", {})),
            slos=tuple(SloResult.from_dict(result) for result in data.get("slos", ())),
        )


@dataclass(frozen=True)
class TimetableCounts:
    """The open model's iterations over a step (``locust/timetable``): sent, started late,
    dropped (no user free), and the most in flight at once."""

    sent: int
    late: int
    dropped: int
    max_in_flight: int


@dataclass(frozen=True)
class GeneratorFigures:
    """The load generator over a step: its users, its busiest CPU, whether that may have been
    the limit (``limited``, said in ``notes``) and, in rate mode, the timetable's counts."""

    users: int
    cpu_percent: float
    limited: bool = False
    notes: tuple[str, ...] = ()
    timetable: TimetableCounts | None = None  # rate mode only

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"users": self.users, "cpu_percent": self.cpu_percent}
        if self.timetable is not None:
            data |= asdict(self.timetable)
        return data | {"limited": self.limited, "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GeneratorFigures:
        counts = [f.name for f in fields(TimetableCounts)]
        timetable = None
        if all(name in data for name in counts):
            timetable = TimetableCounts(**{name: data[name] for name in counts})
        return cls(
            users=data["users"],
            cpu_percent=data["cpu_percent"],
            limited=data.get("limited", False),
            notes=tuple(data.get("notes", ())),
            timetable=timetable,
        )


@dataclass(frozen=True)
class StepStarted:
    """A step began at ``at`` (epoch s): its ``phase`` is ``grow`` or ``bisect``."""

    KIND: ClassVar[str] = "start"
    index: int
    load: float
    phase: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {_EVENT: self.KIND, "index": self.index, "load": self.load, "phase": self.phase,
                "at": self.at}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepStarted:
        return cls(data["index"], data["load"], data["phase"], data["at"])


@dataclass(frozen=True)
class StepEnded:
    """A decided step, the capacity step: its load (users, or iterations/s offered), when it
    ran, its ``verdict`` (``holds``, ``breaks`` or ``flat``) and why, whether its windows agreed
    (``stable``; else the time cap ended it), its figures and the load generator's."""

    KIND: ClassVar[str] = "end"
    index: int
    load: float
    phase: str
    started_at: float
    ended_at: float
    verdict: str
    reason: str
    stable: bool
    figures: WindowFigures
    generator: GeneratorFigures

    def to_json(self) -> dict[str, Any]:
        return {
            _EVENT: self.KIND,
            "index": self.index,
            "load": self.load,
            "phase": self.phase,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "verdict": self.verdict,
            "reason": self.reason,
            "stable": self.stable,
            "figures": self.figures.to_json(),
            "generator": self.generator.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepEnded:
        return cls(
            index=data["index"],
            load=data["load"],
            phase=data["phase"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            verdict=data["verdict"],
            reason=data.get("reason", ""),
            stable=data.get("stable", False),
            figures=WindowFigures.from_json(data["figures"]),
            generator=GeneratorFigures.from_json(data["generator"]),
        )


@dataclass(frozen=True)
class KneeHeld:
    """The search is over: the knee's ``load`` is held ``seconds`` from ``at`` while the
    server is sampled (py-spy)."""

    KIND: ClassVar[str] = "knee"
    load: float
    at: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {_EVENT: self.KIND, "load": self.load, "at": self.at, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KneeHeld:
        return cls(data["load"], data["at"], data["seconds"])


@dataclass(frozen=True)
class SearchEnded:
    """The search stopped at ``at``, for ``reason``."""

    KIND: ClassVar[str] = "done"
    reason: str | None
    at: float

    def to_json(self) -> dict[str, Any]:
        return {_EVENT: self.KIND, "reason": self.reason, "at": self.at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchEnded:
        return cls(data.get("reason"), data["at"])


StepEvent = StepStarted | StepEnded | KneeHeld | SearchEnded
_READERS: dict[str, Callable[[Mapping[str, Any]], StepEvent]] = {
    kind.KIND: kind.from_json for kind in (StepStarted, StepEnded, KneeHeld, SearchEnded)
}


def step_event(data: Mapping[str, Any]) -> StepEvent | None:
    """A line of ``capacity_steps.jsonl``; ``None`` for an event this version does not know."""
    reader = _READERS.get(data.get(_EVENT, ""))
    return None if reader is None else reader(data)
