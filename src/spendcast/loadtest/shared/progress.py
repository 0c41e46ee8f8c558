"""The live progress line (``progress.jsonl``), declared once for both sides of the boundary.

The Locust side (``locust/progress_writer``) writes one ``Progress`` a second and a last, exact
one; the CLI side (``run/process``, ``run/abort``, ``run/live_export``, the displays) reads
them back.
``to_json``/``from_json`` are the only places a key is spelled; readers ignore unknown keys.
Values are kept as JSON gave them (an int stays an int), so a line read and written again is
the same bytes. Like ``contract``, this module imports nothing of Locust or the kit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_PERCENTILE_KEY = re.compile(r"^p(.+)_ms$")


def percentile_label(percentile: float) -> str:
    """How a percentile is named in a line (``99.9`` -> ``"99.9"``, ``50.0`` -> ``"50"``)."""
    return f"{percentile:g}"


@dataclass(frozen=True)
class Spread:
    """Max, min and mean (ms), written only under ``--abort-on-fail`` (contract.LIVE_SLO_ENV)."""

    max_ms: float | None
    min_ms: float | None
    mean_ms: float | None


@dataclass(frozen=True)
class EndpointFigures:
    """Exact figures since the start of one endpoint (or the total, or a route).

    ``percentiles_ms`` maps a ``percentile_label`` to its value, in the order written."""

    requests: int
    failures: int
    percentiles_ms: Mapping[str, float | None] = field(default_factory=dict)
    spread: Spread | None = None

    @classmethod
    def of(
        cls,
        requests: int,
        failures: int,
        percentiles_ms: Iterable[tuple[float, float | None]],
        spread: Spread | None = None,
    ) -> EndpointFigures:
        """Figures from percentile values (a percentile listed twice is written once)."""
        labelled: dict[str, float | None] = {}
        for percentile, value in percentiles_ms:
            labelled.setdefault(percentile_label(percentile), value)
        return cls(requests, failures, labelled, spread)

    def percentile_ms(self, percentile: float) -> float | None:
        value = self.percentiles_ms.get(percentile_label(percentile))
        return None if value is None else float(value)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"requests": self.requests, "failures": self.failures}
        data |= {f"p{label}_ms": value for label, value in self.percentiles_ms.items()}
        if self.spread is not None:
            data |= {"max_ms": self.spread.max_ms, "min_ms": self.spread.min_ms,
                     "mean_ms": self.spread.mean_ms}  # fmt: skip
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointFigures:
        percentiles = {
            match[1]: value for key, value in data.items() if (match := _PERCENTILE_KEY.match(key))
        }
        spread = None
        if "max_ms" in data:
            spread = Spread(data["max_ms"], data.get("min_ms"), data.get("mean_ms"))
        return cls(int(data.get("requests", 0)), int(data.get("failures", 0)), percentiles, spread)


@dataclass(frozen=True)
class Progress:
    """One live sample from the running Locust (a line of ``progress.jsonl``, once a second).

    ``p95_ms`` is Locust's own (rounded, last 10 s); ``endpoints`` hold exact counts and
    percentiles since the start, keyed ``"GET /predict"``; the ``final`` sample is written once
    every request is counted (its ``rps`` is the run's mean). With ``--abort-on-fail`` they
    also hold max/min/mean and every SLO percentile, and ``total`` and ``routes`` (names with
    several methods) the same figures (``Gates.abort_on_fail`` of the run, contract.LIVE_SLO_ENV).
    """

    elapsed: float
    users: int
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    time: float = 0.0
    endpoints: Mapping[str, EndpointFigures] = field(default_factory=dict)
    dropped: int = 0  # open model: iterations dropped so far
    final: bool = False
    total: EndpointFigures | None = None  # with routes, only under --abort-on-fail
    routes: Mapping[str, EndpointFigures] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "elapsed": self.elapsed,
            "time": self.time,
            "users": self.users,
            "requests": self.requests,
            "failures": self.failures,
            "rps": self.rps,
            "p95_ms": self.p95_ms,
            "endpoints": {key: figures.to_json() for key, figures in self.endpoints.items()},
            "dropped": self.dropped,
            "final": self.final,
        }
        if self.total is not None:
            line["total"] = self.total.to_json()
            line["routes"] = {name: figures.to_json() for name, figures in self.routes.items()}
        return line

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Progress:
        total = data.get("total")
        return cls(
            elapsed=data["elapsed"],
            users=data["users"],
            requests=data["requests"],
            failures=data["failures"],
            rps=data["rps"],
            p95_ms=data.get("p95_ms"),
            time=data.get("time", 0.0),
            endpoints=_figures(data.get("endpoints", {})),
            dropped=data.get("dropped", 0),
            final=bool(data.get("final", False)),
            total=None if total is None else EndpointFigures.from_json(total),
            routes=_figures(data.get("routes", {})),
        )


def _figures(data: Mapping[str, Mapping[str, Any]]) -> dict[str, EndpointFigures]:
    return {key: EndpointFigures.from_json(figures) for key, figures in data.items()}
