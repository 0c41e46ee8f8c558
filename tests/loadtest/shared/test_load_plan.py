"""The load plan, pure: stage parsing, the rate at t, iteration times, the split, the pool."""

from __future__ import annotations

import math

import pytest

from spendcast.loadtest.shared.load_plan import (
    MIN_LATENCY_S,
    SPARE_USERS,
    ArrivalSchedule,
    LoadPlan,
    Stage,
    parse_stages,
)


def test_stages_parse_as_people_write_them() -> None:
    assert parse_stages("30s:50,2m:200, 30s:0") == (Stage(30, 50), Stage(120, 200), Stage(30, 0))
    assert parse_stages("1m:2.5") == (Stage(60, 2.5),)
    assert str(Stage(90, 2.5)) == "1m30s:2.5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30s", "DURATION:TARGET"),
        ("30s:fast", "is a number"),
        ("30s:-1", "0 or more"),
        ("3x:10", "invalid duration"),
        ("30s:10,", "DURATION:TARGET"),
        ("0s:10", "at least one second"),
        ("30s:inf", "0 or more"),
    ],
)
def test_bad_stages_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_stages(text)


def test_a_constant_rate_is_due_every_interval_until_the_end() -> None:
    schedule = LoadPlan.constant_rate(40, 10, 100).schedule()
    times = [schedule.time_of(k) for k in range(400)]
    assert times[:3] == [0.0, 0.025, 0.05]
    assert times[-1] == pytest.approx(9.975)
    assert schedule.time_of(400) is None  # 40/s x 10 s: exactly 400
    assert schedule.rate_at(5) == 40
    assert schedule.due_by(2.5) == pytest.approx(100)


def test_a_ramp_is_linear_and_its_iterations_follow_the_integral() -> None:
    plan = LoadPlan("rate", parse_stages("10s:100,10s:100,10s:0"), start=0)
    schedule = plan.schedule()
    assert plan.target_at(5) == pytest.approx(50)
    assert plan.target_at(15) == 100
    assert plan.target_at(25) == pytest.approx(50)
    assert plan.target_at(31) == 0
    # 0 -> 100/s over 10 s: 500 due, then 1000, then 500: 2000 in all.
    assert schedule.total == pytest.approx(2000)
    assert sum(1 for k in range(2100) if schedule.time_of(k) is not None) == 2000
    for k in (1, 100, 499, 500, 1234, 1500, 1999):
        t = schedule.time_of(k)
        assert t is not None
        assert schedule.due_by(t) == pytest.approx(k, abs=1e-6)
    # Iterations bunch where the rate is high: intervals shrink along the ramp.
    t1, t2, t3, t4 = (schedule.time_of(k) or 0.0 for k in (10, 11, 498, 499))
    assert t2 - t1 > t4 - t3 > 0


def test_processes_share_the_stream_evenly_and_exactly() -> None:
    schedule = LoadPlan.constant_rate(50, 4, 100).schedule()
    whole = sorted(t for k in range(300) if (t := schedule.time_of(k)) is not None)
    shares = []
    for index in range(3):
        times = []
        j = 0
        while (t := schedule.slot(index, 3, j)) is not None:
            times.append(t)
            j += 1
        shares.append(times)
    assert sorted(t for share in shares for t in share) == whole  # nothing lost, nothing twice
    assert [len(share) for share in shares] == [67, 67, 66]  # 200 split three ways
    assert shares[1][0] - shares[0][0] == pytest.approx(1 / 50)  # phases offset by one slot
    assert shares[0][1] - shares[0][0] == pytest.approx(3 / 50)  # each at a third of the rate


def test_an_open_ended_schedule_switches_rate_and_pauses() -> None:
    schedule = ArrivalSchedule.open_ended(10)
    assert schedule.time_of(9) == pytest.approx(0.9)
    schedule.switch(2.0, 0.0)  # 20 due by then; none after
    assert schedule.time_of(19) == pytest.approx(1.9)
    assert schedule.time_of(20) is None
    schedule.switch(5.0, 100.0)
    assert schedule.time_of(20) == pytest.approx(5.0)
    assert schedule.time_of(21) == pytest.approx(5.01)
    assert math.isinf(schedule.total)
    with pytest.raises(ValueError, match="at its end"):
        schedule.switch(1.0, 5.0)


def test_iteration_times_do_not_depend_on_the_order_they_are_asked_in() -> None:
    # time_of starts from the segment of its last answer: asked out of order, and across a
    # switch that shortens the segment it points at, it must answer as a fresh schedule does.
    def schedule() -> ArrivalSchedule:
        return ArrivalSchedule.of_stages(0, (Stage(2, 50), Stage(3, 50), Stage(2, 0)))

    ks = list(range(0, 300, 7))  # 250 iterations in all
    fresh = [schedule().time_of(k) for k in ks]
    reused = schedule()
    assert [reused.time_of(k) for k in reversed(ks)] == list(reversed(fresh))
    assert [reused.time_of(k) for k in ks] == fresh
    assert fresh[-1] is None
    assert fresh[1] is not None

    switched = ArrivalSchedule.open_ended(10)
    assert switched.time_of(30) == pytest.approx(3.0)  # the cursor now on the open segment
    switched.switch(2.0, 100.0)  # which ends at 20 arrivals: 30 is in the new one
    assert switched.time_of(30) == pytest.approx(2.1)


