"""Service-level objectives a load test must hold, in the kit's own words or in k6's.

Grammar (spaces ignored around the operator; docs/slo.md shows both dialects side by side)::

    [ENDPOINT:]METRIC OP VALUE[UNIT]

    METRIC   kit: p<N> (p95, p99.9) | mean | max   -> a time: VALUE needs us, ms or s
             k6:  p(<N>) | avg | med | min | max     -> a time: a bare VALUE is ms, as in k6
             errors                                  -> failed / all requests: VALUE needs %
             rate                                    -> the same as a fraction (k6's
                                                        http_req_failed): rate<0.01
             rps                                     -> requests per second ("/s" optional)
             failures                                -> failed requests, a count
             dropped                                 -> iterations the open model could not
                                                        start (whole run only), a count
    OP       < <= > >= == != (k6's === is ==)
    ENDPOINT a request name as the run reports it (a route, or a locustfile's ``name=``),
             with or without its leading slash ("predict", "/predict"), optionally preceded
             by an HTTP method ("POST /predict"); every method of the name otherwise. A name
             may hold spaces, colons and ``?``: the metric follows the LAST colon (no metric
             expression holds one).

Examples: ``p95<50ms``, ``p(95)<200``, ``p99.9<1s``, ``errors<0.1%``, ``rate<0.01``,
``rps>=500``, ``max<2000``, ``dropped==0``, ``POST /predict:p(99)<=300``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from spendcast.errors import SloSyntaxError

OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
TIME_UNITS: Final = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# k6's names -> the kit's (a k6 time metric takes a bare number as milliseconds).
K6_TIMES: Final = {"avg": "mean", "med": "p50", "min": "min", "max": "max"}
COUNTS: Final = ("failures", "dropped")

_METRIC = re.compile(
    r"^\s*(?P<metric>p\(\s*[0-9.]+\s*\)|[A-Za-z][A-Za-z0-9._]*)\s*"
    r"(?P<op>===|==|!=|<=|>=|<|>)\s*"
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*"
    r"(?P<unit>[A-Za-zµ%/]*)\s*$"
)
_PERCENTILE = re.compile(r"^p(?P<value>[0-9]+(?:\.[0-9]+)?)$")
_K6_PERCENTILE = re.compile(r"^p\(\s*(?P<value>[0-9]+(?:\.[0-9]+)?)\s*\)$")
_EXPECTED = (
    "expected [endpoint:]metric<op>value, e.g. 'p95<50ms', 'p(95)<200', 'errors<0.1%', "
    "'rate<0.01', 'rps>=500', 'POST /predict:p99<200ms'"
)


@dataclass(frozen=True)
class Slo:
    """One objective: ``metric`` of ``endpoint`` (``None``: every request) compared to a bound.

    ``metric`` is the kit's name whichever dialect was written: ``"p95"``-style, ``"max"``,
    ``"min"``, ``"mean"``, ``"errors"``, ``"rps"``, ``"failures"`` or ``"dropped"``;
    ``threshold`` is in ms for times, a ratio (0..1) for errors, requests/s for rps, a count
    for failures and dropped.
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

    def describe(self) -> str:
        """``observed 12.3 ms vs threshold < 10 ms`` (a JUnit failure message)."""
        return f"observed {self.describe_observed()} vs threshold {self.slo.describe_threshold()}"

    def describe_observed(self) -> str:
        if self.observed is None:
            return "no request"
        return format_value(self.slo.metric, self.observed)

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SloResult:
        """A result ``as_dict`` wrote, read back as it was judged (not judged again); one that
        gives only its expression (a file written by hand) has it parsed."""
        if "metric" not in data:
            return cls(parse_slo(data["expression"]), data.get("observed"), data["passed"])
        slo = Slo(data["expression"], data["metric"], data["op"], data["threshold"],
                  data.get("endpoint"), data.get("method"))  # fmt: skip
        return cls(slo, data.get("observed"), data["passed"])


def parse_slo(expression: str) -> Slo:
    """Parse one expression; raises ``SloSyntaxError`` (one line) naming the problem."""
    head, colon, tail = expression.rpartition(":")
    match = _METRIC.match(tail)
    if match is None or not expression.strip():
        raise SloSyntaxError(f"cannot read SLO {expression!r}: {_EXPECTED}")
    endpoint, method = _parse_endpoint(expression, head) if colon else (None, None)
    written = re.sub(r"\s+", "", match["metric"].lower())
    op = "==" if match["op"] == "===" else match["op"]
    number = float(match["number"])
    unit = match["unit"].lower()
    metric, threshold = _metric_threshold(expression, written, number, unit)
    if metric == "dropped" and endpoint is not None:
        raise SloSyntaxError(f"{expression!r}: dropped counts the whole run, give no endpoint")
    return Slo(expression.strip(), metric, op, threshold, endpoint, method)


