"""``--abort-on-fail`` decisions on synthetic live samples: final at once, else after the grace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spendcast.loadtest.shared.abort import Abort, AbortRule, beyond_recovery, live_observations
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.slo import evaluate, parse_slo


def figures(requests: int, failures: int = 0, p95: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"requests": requests, "failures": failures, "p50_ms": 1.0, "p95_ms": p95,
            "p99_ms": p95 * 2, "max_ms": 50.0, "min_ms": 0.5, "mean_ms": 3.0, **extra}  # fmt: skip


def sample(elapsed: float = 3.0, dropped: int = 0, **endpoints: dict[str, Any]) -> Any:
    named = {key.replace("_", " /", 1): value for key, value in endpoints.items()}
    total = figures(sum(f["requests"] for f in named.values()),
                    sum(f["failures"] for f in named.values()),
                    max(f["p95_ms"] for f in named.values()))  # fmt: skip
    line = {"elapsed": elapsed, "users": 1, "requests": total["requests"], "rps": 0.0,
            "failures": total["failures"], "endpoints": named, "total": total,
            "dropped": dropped}  # fmt: skip
    return live_observations(Progress.from_json(line))


@pytest.mark.parametrize(
    ("expression", "final"),
    [
        ("max<40ms", True),  # max only grows
        ("max<=2000", False),  # holds
        ("failures<1", True),
        ("failures==0", True),
        ("failures>5", False),  # not yet reached: more requests may reach it
        ("min>1", True),  # min only falls
        ("rate==0", True),  # one failure and the rate is never 0 again
        ("errors<=0%", True),
        ("rate<0.01", False),  # more successes lower it
        ("p(95)<5", False),
        ("rps>=1000", False),
        ("dropped==0", True),
    ],
)
def test_what_no_later_request_can_mend(expression: str, final: bool) -> None:
    observations = sample(GET_predict=figures(100, failures=2), dropped=1)
    result = evaluate(parse_slo(expression), observations)
    assert beyond_recovery(result) is final
    if final:
        assert not result.passed


def test_final_breaks_abort_at_once_others_after_the_grace() -> None:
    observations = sample(GET_predict=figures(100, failures=2, p95=30.0))
    rule = AbortRule((parse_slo("p(95)<20"), parse_slo("failures<1")), grace_s=10)
    early = rule.check(1.0, observations)
    assert early is not None
    assert (early.result.slo.expression, early.final) == ("failures<1", True)
    assert early.result.observed == 2
    percentile_only = AbortRule((parse_slo("p(95)<20"),), grace_s=10)
    assert percentile_only.check(9.9, observations) is None
    late = percentile_only.check(10.0, observations)
    assert late is not None
    assert (late.final, late.result.observed, late.elapsed_s) == (False, 30.0, 10.0)
    assert late.as_dict()["expression"] == "p(95)<20"
    assert "after the grace period" in late.describe()
    # summary.json's abort reads back as the same Abort (the report describes it).
    assert Abort.from_dict(json.loads(json.dumps(late.as_dict()))) == late


def test_holding_slos_and_endpoints_without_requests_never_abort() -> None:
    observations = sample(GET_predict=figures(100))
    holding = ("p(95)<20", "rate<0.01", "max<2000", "health:p95<1ms", "failures==0")
    rule = AbortRule(tuple(parse_slo(s) for s in holding), grace_s=0)
    assert rule.check(30.0, observations) is None


def test_endpoints_routes_and_total_are_observed_like_the_final_check() -> None:
    endpoints = {"GET /predict": figures(80, p95=10.0), "POST /predict": figures(20, 1, p95=90.0),
                 "GET login page: step 2": figures(5)}  # fmt: skip
    routes = {"/predict": figures(100, 1, p95=60.0)}
    line = {"elapsed": 10.0, "users": 1, "requests": 105, "failures": 1, "rps": 0.0,
            "dropped": 3, "endpoints": endpoints, "total": figures(105, 1, p95=55.0),
            "routes": routes}  # fmt: skip
    observations = live_observations(Progress.from_json(line))
    value = {expression: evaluate(parse_slo(expression), observations).observed
             for expression in ("p(95)<1", "predict:p(95)<1", "POST /predict:p(95)<1",
                                "login page: step 2:p(95)<1", "rps>1", "dropped<1")}  # fmt: skip
    assert value == {"p(95)<1": 55.0, "predict:p(95)<1": 60.0, "POST /predict:p(95)<1": 90.0,
                     "login page: step 2:p(95)<1": 10.0, "rps>1": 10.5, "dropped<1": 3}  # fmt: skip


def test_a_percentile_the_sample_lacks_waits() -> None:
    rule = AbortRule((parse_slo("p(99.9)<1"),), grace_s=0)
    assert rule.percentiles() == [99.9]
    assert rule.check(20.0, sample(GET_predict=figures(100))) is None
    with_it = sample(GET_predict={**figures(100), "p99.9_ms": 5.0})
    assert with_it[None].percentile_ms(99.9) is None  # the total of this sample lacks it
    endpoint = AbortRule((parse_slo("GET /predict:p(99.9)<1"),), grace_s=0)
    abort = endpoint.check(20.0, with_it)
    assert abort is not None
    assert abort.result.observed == 5.0
