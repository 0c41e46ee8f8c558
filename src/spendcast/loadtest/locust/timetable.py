"""The open model's timetable: this process's slots, handed out to whichever user is free
first (``arrival`` puts user classes on it and gives each process its share).

The free users wait in a queue (oldest first) and one alarm (``alarm``: a ``timerfd`` the event
loop watches, to the microsecond, where a libev timer would ring up to a millisecond late and
send the slots of that millisecond together), set a tick before the next slot is due, hands out
the slots: when it rings, the hub gives each waiting user, in turn, one of the slots due within
the tick (it runs until it blocks, as its request does, and the hub goes on to the next). The
tick is ``TICK_S``, or a quarter of the interval between slots when that is shorter (never a
whole interval early), so each slot leaves on its own, evenly spaced as the server sees them,
at most a tick early: a ring per slot, the price of an even stream (plain Locust's paced users
leave in bursts, several per wake-up of the loop); at a constant rate, with users to spare, the
alarm rings on the slots' beat, programmed once, not once a slot. No lock passed from user to
user, no timeout per wait, nothing polled while the schedule does not change (``set_rate``,
``pause`` and ``configure`` set the alarm again). The slots due within ``AHEAD_S`` are computed
together (``ArrivalSchedule.slots_by``), kept in ``_ready`` until taken and forgotten whenever
the rate changes; a user free again when the next is due within a tick, with nobody waiting
before it, takes it at once, unless it came due more than ``LATE_S`` ago: that one is dropped.
A slot started early counts its latency from its actual start (it was not held back, nothing
to correct). A slot is

- **on time**: started at most a tick before and ``LATE_S`` after its due time;
- **late**: a user was free when it came due, but started it more than ``LATE_S`` after (the
  generator's own CPU or event loop was behind);
- **dropped**: no user was free when it came due, nor within ``LATE_S`` (every user of the pool
  was still busy with an earlier iteration): it is never sent, only counted, like k6's
  ``dropped_iterations``; the load shape then grows the pool (up to ``--max-users``).

Each slot is counted in the process's recording by the second it was due; when the test stops,
the slots that came due and no user took count as dropped (``settle``). The iteration's
lateness (start minus due time) is kept per user greenlet: the request hook (``hooks``) adds it
to every request the iteration makes, so latency counts from the intended start whatever client
fires Locust's ``request`` event, without the user's code knowing.

This module imports gevent: only Locust processes import it.
"""

from __future__ import annotations

import collections
import contextlib
import time
from typing import Final

import gevent
from gevent.hub import Waiter

from spendcast.loadtest.locust.alarm import Alarm
from spendcast.loadtest.shared.load_plan import ArrivalSchedule
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.trace import OffsetSchedule

LATE_S: Final = 0.010
TICK_S: Final = 0.005  # slots due this soon start now, without a sleep (and a wake-up) each
TICK_SHARE: Final = 0.25  # ... and no sooner than this share of the interval between slots
FILL_SLOTS: Final = 256  # at most this many slots are computed at once...
AHEAD_S: Final = 0.020  # ... those due within this time (computed once, handed out one by one)
# On a user's greenlet: how late its current iteration started (s), None between iterations.
_LATENESS: Final = "spendcast_lateness"
_STARTED: Final = "spendcast_started"  # on a user's greenlet: when its iteration started (s)
_ITERATION: Final = "spendcast_iteration"  # on a user's greenlet: its iteration's k