def _metric_threshold(expression: str, written: str, number: float, unit: str) -> tuple[str, float]:
    """The kit's metric name and the threshold in its unit (ms, ratio, rps, count)."""
    k6_percentile = _K6_PERCENTILE.match(written)
    percentile = k6_percentile or _PERCENTILE.match(written)
    if percentile or written in ("mean", *K6_TIMES):
        if percentile and not 0 < float(percentile["value"]) <= 100:
            raise SloSyntaxError(f"{expression!r}: a percentile is between 0 and 100")
        metric = K6_TIMES.get(written, written)
        if percentile:
            metric = f"p{float(percentile['value']):g}"
        k6_style = bool(k6_percentile) or written in K6_TIMES
        if unit == "" and k6_style:
            return metric, number  # k6: milliseconds
        if unit not in TIME_UNITS:
            raise SloSyntaxError(
                f"{expression!r}: give a time unit (us, ms or s) after {number:g}, "
                "or a bare number of ms in k6's form (p(95)<200, avg<100, max<2000)"
            )
        return metric, number * TIME_UNITS[unit]
    if written == "errors":
        if unit != "%":
            raise SloSyntaxError(
                f"{expression!r}: write the error rate as a percentage, e.g. errors<0.1%, "
                "or as a fraction with rate<0.001"
            )
        return "errors", number / 100.0
    if written == "rate":
        if unit != "" or number > 1:
            raise SloSyntaxError(
                f"{expression!r}: rate is the error rate as a fraction 0..1, as k6's "
                "http_req_failed (rate<0.01); or write errors<1%"
            )
        return "errors", number
    if written == "rps":
        if unit not in ("", "/s"):
            raise SloSyntaxError(f"{expression!r}: rps takes a plain number, e.g. rps>=500")
        return "rps", number
    if written in COUNTS:
        if unit != "":
            raise SloSyntaxError(f"{expression!r}: {written} is a count, e.g. {written}<1")
        return written, number
    raise SloSyntaxError(
        f"{expression!r}: unknown metric {written!r} (use p95, p(95), avg, mean, med, min, "
        "max, errors, rate, rps, failures or dropped)"
    )


def _parse_endpoint(expression: str, text: str) -> tuple[str, str | None]:
    """``"POST /predict"`` -> ``("/predict", "POST")``; ``"login page"`` -> as written."""
    text = text.strip()
    first, _, rest = text.partition(" ")
    if first.upper() in HTTP_METHODS and rest.strip():
        return rest.strip(), first.upper()
    if not text:
        raise SloSyntaxError(f"{expression!r}: nothing before ':', give an endpoint or no ':'")
    return text, None


def format_value(metric: str, value: float) -> str:
    """A threshold or observation with its unit: ``12.3 ms``, ``0.05 %``, ``512.0 rps``."""
    if metric == "errors":
        return f"{value * 100:.3g} %"
    if metric == "rps":
        return f"{value:.1f} rps"
    if metric in COUNTS:
        return f"{value:g}"
    if value >= 1000:
        return f"{value / 1000:.3g} s"
    return f"{value:.3g} ms"


@dataclass(frozen=True)
class Observation:
    """What an SLO is checked against: one endpoint's (or the total's) measured figures.

    ``dropped`` is the whole run's (only the total's observation carries it)."""

    requests: int
    failures: int
    rps: float
    percentile_ms: Callable[[float], float | None]
    max_ms: float | None
    mean_ms: float | None
    min_ms: float | None = None
    dropped: int = 0

    def value(self, slo: Slo) -> float | None:
        percentile = slo.percentile
        if percentile is not None:
            return self.percentile_ms(percentile)
        simple: dict[str, float | None] = {
            "max": self.max_ms,
            "min": self.min_ms,
            "mean": self.mean_ms,
            "rps": self.rps,
            "failures": self.failures,
            "dropped": self.dropped,
        }
        if slo.metric in simple:
            return simple[slo.metric]
        return self.failures / self.requests if self.requests else None


ObservationKey = tuple[str, str] | None


def observation_for(
    slo: Slo, observations: Mapping[ObservationKey, Observation]
) -> Observation | None:
    """The observation ``slo`` is about: the total, or its endpoint's under the name as written,
    with a leading slash (``predict`` finds ``/predict``) or without (``/login`` finds a
    locustfile's ``login``)."""
    if slo.endpoint is None:
        return observations.get(None)
    method = slo.method or "*"
    bare = slo.endpoint.lstrip("/")
    names = dict.fromkeys((slo.endpoint, "/" + bare, bare))
    for name in names:
        if (found := observations.get((method, name))) is not None:
            return found
    # Request types are kept as the user's code gave them ("get" from client.request("get")).
    for key, found in observations.items():
        if key is not None and key[1] in names and key[0].upper() == method:
            return found
    return None


def evaluate(slo: Slo, observations: Mapping[ObservationKey, Observation]) -> SloResult:
    """Check ``slo`` against ``observations``: ``None`` is the total, ``(method, name)`` one
    endpoint, ``("*", name)`` a name over all its methods (see ``summary.observations``)."""
    observation = observation_for(slo, observations)
    observed = observation.value(slo) if observation else None
    return SloResult(slo, observed, observed is not None and slo.holds(observed))
