"""The capacity search's decisions, fed a simulated server second by second (no Locust)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from spendcast.loadtest.shared.search import CapacitySearch, SearchPlan, parse_growth
from spendcast.loadtest.shared.tally import Tally

Server = Callable[[float, int], tuple[int, float]]  # (load, second) -> (requests, latency ms)
REPORT_EVERY = 3  # Locust's WORKER_REPORT_INTERVAL (s)


def closed_server(users: float, second: int) -> tuple[int, float]:
    """One request at a time, 10 ms each: 100 req/s whatever the users; they queue."""
    return 100, 10.0 * users


def open_server(rate: float, second: int) -> tuple[int, float]:
    """Holds 100 req/s; above, the backlog (and so the latency) grows every second."""
    if rate <= 100:
        return int(rate), 10.0
    return 100, 10.0 + 1000.0 * (rate - 100) / 100 * (second % 100 + 1)


def simulate(
    plan: SearchPlan,
    server: Server,
    limit_s: int = 600,
    report_phases: tuple[int, ...] = (),
    settled_s: int = 1,
) -> CapacitySearch:
    """The search fed ``server``'s seconds. ``report_phases``: as a Locust master hears of
    them, from one worker per phase sending an equal share of the requests and reporting every
    ``REPORT_EVERY`` seconds, when the second's number modulo it is its phase."""
    search = CapacitySearch(plan)
    seconds: dict[int, Tally] = {}
    workers = len(report_phases) or 1
    unreported: list[dict[int, Tally]] = [{} for _ in range(workers)]
    now = 1000.0
    load: float | None = search.start(now)
    while load is not None and now < 1000 + limit_s:
        now += 1
        second = int(now) - 1
        requests, latency = server(load, second)
        for worker in range(workers):
            tally = unreported[worker][second] = Tally()
            for _ in range(requests // workers):
                tally.add(latency, failed=False)
        for worker in range(workers):
            if not report_phases or int(now) % REPORT_EVERY == report_phases[worker]:
                for number, tally in unreported[worker].items():
                    seconds.setdefault(number, Tally()).merge(tally)
                unreported[worker].clear()
        load = search.update(now, seconds.get, settled_s)
    assert load is None, "the search did not end"
    return search


def test_growth_parses_multiplication_and_addition() -> None:
    assert parse_growth("x2") == ("x", 2.0)
    assert parse_growth("*1.5") == ("x", 1.5)
    assert parse_growth("+25") == ("+", 25.0)
    for bad in ("2", "x1", "+0", "x"):
        with pytest.raises(ValueError, match="growth"):
            parse_growth(bad)


def test_plan_refuses_per_endpoint_and_rps_slos() -> None:
    with pytest.raises(ValueError, match="every request"):
        SearchPlan(slos=("predict:p99<100ms",))
    with pytest.raises(ValueError, match="every request"):
        SearchPlan(slos=("rps>=10",))


def test_users_grow_until_throughput_stops_growing() -> None:
    search = simulate(SearchPlan(mode="users", start=1, slos=("p99<100ms",)), closed_server)
    assert [(s.load, s.verdict) for s in search.steps] == [(1, "holds"), (2, "flat")]
    assert all(s.stable for s in search.steps)
    assert search.steps[0].rps == pytest.approx(100)
    assert "stopped growing at 2 users" in (search.stop_reason or "")


def test_seconds_reported_every_few_seconds_are_read_once_settled() -> None:
    """Two workers report to their master every 3 s, each at its own phase. A step decided
    at its time cap (its windows never agreed) is measured on its last windows: read 4 s after
    they ended, each second holds both workers' requests; read 1 s after, one may be missing a
    worker's half."""

    def noisy(load: float, second: int) -> tuple[int, float]:
        return (60 if second % 2 else 140), 10.0

    plan = SearchPlan(start=1, slos=("p99<100ms",), max_steps=1, window_s=1, max_step_s=9)
    whole = {60 + 140 + 60, 140 + 60 + 140}  # three complete seconds, whichever come last
    for phases in ((0, 1), (0, 2), (1, 2)):
        (settled,) = simulate(plan, noisy, report_phases=phases, settled_s=4).steps
        assert not settled.stable
        assert settled.figures is not None
        assert settled.figures.requests in whole
    (unsettled,) = simulate(plan, noisy, report_phases=(0, 2), settled_s=1).steps
    assert unsettled.figures is not None
    assert unsettled.figures.requests not in whole


def test_users_stop_at_the_first_step_breaking_the_slo_then_bisect() -> None:
    plan = SearchPlan(mode="users", start=1, slos=("p99<45ms",), min_growth=-1, bisect=3)
    search = simulate(plan, closed_server)
    grown = [(s.load, s.verdict) for s in search.steps if s.phase == "grow"]
    assert grown == [(1, "holds"), (2, "holds"), (4, "holds"), (8, "breaks")]
    bisected = [(s.load, s.verdict) for s in search.steps if s.phase == "bisect"]
    assert bisected == [(6, "breaks"), (5, "breaks")]  # 4 held, 5 broke: nothing left between
    assert search.good is not None
    assert search.good.load == 4


def test_the_knee_to_hold_for_sampling_is_the_lowest_load_that_failed() -> None:
    plan = SearchPlan(mode="users", start=1, slos=("p99<45ms",), min_growth=-1, bisect=3)
    assert simulate(plan, closed_server).knee_load() == 5  # 8 and 6 broke too, higher
    flat = simulate(SearchPlan(mode="users", start=1, slos=("p99<100ms",)), closed_server)
    assert flat.knee_load() == 2
    held = simulate(SearchPlan(mode="users", start=1, slos=("p99<1s",), min_growth=-1,
                               max_steps=2), closed_server)  # fmt: skip
    assert held.knee_load() is None
    assert SearchPlan(knee_s=5).max_duration_s() == SearchPlan().max_duration_s() + 5


def test_rate_search_brackets_the_capacity_of_an_open_server() -> None:
    plan = SearchPlan(mode="rate", start=25, growth="+25", slos=("p99<100ms",), bisect=3,
                      max_step_s=12)  # fmt: skip
    search = simulate(plan, open_server)
    assert search.good is not None
    assert search.bad is not None
    assert 87.5 <= search.good.load <= 100 < search.bad.load <= 112.5
    broken = [s for s in search.steps if s.verdict == "breaks"]
    assert all("p99" in s.reason or "answered" in s.reason for s in broken)


def test_an_unsteady_step_is_decided_at_the_time_cap() -> None:
    def noisy(load: float, second: int) -> tuple[int, float]:
        return (50 if second % 2 else 150), 10.0

    plan = SearchPlan(start=1, slos=("p99<100ms",), max_steps=1, window_s=1, max_step_s=9)
    search = simulate(plan, noisy)
    (step,) = search.steps
    assert not step.stable
    assert step.verdict == "holds"
    assert "no break" in (search.stop_reason or "")
