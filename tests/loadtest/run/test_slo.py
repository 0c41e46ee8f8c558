"""SLO expressions: parsing, error messages and evaluation."""

from __future__ import annotations

import pytest

from spendcast.errors import SloSyntaxError
from spendcast.loadtest.run.slo import Observation, evaluate, parse_slo


@pytest.mark.parametrize(
    ("expression", "metric", "op", "threshold", "endpoint", "method"),
    [
        ("p95<50ms", "p95", "<", 50.0, None, None),
        ("p99<=200ms", "p99", "<=", 200.0, None, None),
        ("p99.9<1s", "p99.9", "<", 1000.0, None, None),
        ("p50 < 250us", "p50", "<", 0.25, None, None),
        ("errors<0.1%", "errors", "<", 0.001, None, None),
        ("rps>=500", "rps", ">=", 500.0, None, None),
        ("rps>=500/s", "rps", ">=", 500.0, None, None),
        ("max<2s", "max", "<", 2000.0, None, None),
        ("mean<=10ms", "mean", "<=", 10.0, None, None),
        ("predict:p95<50ms", "p95", "<", 50.0, "/predict", None),
        ("/health:max<1s", "max", "<", 1000.0, "/health", None),
        ("POST /predict:p99<300ms", "p99", "<", 300.0, "/predict", "POST"),
        # Names a locustfile gave: spaces, query strings, brackets and colons.
        ("predict random: p95<5ms", "p95", "<", 5.0, "/predict random", None),
        ("/predict?[customer]:p99<1s", "p99", "<", 1000.0, "/predict?[customer]", None),
        ("step 2: login:max<1s", "max", "<", 1000.0, "/step 2: login", None),
        ("GET /a /b:p95<1ms", "p95", "<", 1.0, "/a /b", "GET"),
    ],
)
def test_parse(
    expression: str,
    metric: str,
    op: str,
    threshold: float,
    endpoint: str | None,
    method: str | None,
) -> None:
    slo = parse_slo(expression)
    assert (slo.metric, slo.op, slo.endpoint, slo.method) == (metric, op, endpoint, method)
    assert slo.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("p95<50", "time unit"),
        ("errors<0.1", "percentage"),
        ("rps>=5ms", "plain number"),
        ("latency<5ms", "unknown metric"),
        ("p0<5ms", "between 0 and 100"),
        ("p101<5ms", "between 0 and 100"),
        ("p95=50ms", "expected [endpoint:]metric"),
        ("", "expected [endpoint:]metric"),
    ],
)
def test_parse_errors_say_what_to_write(expression: str, message: str) -> None:
    with pytest.raises(SloSyntaxError, match=message.replace("[", r"\[")):
        parse_slo(expression)


def _observation(requests: int, failures: int, p95: float) -> Observation:
    return Observation(
        requests=requests,
        failures=failures,
        rps=requests / 10,
        percentile_ms=lambda p: p95 if p == 95 else 1.0,
        max_ms=9.0,
        mean_ms=2.0,
    )


def test_evaluate_total_and_endpoints() -> None:
    observations = {
        None: _observation(1000, 1, 40.0),
        ("GET", "/predict"): _observation(800, 0, 60.0),
        ("*", "/predict"): _observation(800, 0, 60.0),
    }
    assert evaluate(parse_slo("p95<50ms"), observations).passed
    result = evaluate(parse_slo("predict:p95<50ms"), observations)
    assert (result.passed, result.observed) == (False, 60.0)
    assert evaluate(parse_slo("GET /predict:p95<=60ms"), observations).passed
    errors = evaluate(parse_slo("errors<0.1%"), observations)
    assert (errors.passed, errors.observed) == (False, 0.001)
    assert evaluate(parse_slo("errors<=0.1%"), observations).passed
    assert evaluate(parse_slo("rps>=100"), observations).passed
    assert not evaluate(parse_slo("max<9ms"), observations).passed
    assert evaluate(parse_slo("mean<3ms"), observations).passed


def test_names_without_a_slash_match_as_written() -> None:
    observations = {
        None: _observation(10, 0, 1.0),
        ("*", "predict-random"): _observation(5, 0, 7.0),
        ("*", "step 2: login"): _observation(5, 0, 3.0),
    }
    random = evaluate(parse_slo("predict-random:p95<5ms"), observations)
    assert (random.passed, random.observed) == (False, 7.0)
    assert evaluate(parse_slo("step 2: login:p95<5ms"), observations).observed == 3.0
    assert evaluate(parse_slo("/predict-random:p95<=7ms"), observations).passed


def test_an_endpoint_without_requests_fails_its_slo() -> None:
    result = evaluate(parse_slo("health:p95<50ms"), {None: _observation(10, 0, 1.0)})
    assert result.observed is None
    assert not result.passed
