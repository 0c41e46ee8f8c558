"""SLO expressions in both dialects (the kit's, k6's): parsing, error messages, evaluation."""

from __future__ import annotations

import pytest

from spendcast.errors import SloSyntaxError
from spendcast.loadtest.shared.slo import Observation, evaluate, parse_slo


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
        ("predict:p95<50ms", "p95", "<", 50.0, "predict", None),
        ("/health:max<1s", "max", "<", 1000.0, "/health", None),
        ("POST /predict:p99<300ms", "p99", "<", 300.0, "/predict", "POST"),
        # k6: a bare number of a time metric is milliseconds
        ("p(95)<200", "p95", "<", 200.0, None, None),
        ("p(99.9)<=1500", "p99.9", "<=", 1500.0, None, None),
        ("p( 90 ) < 20", "p90", "<", 20.0, None, None),
        ("p(95)<1s", "p95", "<", 1000.0, None, None),
        ("avg<100", "mean", "<", 100.0, None, None),
        ("med<50", "p50", "<", 50.0, None, None),
        ("min>0.5", "min", ">", 0.5, None, None),
        ("max<2000", "max", "<", 2000.0, None, None),
        ("rate<0.01", "errors", "<", 0.01, None, None),
        ("rate==0", "errors", "==", 0.0, None, None),
        ("GET /predict:p(95)<200", "p95", "<", 200.0, "/predict", "GET"),
        ("failures<10", "failures", "<", 10.0, None, None),
        ("dropped<1", "dropped", "<", 1.0, None, None),
        ("dropped==0", "dropped", "==", 0.0, None, None),
        ("dropped===0", "dropped", "==", 0.0, None, None),
        ("rps!=0", "rps", "!=", 0.0, None, None),
        # request names as users write them: spaces, colons, question marks
        ("login page:p(95)<200", "p95", "<", 200.0, "login page", None),
        ("GET /search?q=a:b:rate<0.01", "errors", "<", 0.01, "/search?q=a:b", "GET"),
        ("POST my form: step 2 :max<1s", "max", "<", 1000.0, "my form: step 2", "POST"),
        ("GET:p95<1ms", "p95", "<", 1.0, "GET", None),
        # names a locustfile gave: spaces, query strings, brackets and colons, kept as written
        ("predict random: p95<5ms", "p95", "<", 5.0, "predict random", None),
        ("/predict?[customer]:p99<1s", "p99", "<", 1000.0, "/predict?[customer]", None),
        ("step 2: login:max<1s", "max", "<", 1000.0, "step 2: login", None),
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
        ("mean<10", "time unit"),
        ("p(95)<200kb", "time unit"),
        ("errors<0.1", "percentage"),
        ("rate<1%", "fraction 0..1"),
        ("rate<2", "fraction 0..1"),
        ("rps>=5ms", "plain number"),
        ("dropped<1ms", "is a count"),
        ("predict:dropped<1", "whole run"),
        ("latency<5ms", "unknown metric"),
        ("p0<5ms", "between 0 and 100"),
        ("p(101)<5", "between 0 and 100"),
        ("p95=50ms", "expected [endpoint:]metric"),
        ("p(95)=>200", "expected [endpoint:]metric"),
        ("", "expected [endpoint:]metric"),
        ("   ", "expected [endpoint:]metric"),
        (":p95<1ms", "nothing before ':'"),
        ("GET /predict:", "expected [endpoint:]metric"),
    ],
)
def test_parse_errors_say_what_to_write(expression: str, message: str) -> None:
    with pytest.raises(SloSyntaxError, match=message.replace("[", r"\[")) as error:
        parse_slo(expression)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("kit", "k6"),
    [("p95<200ms", "p(95)<200"), ("mean<100ms", "avg<100"), ("p50<50ms", "med<50"),
     ("max<2s", "max<2000"), ("errors<1%", "rate<0.01")],
)  # fmt: skip
def test_both_dialects_mean_the_same(kit: str, k6: str) -> None:
    a, b = parse_slo(kit), parse_slo(k6)
    assert (a.metric, a.op, a.endpoint) == (b.metric, b.op, b.endpoint)
    assert a.threshold == pytest.approx(b.threshold)


def _observation(requests: int, failures: int, p95: float, dropped: int = 0) -> Observation:
    return Observation(
        requests=requests,
        failures=failures,
        rps=requests / 10,
        percentile_ms=lambda p: p95 if p == 95 else 1.0,
        max_ms=9.0,
        mean_ms=2.0,
        min_ms=0.5,
        dropped=dropped,
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


def test_evaluate_k6_forms_counts_and_names_with_spaces() -> None:
    observations = {
        None: _observation(1000, 3, 40.0, dropped=2),
        ("POST", "my form: step 2"): _observation(10, 3, 80.0),
        ("*", "my form: step 2"): _observation(10, 3, 80.0),
    }
    assert evaluate(parse_slo("p(95)<=40"), observations).passed
    assert not evaluate(parse_slo("p(95)<40"), observations).passed
    assert evaluate(parse_slo("avg<3"), observations).passed
    assert evaluate(parse_slo("med<=1"), observations).passed
    assert evaluate(parse_slo("min>=0.5"), observations).passed
    assert not evaluate(parse_slo("min>0.5"), observations).passed
    rate = evaluate(parse_slo("rate<0.01"), observations)
    assert (rate.passed, rate.observed) == (True, 0.003)
    failures = evaluate(parse_slo("failures<3"), observations)
    assert (failures.passed, failures.observed) == (False, 3)
    dropped = evaluate(parse_slo("dropped==0"), observations)
    assert (dropped.passed, dropped.observed) == (False, 2)
    named = evaluate(parse_slo("POST my form: step 2:p(95)<100"), observations)
    assert (named.passed, named.observed) == (True, 80.0)
    assert not evaluate(parse_slo("my form: step 2:rate<0.1"), observations).passed


def test_failure_messages_show_observed_and_threshold() -> None:
    result = evaluate(parse_slo("p(95)<20"), {None: _observation(10, 0, 40.0)})
    assert result.describe() == "observed 40 ms vs threshold < 20 ms"
    missing = evaluate(parse_slo("health:rate<0.01"), {None: _observation(10, 0, 1.0)})
    assert missing.describe() == "observed no request vs threshold < 1 %"