class Timetable:
    """This process's slots, handed out one at a time to whichever user is free first."""

    def __init__(self) -> None:
        self.schedule: ArrivalSchedule | OffsetSchedule | None = None  # None: users wait
        # A replay's timetable (``--replay``): what ``announce`` configures instead of the plan's.
        self.replay: OffsetSchedule | None = None
        self._taken_j = 0  # the iteration ``_next_slot`` returned last
        self.origin = 0.0
        self.index, self.count = 0, 1
        self.next_j = 0  # this process's next iteration: k = index + next_j * count
        # The due times (epoch s) of iterations next_j, next_j + 1... within ``AHEAD_S`` of when
        # they were computed, the next last; emptied whenever the schedule changes.
        self._ready: list[float] = []
        self._tick = TICK_S  # slots due this soon start now: the rate's when _ready was filled
        self._beat = 0.0  # the interval between the slots of _ready (0: they come on no beat)
        self.recording: Recording | None = None
        # The users waiting for a slot, the oldest first, each with since when it waits; while
        # any waits, the next slot is not due within a tick (outside a hand-out) and ``_alarm``
        # is set a tick before it (cancelled: no slot is due until the schedule changes).
        self._parked: collections.deque[tuple[Waiter, float]] = collections.deque()
        self._alarm: Alarm | None = None  # made by the first user that waits, in its process
        self._handing_out = False
        self.sent = self.late = self.dropped = 0
        self.in_flight = self.max_in_flight = 0
        self.unqueued = 0  # slots taken at once, without waiting for a hand-out
        # second -> the longest iteration that ended in it (s): the pool is sized from it too
        # (an iteration may sleep between its requests: longer than any answer)
        self.iteration_s: dict[int, float] = {}

    def configure(
        self,
        schedule: ArrivalSchedule | OffsetSchedule,
        origin: float,
        index: int = 0,
        count: int = 1,
    ) -> None:
        self.schedule, self.origin, self.index, self.count = schedule, origin, index, count
        self.next_j = 0
        self._schedule_changed()

    def set_rate(self, rate: float, now: float | None = None) -> None:
        """From now on, ``rate`` iterations/s (the capacity search's steps; 0 pauses)."""
        now = time.time() if now is None else now
        if not isinstance(self.schedule, ArrivalSchedule):
            self.configure(ArrivalSchedule.open_ended(rate), now)
        else:
            self.schedule.switch(max(now - self.origin, self.schedule.segments[-1].start_s), rate)
            self._schedule_changed()

    def _schedule_changed(self) -> None:
        """Forget the slots computed from the old schedule; the waiting users' next hand-out
        is the new schedule's first slot (no polling while nothing changes)."""
        self._ready.clear()
        if not self._handing_out:
            self._arm(time.time())

    def pause(self) -> None:
        """Hand out no slot until the next ``set_rate`` (the server's queue can drain)."""
        self.set_rate(0.0)

    def reset_counters(self) -> None:
        self.sent = self.late = self.dropped = 0
        self.max_in_flight = self.in_flight

    def counters(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "late": self.late,
            "dropped": self.dropped,
            "max_in_flight": self.max_in_flight,
        }

    def lateness_ms(self) -> float | None:
        """How late the current user's iteration started (``None``: the user runs no iteration
        of the timetable, the closed model)."""
        lateness = getattr(gevent.getcurrent(), _LATENESS, None)
        return None if lateness is None else lateness * 1000.0

    def iteration(self) -> int | None:
        """The ``k`` of the current user's iteration (``None``: it runs none of the timetable):
        a replay sends its ``k``-th request."""
        return getattr(gevent.getcurrent(), _ITERATION, None)

    def has_slot(self) -> bool:
        """The current user runs an iteration of the timetable."""
        return getattr(gevent.getcurrent(), _LATENESS, None) is not None

    def take(self) -> float:
        """Wait for this user's next slot; returns its due time (epoch s)."""
        me = gevent.getcurrent()
        now = time.time()
        if getattr(me, _LATENESS, None) is not None:
            setattr(me, _LATENESS, None)
            self.in_flight -= 1  # its previous iteration is over
            second = int(now)
            took = now - getattr(me, _STARTED, now)
            self.iteration_s[second] = max(self.iteration_s.get(second, 0.0), took)
        # Nobody waits before this user: the next slot due within a tick is its own at once.
        found = None if self._parked else self._next_slot(now, now)
        if found is None:
            due = self._wait(now)
            now = time.time()
        else:
            due = found
            self.unqueued += 1
        lateness = now - due if now > due else 0.0
        # No other greenlet ran since ``_next_slot`` gave this slot (a hand-out switches here).
        setattr(me, _ITERATION, self.index + self._taken_j * self.count)
        setattr(me, _LATENESS, lateness)
        setattr(me, _STARTED, now)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        self.sent += 1
        late = lateness > LATE_S
        if late:
            self.late += 1
        if self.recording is not None:
            self.recording.record_start(due, late)
        return due

    def _wait(self, now: float) -> float:
        """Queue behind the users already waiting until a hand-out gives this one a slot."""
        entry = (Waiter(), now)
        self._parked.append(entry)
        if len(self._parked) == 1 and not self._handing_out:  # the first to wait sets the timer
            self._arm(now)
        try:
            due: float = entry[0].get()
        except BaseException:  # killed while waiting (the test stops): leave the queue
            with contextlib.suppress(ValueError):
                self._parked.remove(entry)
            raise
        return due

    def _arm(self, now: float) -> None:
        """Set the alarm for the next hand-out, a tick before the next slot is due (cancel it
        while nobody waits, or no slot is due until the schedule changes)."""
        alarm = self._alarm
        if not self._parked or self.schedule is None:
            if alarm is not None:
                alarm.cancel()
            return
        if self._ready:
            due = self._ready[-1]
        else:
            offset = self.schedule.slot(self.index, self.count, self.next_j)
            if offset is None:
                if alarm is not None:
                    alarm.cancel()
                return
            due = self.origin + offset
        if alarm is None or alarm.inherited:  # the first, or this forked worker's first
            alarm = self._alarm = Alarm(self._hand_out)
        # With another user waiting after the next, the alarm is set again right after its ring:
        # on the slots' beat it costs nothing (with one, it is likely cancelled then: once).
        alarm.set(due - self._tick, self._beat if len(self._parked) > 1 else 0.0)

    def _hand_out(self) -> None:
        """In gevent's hub, when a slot is due: give each waiting user, oldest first, one of
        the slots due within a tick (each runs until it blocks, as its request does), then
        set the alarm for the next slot if some still wait."""
        self._handing_out = True
        try:
            parked = self._parked
            while parked:
                due = self._next_slot(time.time(), parked[0][1])
                if due is None:
                    break
                parked.popleft()[0].switch(due)
        finally:
            self._handing_out = False
        self._arm(time.time())

    def _next_slot(self, now: float, since: float) -> float | None:
        """The next slot due by ``now`` + a tick for a user free since ``since`` (``None``:
        none is): the first of ``_ready``, computed ahead when it is empty; the ones that came
        due ``LATE_S`` before anybody was free are dropped and skipped."""
        ready = self._ready
        while True:
            if not ready and not self._fill(now):
                return None
            due = ready[-1]
            if due > now + self._tick:
                return None
            ready.pop()
            self._taken_j = self.next_j
            self.next_j += 1
            if due + LATE_S < now and due + LATE_S < since:  # nobody was free when it came due
                self._drop(due)
                continue
            return due

    def _fill(self, now: float) -> bool:
        """Put the slots due within ``AHEAD_S`` of ``now`` in ``_ready``, the next last, and the
        tick of the rate they come at in ``_tick``; say whether any is."""
        schedule = self.schedule
        if schedule is None:
            return False
        origin = self.origin
        offsets = schedule.slots_by(
            self.index, self.count, self.next_j, now + AHEAD_S - origin, FILL_SLOTS
        )
        # Never a whole interval early: at 200/s a 5 ms tick would send the slots in pairs.
        rate = schedule.rate_at(offsets[0] if offsets else now - origin) / self.count
        self._tick = TICK_S if rate * TICK_S <= TICK_SHARE else TICK_SHARE / rate
        # Evenly spaced at a constant rate: the alarm rings on their beat without being set again
        even = isinstance(schedule, ArrivalSchedule) and schedule.pattern.is_constant
        self._beat = 1.0 / rate if even and rate > 0 else 0.0
        self._ready[:] = [origin + offset for offset in reversed(offsets)]
        return bool(offsets)

    def settle(self, now: float | None = None) -> None:
        """The test stopped: the slots that came due and no user took were dropped too."""
        now = time.time() if now is None else now
        self._ready.clear()  # next_j is the first not taken: what follows recomputes them
        while self.schedule is not None:
            offset = self.schedule.slot(self.index, self.count, self.next_j)
            if offset is None or self.origin + offset + LATE_S >= now:
                return
            self.next_j += 1
            self._drop(self.origin + offset)

    def longest_iteration_s(self, since: int) -> float:
        """The longest iteration that ended since the second ``since`` (older ones forgotten)."""
        for second in [s for s in self.iteration_s if s < since]:
            del self.iteration_s[second]
        return max(self.iteration_s.values(), default=0.0)

    def overdue(self, now: float | None = None, most: int = 100_000) -> int:
        """Slots due more than ``LATE_S`` ago that no user took yet (they will be dropped):
        while every user is busy in a long iteration (a task that sleeps between requests),
        nobody takes a slot to find them dropped, and the pool must grow all the same."""
        now = time.time() if now is None else now
        count = 0
        if self._ready:  # the tick's slots not taken yet, the next last
            count = sum(due + LATE_S < now for due in self._ready)
            if count < len(self._ready):
                return count
        j = self.next_j + len(self._ready)
        while self.schedule is not None and count < most:
            offset = self.schedule.slot(self.index, self.count, j)
            if offset is None or self.origin + offset + LATE_S >= now:
                break
            count, j = count + 1, j + 1
        return count

    def _drop(self, due: float) -> None:
        self.dropped += 1
        if self.recording is not None:
            self.recording.record_arrival(due, dropped=True)
