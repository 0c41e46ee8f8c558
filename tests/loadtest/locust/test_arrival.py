"""``arrival``: user classes put on the open model's timetable, and each process told its share,
on Locust's own local runner."""

from __future__ import annotations

import time

import pytest
from locust import User, constant, task

from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.side import LocustSide
from spendcast.loadtest.locust.timetable import Timetable
from spendcast.loadtest.shared.load_plan import LoadPlan
from tests.loadtest.locust.support import environment_with, init


class Paced(User):
    wait_time = constant(7)

    def on_start(self) -> None:
        pass

    @task
    def work(self) -> None:
        pass


class Inheriting(Paced):
    pass


def test_install_puts_classes_on_the_timetable_and_uninstall_gives_back_their_own() -> None:
    own_wait, own_start = Paced.wait_time, vars(Paced)["on_start"]
    arrival.install([Paced, Inheriting])  # the parent first: the child inherits its wrapper
    arrival.install([Paced])  # idempotent: on_start is wrapped once
    try:
        assert Paced.wait_time is Inheriting.wait_time is arrival._wait_for_slot
        assert Paced.on_start.__wrapped__ is own_start  # type: ignore[attr-defined]
        assert not hasattr(Paced.on_start.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]
    finally:
        arrival.uninstall([Paced, Inheriting])
    assert Paced.wait_time is own_wait
    assert vars(Paced)["on_start"] is own_start
    assert "wait_time" not in vars(Inheriting)  # inherited again, as before
    assert "on_start" not in vars(Inheriting)


def test_a_local_runner_announces_the_whole_plan_to_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timetable = Timetable()
    monkeypatch.setattr(arrival, "TIMETABLE", timetable)
    side = LocustSide()
    own_wait = Paced.wait_time
    environment = environment_with(side, [Paced])
    runner = environment.create_local_runner()
    init(environment)  # the side attaches the timetable to its runner and recording
    plan, origin = LoadPlan.constant_rate(50, 10, 5), time.time() + 1.0
    try:
        assert arrival.announce(runner, plan, origin) == 1
        assert timetable.recording is side.recording
        assert (timetable.origin, timetable.index, timetable.count) == (origin, 0, 1)
        assert timetable.schedule is not None
        assert Paced.wait_time is arrival._wait_for_slot
        arrival.share_rate(runner, None, time.time(), new_test=True)  # the closed model again
        assert timetable.schedule is None
        assert Paced.wait_time is own_wait
    finally:
        arrival.uninstall([Paced])
        runner.quit()
