"""What the diagnosis is made of: each declared once, written to and read from JSON here.

``Use`` is what one process (or a remote server's metrics) used over a step; ``StepFigures``
one step as the verdict sees it (load, throughput, latency, errors, both sides' use);
``KneeSamples`` where the server's time went at the knee (py-spy); ``Diagnosis`` the verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Bottleneck = Literal["server-cpu", "server-waiting", "load-generator", "errors", "none"]
BOTTLENECKS: tuple[Bottleneck, ...] = (
    "server-cpu", "server-waiting", "load-generator", "errors", "none",
)  # fmt: skip
Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Use:
    """One process over an interval; ``cpu_percent`` 100 is one full core (user + system)."""

    pid: int
    name: str
    cpu_percent: float
    user_percent: float = 0.0
    system_percent: float = 0.0
    threads: int | None = None
    rss_mb: float | None = None
    fds: int | None = None
    voluntary_switches_per_s: float | None = None
    involuntary_switches_per_s: float | None = None
    queued_percent: float | None = None  # runnable, waiting for a CPU (100: a whole second)

    @property
    def demand_percent(self) -> float:
        """The CPU it wanted: what it used plus what it waited for in the run queue."""
        return self.cpu_percent + (self.queued_percent or 0.0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Use:
        return cls(**data)


@dataclass(frozen=True)
class StepFigures:
    """A load step as the verdict reads it. ``server`` is ``None`` when not observable;
    ``late``/``dropped``/``sent``/``max_in_flight`` only in the open model."""

    index: int
    load: float
    verdict: str  # the search's: holds, flat, breaks
    rps: float
    error_rate: float
    p99_ms: float | None
    mean_ms: float | None
    users: int
    server: tuple[Use, ...] | None = None
    generator: tuple[Use, ...] = ()
    machine_cpu_percent: float | None = None  # every core of this machine, 100 each
    sent: int | None = None
    late: int | None = None
    dropped: int | None = None
    max_in_flight: int | None = None

    @property
    def server_cpu(self) -> float | None:
        return None if self.server is None else sum(u.cpu_percent for u in self.server)

    @property
    def busiest_server(self) -> Use | None:
        return max(self.server, key=lambda u: u.demand_percent) if self.server else None

    @property
    def busiest_generator(self) -> Use | None:
        return max(self.generator, key=lambda u: u.demand_percent) if self.generator else None

    @property
    def in_flight(self) -> float | None:
        """Little's law: the requests in flight on average (throughput × mean latency)."""
        return None if self.mean_ms is None else self.rps * self.mean_ms / 1000.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["in_flight"] = None if self.in_flight is None else round(self.in_flight, 2)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepFigures:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("server") is not None:
            values["server"] = tuple(Use.from_json(u) for u in values["server"])
        values["generator"] = tuple(Use.from_json(u) for u in values.get("generator", ()))
        return cls(**values)


@dataclass(frozen=True)
class Function:
    """A function in the samples: ``share`` of the samples it was in (own: as the leaf)."""

    function: str
    file: str
    line: int | None
    share: float

    def label(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{self.function} ({where})"


@dataclass(frozen=True)
class WaitingStack:
    """Where requests wait: ``frames`` innermost first, up to the application's own frame."""

    frames: tuple[str, ...]
    share: float  # of the waiting samples

    def label(self) -> str:
        """Innermost two frames, then the application's: the library's path between is long."""
        frames = self.frames if len(self.frames) <= 4 else (*self.frames[:2], "…", self.frames[-1])
        return " ← ".join(frames)


@dataclass(frozen=True)
class KneeSamples:
    """py-spy's samples of the server during the knee step. ``busy``: on a CPU; ``waiting``:
    idle in a stack that runs the application's code (a request waiting: a lock, a pool, a
    socket); ``parked``: idle threads outside it (an event loop's select, an idle pool).
    ``on_cpu`` and ``waiting_functions`` rank functions by own time; ``application`` ranks the
    application's functions by total time, ``hot`` the innermost of them in over half the
    samples; ``waiting_stacks`` the commonest waiting stacks. ``error``: why there are none."""

    seconds: float = 0.0
    busy: int = 0
    waiting: int = 0
    parked: int = 0
    on_cpu: tuple[Function, ...] = ()
    waiting_functions: tuple[Function, ...] = ()
    application: tuple[Function, ...] = ()
    hot: Function | None = None
    waiting_stacks: tuple[WaitingStack, ...] = ()
    error: str | None = None

    @property
    def on_cpu_share(self) -> float | None:
        working = self.busy + self.waiting
        return self.busy / working if working else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "on_cpu_share": self.on_cpu_share}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KneeSamples:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("on_cpu", "waiting_functions", "application"):
            values[key] = tuple(Function(**f) for f in values.get(key, ()))
        values["waiting_stacks"] = tuple(
            WaitingStack(tuple(w["frames"]), w["share"]) for w in values.get("waiting_stacks", ())
        )
        if values.get("hot") is not None:
            values["hot"] = Function(**values["hot"])
        return cls(**values)


@dataclass(frozen=True)
class Diagnosis:
    """The verdict: ``bottleneck``, how sure, the figures that decided it in words, what to try,
    the knee step, its top functions, and every step's figures (``server_source``: processes,
    metrics or not observable)."""

    bottleneck: Bottleneck
    confidence: Confidence
    evidence: tuple[str, ...]
    what_to_try: tuple[str, ...]
    knee_step: int | None = None
    top_functions: tuple[Function, ...] = ()
    server_source: str = "not observable"
    knee: KneeSamples | None = None
    steps: tuple[StepFigures, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "bottleneck": self.bottleneck,
            "confidence": self.confidence,
            "evidence": list(self.evidence),
            "what_to_try": list(self.what_to_try),
            "knee_step": self.knee_step,
            "top_functions": [asdict(f) for f in self.top_functions],
            "server_source": self.server_source,
            "knee": None if self.knee is None else self.knee.to_json(),
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnosis:
        knee = data.get("knee")
        return cls(
            bottleneck=data["bottleneck"],
            confidence=data["confidence"],
            evidence=tuple(data["evidence"]),
            what_to_try=tuple(data["what_to_try"]),
            knee_step=data.get("knee_step"),
            top_functions=tuple(Function(**f) for f in data.get("top_functions", ())),
            server_source=data.get("server_source", "not observable"),
            knee=None if knee is None else KneeSamples.from_json(knee),
            steps=tuple(StepFigures.from_json(s) for s in data.get("steps", ())),
        )
