"""``summary.json``'s ``config``: what a run was asked, without secret (``RunSettings``), as
``RunConfig.public`` gives it and every reader reads it back (see ``run_summary``).

``to_json``/``from_json`` are the only places a key is spelled; readers ignore unknown keys and
give a key an older file lacks its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spendcast.loadtest.shared.load_plan import LoadPlan


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
