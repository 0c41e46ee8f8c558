"""The figures ``summary.json`` holds for the run, an endpoint, a stage, a slice or a second,
and the drift between slices: typed, frozen, declared once (see ``run_summary``).

``to_json``/``from_json`` are the only places a key is spelled; readers ignore unknown keys and
give a key an older file lacks its default; values are kept as JSON gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spendcast.loadtest.shared.latency import LatencyFigures


@dataclass(frozen=True)
class Figures:
    """Requests, failures, their share, rps and latency: of the run, an endpoint, a stage or a
    slice. ``uncorrected_latency_ms``: the open model's latency from the actual send."""

    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0
    rps: float = 0.0
    latency_ms: LatencyFigures = field(default_factory=LatencyFigures)
    uncorrected_latency_ms: LatencyFigures | None = None

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
            latency_ms=LatencyFigures.from_json(data.get("latency_ms") or {}),
            uncorrected_latency_ms=None
            if uncorrected is None
            else LatencyFigures.from_json(uncorrected),
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
