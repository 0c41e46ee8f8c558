"""The open model's timetable, on gevent's loop in this process (a fresh ``Timetable`` each)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import gevent
import gevent.event
import pytest

from spendcast.loadtest.locust.timetable import LATE_S, TICK_S, Timetable
from spendcast.loadtest.shared.load_plan import ArrivalSchedule, LoadPlan
from spendcast.loadtest.shared.recording import Recording


class _Stalls:
    """A watchdog greenlet waking every millisecond, noting the gaps between its wake-ups longer
    than ``LATE_S`` less a tick: the process (or its loop) stalled then, and a slot due during a
    stall (or a tick before it began, when the alarm was to ring) may find no user free within
    ``LATE_S``, as in Locust on a busy machine."""

    def __init__(self) -> None:
        self.gaps: list[tuple[float, float]] = []
        self._greenlet = gevent.spawn(self._watch)

    def _watch(self) -> None:
        last = time.time()
        while True:
            gevent.sleep(0.001)
            now = time.time()
            if now - last > LATE_S - TICK_S:
                self.gaps.append((last, now))
            last = now

    def stop(self) -> None:
        self._greenlet.kill()

    def during_one(self, due: float) -> bool:
        """``due`` fell within a stall (a hand-out or a user's run is not interrupted by the
        watchdog: a drop is found at the latest when the stall ends, and its slot came due at
        most a tick before the stall began, when the alarm was to ring)."""
        return any(start - TICK_S < due < end for start, end in self.gaps)


@pytest.mark.slow  # the timetable for 1.5 s, 1,000 slots: out of `make check`
@pytest.mark.parametrize("users", [1, 8])
def test_slots_start_in_ticks_never_earlier_than_a_tick_and_all_of_them(users: int) -> None:
    # Users that are always free (an iteration costs nothing) take every slot of 1 s at 1,000/s:
    # the slots due within a tick start together, none earlier than a tick before it is due.
    timetable = Timetable()
    timetable.configure(LoadPlan.constant_rate(1000, 1, 8).schedule(), time.time() + 0.2)
    starts: list[tuple[float, float, int]] = []

    def user(number: int) -> None:
        while True:
            due = timetable.take()
            starts.append((due, time.time(), number))
            # Once, CPU-bound user code holds the process 3 ms: back, the next slot is due
            # (under LATE_S ago: neither late nor dropped), so a lone user takes it at once.
            if len(starts) == 100:
                time.sleep(0.003)

    stalls = _Stalls()
    greenlets = [gevent.spawn(user, number) for number in range(users)]
    # Until every slot is started or dropped (a busy machine stalls this process: its slots
    # start late, and those due during a stall longer than LATE_S may find no user free); the
    # deadline is a hang guard only.
    deadline = time.monotonic() + 60
    while timetable.sent + timetable.dropped < 1000 and time.monotonic() < deadline:
        gevent.sleep(0.1)
    gevent.sleep(0.1)  # past the schedule's end: no slot more
    gevent.killall(greenlets)
    stalls.stop()
    counters = timetable.counters()
    assert counters["sent"] == len(starts)
    assert counters["sent"] + counters["dropped"] == 1000
    dues = [due for due, _, _ in starts]
    assert dues == sorted(dues)
    assert len(set(dues)) == len(dues)
    schedule, origin = timetable.schedule, timetable.origin
    assert schedule is not None
    every_due = {
        origin + offset for j in range(1000) if (offset := schedule.slot(0, 1, j)) is not None
    }
    dropped = sorted(every_due - set(dues))
    assert len(dropped) == counters["dropped"]
    # None dropped, unless this process stalled longer than LATE_S: then only slots due then.
    assert [due for due in dropped if not stalls.during_one(due)] == []
    early = [due - start for due, start, _ in starts if start < due]
    assert early  # the tick's branch is reached: slots started before they were due...
    assert max(early) <= TICK_S  # ...but never more than a tick before
    late = sum(1 for due, start, _ in starts if start - due > LATE_S)
    assert counters["late"] == late
    alarm = timetable._alarm
    assert alarm is not None
    if users == 1:
        # Back while its tick still has slots, with nobody waiting, a user takes one at once;
        # the first of each tick comes from the hand-out.
        assert 0 < timetable.unqueued < counters["sent"]
    else:
        # Nobody takes a slot before the users waiting longer: the slots go round the queue.
        assert timetable.unqueued == 0
        shares = Counter(number for _, _, number in starts)
        assert max(shares.values()) - min(shares.values()) <= 1
        assert [number for _, _, number in starts[:users]] == sorted(range(users))
        # Others wait after the next: the alarm rings on the slots' beat, not programmed per slot.
        assert alarm.programmed < counters["sent"] // 10


def _in_a_user(function: Any) -> Any:
    """Run ``function`` in a greenlet of its own, as a user runs (the timetable keeps an
    iteration's lateness on the greenlet: never on this test's main one)."""
    return gevent.spawn(function).get(timeout=60)


def test_computed_slots_follow_rate_changes_and_drops_and_count_once() -> None:
    # One user, step by step: the slots a tick computes ahead follow a rate change, are dropped
    # when nobody was free, and are not counted twice when the test stops.
    timetable = Timetable()
    recording = timetable.recording = Recording()
    out: dict[str, Any] = {}

    def steps() -> None:
        # started 3 ms ago: slots 0, 1, 2 and 3 are due (none LATE_S late), computed together
        before = time.time()
        timetable.configure(ArrivalSchedule.open_ended(1000), before - 0.003)
        out["first"] = timetable.take() - timetable.origin
        # (unless this process stalled meanwhile: slot 0 then came due more than LATE_S ago)
        out["stalled"] = time.time() - before > LATE_S - 0.003
        out["ahead"] = len(timetable._ready)  # the rest of the tick, computed with the first
        timetable.set_rate(10, now=timetable.origin)  # 10/s from time 0 on: the next at 0.1 s
        out["after_switch"] = timetable.take() - timetable.origin

        timetable.configure(ArrivalSchedule.open_ended(1000), time.time())
        timetable.reset_counters()
        timetable.take()
        gevent.sleep(0.05)  # busy: the slots due meanwhile find nobody free
        out["late_take"] = timetable.take() - timetable.origin

    _in_a_user(steps)
    busy = timetable.counters()
    next_j = timetable.next_j
    timetable.settle(now=timetable.origin + 1.0)
    settled = timetable.counters()
    assert out["first"] == 0.0 or out["stalled"]
    assert out["ahead"] >= 1  # so the switch had slots at 1,000/s to forget...
    assert out["after_switch"] == pytest.approx(0.1)  # ...and did
    assert busy["sent"] == 2
    assert busy["dropped"] >= 30  # of the 50 due while busy, those over LATE_S ago
    assert out["late_take"] >= 0.05 - 0.010 - 0.001  # the first still due within LATE_S
    assert busy["sent"] + busy["dropped"] == next_j  # each slot counted once
    assert settled["sent"] + settled["dropped"] == 990  # due by 1 s - LATE_S: 0..989
    recorded = [sum(getattr(a, key) for a in recording.arrivals.values())
                for key in ("started", "dropped")]  # fmt: skip
    assert recorded == [2 + 2, settled["dropped"]]  # both parts' starts, one's drops


def test_a_paused_timetable_waits_for_the_rate_instead_of_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Paused, the user waiting for the next slot sleeps until the rate changes: it does not poll
    # the timetable meanwhile, and wakes for the first slot of the new rate.
    timetable = Timetable()
    fills: list[float] = []
    real_fill = timetable._fill

    def counted_fill(now: float) -> bool:
        fills.append(now)
        return real_fill(now)

    monkeypatch.setattr(timetable, "_fill", counted_fill)
    timetable.configure(ArrivalSchedule.open_ended(0), time.time())  # told, but paused
    taken: list[float] = []
    users = [gevent.spawn(lambda: taken.append(timetable.take())) for _ in range(4)]
    gevent.sleep(0.5)
    assert (len(fills), len(taken)) == (1, 0)  # one look, then asleep until told
    timetable.set_rate(1000)
    gevent.joinall(users, timeout=60)  # a hang guard only
    assert len(taken) == 4  # every user got a slot of the new rate
    assert len(fills) >= 2


def test_slots_due_while_every_user_is_busy_are_counted_before_they_are_dropped() -> None:
    # Every user busy in a long iteration: nobody takes a slot, so none is found dropped, but
    # the slots due and untaken are counted (the load shape grows the pool on them), and the
    # length of an iteration that ends is kept for the pool's size.
    timetable = Timetable()
    start = time.time()
    timetable.configure(ArrivalSchedule.open_ended(100), start)
    release = gevent.event.Event()
    seen: dict[str, float] = {}

    def user() -> None:
        timetable.take()
        seen["taken"], seen["first"] = timetable.iteration() or 0, time.time()
        release.wait()  # an iteration that waits between its requests (longer than any answer)
        seen["second"] = time.time()
        timetable.take()

    busy = gevent.spawn(user)
    gevent.sleep(0.2)
    overdue = timetable.overdue(start + 0.195)  # between two slots: no rounding at the edge
    release.set()
    gevent.joinall([busy], timeout=60)  # a hang guard only
    ended = time.time()
    # 100/s for 0.2 s: the slots after the one taken (0, unless this process stalled before the
    # user ran) and due more than LATE_S before 0.195 s, 18 of them.
    after_taken = range(int(seen["taken"]) + 1, 20)
    assert overdue == sum(1 for j in after_taken if j * 0.01 + LATE_S < 0.195)
    assert timetable.dropped >= overdue > 0  # the user came back and found them dropped
    # The iteration's length: at least the wait between its takes, at most the whole test.
    longest = timetable.longest_iteration_s(int(start) - 1)
    assert seen["second"] - seen["first"] <= longest <= ended - start
    assert timetable.longest_iteration_s(int(time.time()) + 1) == 0.0
