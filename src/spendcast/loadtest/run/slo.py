"""Service-level objectives a load test must hold, written as short expressions.

Grammar (spaces ignored around the operator)::

    [ENDPOINT:]METRIC OP VALUE[UNIT]

    METRIC   p<N> (p50, p95, p99.9, ...) | max | mean   -> a time: VALUE needs us, ms or s
             errors                                     -> failed / all requests: VALUE needs %
             rps                                        -> requests per second ("/s" optional)
    OP       < <= > >=
    ENDPOINT a request name as the run recorded it (a route, or a locustfile's ``name=``),
             with or without its leading slash ("predict", "/predict"), optionally preceded
             by an HTTP method ("POST /predict"); every method of the name otherwise. It may
             hold spaces, ``?``, brackets and colons: the metric follows the last colon.

Examples: ``p95<50ms``, ``p99<=200ms``, ``p99.9<1s``, ``errors<0.1%``, ``rps>=500``,
``max<2s``, ``predict:p95<50ms``, ``/predict?[customer]:p99<1s``, ``step 2: login:max<1s``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from spendcast.errors import SloSyntaxError

OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
TIME_UNITS: Final = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_EXPRESSION = re.compile(
    r"^\s*(?:(?P<endpoint>.+?)\s*:\s*)?"
    r"(?P<metric>[A-Za-z][A-Za-z0-9._]*)\s*"
    r"(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*"
    r"(?P<unit>[A-Za-zµ%/]*)\s*$"
)
_PERCENTILE = re.compile(r"^p(?P<value>[0-9]+(?:\.[0-9]+)?)$")


@dataclass(frozen=True)
class Slo:
    """One objective: ``metric`` of ``endpoint`` (``None``: every request) compared to a bound.

    ``metric`` is ``"p95"``-style, ``"max"``, ``"mean"``, ``"errors"`` or ``"rps"``;
    ``threshold`` is in ms for times, a ratio (0..1) for errors, requests/s for rps.
    """

    expression: str
    metric: str
    op: str
    threshold: float
    endpoint: str | None = None
    method: str | None = None

    @property
    def percentile(self) -> float | None:
        match = _PERCENTILE.match(self.metric)
        return float(match["value"]) if match else None

    def holds(self, observed: float) -> bool:
        return OPERATORS[self.op](observed, self.threshold)

    def describe_threshold(self) -> str:
        return f"{self.op} {format_value(self.metric, self.threshold)}"


@dataclass(frozen=True)
class SloResult:
    slo: Slo
    observed: float | None  # None: the endpoint saw no request, the SLO cannot hold
    passed: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "expression": self.slo.expression,
            "endpoint": self.slo.endpoint,
            "method": self.slo.method,
            "metric": self.slo.metric,
            "op": self.slo.op,
            "threshold": self.slo.threshold,
            "observed": self.observed,
            "passed": self.passed,
        }


def parse_slo(expression: str) -> Slo:
    """Parse one expression; raises ``SloSyntaxError`` naming the problem."""
    match = _EXPRESSION.match(expression)
    if match is None:
        raise SloSyntaxError(
            f"cannot read SLO {expression!r}: expected [endpoint:]metric<op>value, "
            "e.g. 'p95<50ms', 'errors<0.1%', 'rps>=500', 'predict:p99<200ms'"
        )
    metric = match["metric"].lower()
    number = float(match["number"])
    unit = match["unit"].lower()
    endpoint, method = _parse_endpoint(expression, match["endpoint"])
    if _PERCENTILE.match(metric) or metric in ("max", "mean"):
        percentile = _PERCENTILE.match(metric)
        if percentile and not 0 < float(percentile["value"]) <= 100:
            raise SloSyntaxError(f"{expression!r}: a percentile is between 0 and 100")
        if unit not in TIME_UNITS:
            raise SloSyntaxError(f"{expression!r}: give a time unit (us, ms or s) after {number:g}")
        threshold = number * TIME_UNITS[unit]
    elif metric == "errors":
        if unit != "%":
            raise SloSyntaxError(f"{expression!r}: write the error rate as a percentage, e.g. 0.1%")
        threshold = number / 100.0
    elif metric == "rps":
        if unit not in ("", "/s"):
            raise SloSyntaxError(f"{expression!r}: rps takes a plain number, e.g. rps>=500")
        threshold = number
    else:
        raise SloSyntaxError(
            f"{expression!r}: unknown metric {match['metric']!r} "
            "(use p50, p95, p99, p99.9, ..., max, mean, errors or rps)"
        )
    return Slo(expression.strip(), metric, match["op"], threshold, endpoint, method)


def _parse_endpoint(expression: str, text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    first, _, rest = text.strip().partition(" ")
    method = None
    if rest.strip() and first.upper() in HTTP_METHODS:
        method, text = first.upper(), rest
    return "/" + text.strip().lstrip("/"), method


def format_value(metric: str, value: float) -> str:
    """A threshold or observation with its unit: ``12.3 ms``, ``0.05 %``, ``512.0 rps``."""
    if metric == "errors":
        return f"{value * 100:.3g} %"
    if metric == "rps":
        return f"{value:.1f} rps"
    if value >= 1000:
        return f"{value / 1000:.3g} s"
    return f"{value:.3g} ms"


@dataclass(frozen=True)
class Observation:
    """What an SLO is checked against: one endpoint's (or the total's) measured figures."""

    requests: int
    failures: int
    rps: float
    percentile_ms: Callable[[float], float | None]
    max_ms: float | None
    mean_ms: float | None

    def value(self, slo: Slo) -> float | None:
        percentile = slo.percentile
        if percentile is not None:
            return self.percentile_ms(percentile)
        if slo.metric == "max":
            return self.max_ms
        if slo.metric == "mean":
            return self.mean_ms
        if slo.metric == "rps":
            return self.rps
        return self.failures / self.requests if self.requests else None


def evaluate(slo: Slo, observations: Mapping[tuple[str, str] | None, Observation]) -> SloResult:
    """Check ``slo`` against ``observations``: ``None`` is the total, ``(method, route)`` one
    endpoint, ``("*", route)`` a route over all its methods (see ``summary.observations``)."""
    observation = observations.get(None)
    if slo.endpoint is not None:  # "/predict", else a name given without a slash ("login")
        names = (slo.endpoint, slo.endpoint.removeprefix("/"))
        found = (observations.get((slo.method or "*", name)) for name in names)
        observation = next((o for o in found if o is not None), None)
    observed = observation.value(slo) if observation else None
    return SloResult(slo, observed, observed is not None and slo.holds(observed))
