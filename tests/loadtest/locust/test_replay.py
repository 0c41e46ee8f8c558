"""The replay on the Locust side: each process takes its share of the trace in order, and each
user learns which request its slot is."""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest

from spendcast.loadtest.locust import replay
from spendcast.loadtest.locust.timetable import Timetable
from spendcast.loadtest.shared.trace import OffsetSchedule, Replayed


def test_a_process_sends_its_share_of_the_trace_in_order_at_its_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timetable, trace = Timetable(), replay._Replay()
    monkeypatch.setattr(replay, "TIMETABLE", timetable)
    monkeypatch.setattr(replay, "_REPLAY", trace)
    offsets = [0.0, 0.01, 0.01, 0.03, 0.05, 0.08, 0.08]
    trace.requests = tuple(Replayed(o, "GET", f"/r{k}", None) for k, o in enumerate(offsets))
    timetable.configure(OffsetSchedule(offsets), time.time() + 0.05, index=1, count=2)
    taken: list[tuple[int | None, float, str | None]] = []

    def user() -> None:  # a user's greenlet: the timetable keeps its iteration there
        for _ in range(3):  # process 1 of 2: requests 1, 3, 5
            due = timetable.take()
            request = replay._next_request()
            path = None if request is None else request.path
            taken.append((timetable.iteration(), due - timetable.origin, path))

    gevent.spawn(user).get(timeout=60)
    expected: Any = [(1, pytest.approx(0.01), "/r1"), (3, pytest.approx(0.03), "/r3"),
                     (5, pytest.approx(0.08), "/r5")]  # fmt: skip
    assert taken == expected
    assert timetable.counters()["dropped"] == 0
    assert timetable.counters()["sent"] == 3