def test_a_ticks_slots_at_once_are_the_slots_one_by_one() -> None:
    # slots_by (the timetable computes a tick's slots at once) must give exactly slot()'s
    # values: across ramps, a pause, stage ends, the end of the plan and a process's share.
    def one_by_one(schedule: ArrivalSchedule, index: int, processes: int) -> list[float]:
        times, j = [], 0
        while (t := schedule.slot(index, processes, j)) is not None:
            times.append(t)
            j += 1
        return times

    stages = (Stage(2, 50), Stage(1, 50), Stage(1, 0), Stage(1, 0), Stage(2, 80))
    for index, processes in ((0, 1), (1, 3)):
        expected = one_by_one(ArrivalSchedule.of_stages(10, stages), index, processes)
        schedule = ArrivalSchedule.of_stages(10, stages)
        got: list[float] = []
        until = 0.0
        while len(got) < len(expected) and until < 10:  # ticks of 13 ms, at most 4 slots each
            until += 0.013
            batch = schedule.slots_by(index, processes, len(got), until, 4)
            assert len(batch) <= 4
            assert all(t <= until for t in batch)
            got.extend(batch)
        assert got == expected
        assert schedule.slots_by(index, processes, len(got), 100.0, 4) == []  # the plan is over

    switched = ArrivalSchedule.open_ended(10)
    switched.switch(1.0, 0.0)
    assert switched.slots_by(0, 1, 0, 5.0, 100) == [k / 10 for k in range(10)]
    switched.switch(2.0, 100.0)
    assert switched.slots_by(0, 1, 10, 2.025, 100) == pytest.approx([2.0, 2.01, 2.02])


def test_a_switch_at_the_last_change_replaces_its_rate() -> None:
    # capacity's next tick may come before the timetable's origin (its lead second): t = 0
    schedule = ArrivalSchedule.open_ended(20)
    schedule.switch(0.0, 35)
    assert len(schedule.segments) == 1
    assert schedule.rate_at(0.5) == 35
    assert schedule.time_of(35) == pytest.approx(1.0)
    schedule.switch(2.0, 50)
    schedule.switch(2.0, 10)
    assert schedule.due_by(2.0) == pytest.approx(70)
    assert schedule.time_of(80) == pytest.approx(3.0)


def test_closed_stages_ramp_users_from_zero() -> None:
    plan = LoadPlan("users", parse_stages("10s:10,20s:50"))
    assert plan.duration_s == 30
    assert [plan.target_at(t) for t in (0, 5, 10, 20, 30)] == [0, 5, 10, 30, 0]
    assert plan.windows() == [(0, 10, 10), (10, 30, 50)]
    assert [plan.stage_at(t) for t in (-1, 0, 9.5, 10, 29, 40)] == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="whole numbers"):
        LoadPlan("users", parse_stages("10s:2.5"))


def test_a_plan_that_starts_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="starts no iteration"):
        LoadPlan("rate", parse_stages("10s:0"), start=0)
    with pytest.raises(ValueError, match="max-users"):
        LoadPlan.constant_rate(10, 10, 0)


def test_the_pool_follows_littles_law_and_only_grows_within_the_bound() -> None:
    plan = LoadPlan("rate", parse_stages("10s:100,10s:100"), start=20, max_users=300)
    # Before anything is observed: the peak of the next 5 s (60/s) x 0.5 s x 2, plus spare.
    assert plan.pool_size(0, 0, 0.0, 0) == math.ceil(60 * MIN_LATENCY_S * 2) + SPARE_USERS
    # Slow answers: 100/s x 1.2 s x 2 = 240 (+ spare), then the bound.
    assert plan.pool_size(12, 60, 1.2, 0) == 240 + SPARE_USERS
    assert plan.pool_size(12, 60, 3.0, 0) == 300
    # Never shrinks; dropped iterations each ask for one more user.
    assert plan.pool_size(15, 200, 0.001, 0) == 200
    assert plan.pool_size(15, 200, 0.001, 30) == 230
    assert plan.pool_size(15, 290, 0.001, 30) == 300
    # Every process gets spare users, and at least one user.
    assert plan.pool_size(0, 0, 0.0, 0, processes=4) == 60 + 4 * SPARE_USERS
    assert LoadPlan.constant_rate(0.1, 60, 2).pool_size(0, 0, 0.0, 0, processes=2) == 2


def test_a_plan_goes_through_json_and_describes_itself() -> None:
    plan = LoadPlan("rate", parse_stages("30s:50,2m:200"), start=10, max_users=50)
    assert LoadPlan.from_json(plan.to_json()) == plan
    assert plan.describe() == "10 -> 30s:50,2m:200 (it/s)"
    assert LoadPlan.constant_rate(40, 60, 9).describe() == "40 it/s for 1m"
