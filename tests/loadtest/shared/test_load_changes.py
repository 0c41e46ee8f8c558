"""The load asked from ``spendcast ui``'s page, as the load plan's stages."""

from __future__ import annotations

from spendcast.loadtest.shared.load_changes import LoadChanges
from spendcast.loadtest.shared.load_plan import LoadPlan, Stage


def test_one_user_count_throughout_is_no_plan() -> None:
    changes = LoadChanges()
    changes.start(100.0, 10, None)
    changes.change(103.0, 10, None)  # the same load again: not a change
    assert changes.changes == [(100.0, 10, None)]
    assert changes.plan(100.0, 130.0) is None


def test_user_counts_become_user_stages() -> None:
    changes = LoadChanges()
    changes.start(100.0, 10, None)
    changes.change(112.4, 20, None)
    changes.change(120.0, 5, None)
    assert changes.plan(100.0, 130.2) == LoadPlan(
        "users", (Stage(12, 10), Stage(8, 20), Stage(10, 5))
    )


def test_a_rate_makes_the_plan_open_from_its_time_zero() -> None:
    changes = LoadChanges()
    changes.start(100.0, 8, 20.0)
    changes.change(104.0, 8, 40.0)
    changes.change(106.0, 12, 40.0)  # more users, the same rate: one stage
    plan = changes.plan(101.0, 110.0)  # time 0 a second after the start (the lead)
    assert plan == LoadPlan("rate", (Stage(3, 20.0), Stage(6, 40.0)), 20.0, 12)


def test_a_rate_set_while_running_counts_from_zero_before() -> None:
    changes = LoadChanges()
    changes.start(100.0, 8, None)
    changes.change(105.0, 8, 30.0)
    assert changes.plan(100.0, 115.0) == LoadPlan("rate", (Stage(5, 0.0), Stage(10, 30.0)), 0.0, 8)


def test_no_iteration_due_is_no_plan() -> None:
    changes = LoadChanges()
    changes.start(100.0, 1, 0.0)
    assert changes.plan(101.0, 101.5) is None
