"""The open model: task iterations start on a timetable, whether or not earlier ones answered.

Locust's users are a closed model: a user starts its next task only once the previous one
answered, so a server that stalls also stalls the load, and the requests that *should* have
been sent meanwhile are never measured (coordinated omission). Here the iterations are due on
the load plan's timetable (``run.load_plan.ArrivalSchedule``, time 0 at ``origin``; this
process runs the iterations ``k ≡ index (mod count)``) and a pool of users runs them.

Any user class, unchanged: ``install`` replaces each class's ``wait_time`` by ``TIMETABLE.take``
and makes its ``on_start`` end with a first wait (``User.wait``: the user is *waiting*, so a stop
kills it at once), so every iteration, the first too, starts at a slot. The free users queue
for the next slot (gevent's semaphore is FIFO); the first sleeps until it is due, then takes it
and every slot due within the next ``TICK_S`` without sleeping again. So the iterations start in
small bursts, one per tick, at most ``TICK_S`` early, as plain Locust's paced users do: a sleep
per slot would wake the event loop once per request, and every wake-up costs the generator (and
the server) more CPU than the request itself at a few thousand per second. The slots of a tick
are computed together when it starts (``ArrivalSchedule.slots_by``), kept in ``_ready`` until
taken and forgotten whenever the rate changes; a user free again while they last takes one
without queueing (the lock is free then: its holder only sleeps once they are all taken), unless
it came due more than ``LATE_S`` ago: that one goes through the queue, which decides drops. A
slot started early
counts its latency from its actual start (it was not held back, nothing to correct). A slot is

- **on time**: started at most ``TICK_S`` before and ``LATE_S`` after its due time;
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

The timetable comes from the load shape (``shapes``): ``announce`` sends ``spendcast_arrival``
(the plan, its origin, this process's index and the count) to each worker before the first
spawn message (a local runner hands it to itself), so workers need no option of their own.

This module imports Locust (and so gevent): only Locust processes import it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import gevent
import gevent.event
import gevent.lock
from locust import User
from locust.env import Environment
from locust.rpc import Message
from locust.runners import STATE_MISSING, MasterRunner, Runner

from spendcast.loadtest.run.load_plan import ArrivalSchedule, LoadPlan
from spendcast.loadtest.run.recording import Recording

LATE_S: Final = 0.010
TICK_S: Final = 0.005  # slots due this soon start now, without a sleep (and a wake-up) each
FILL_SLOTS: Final = 256  # at most this many of a tick's slots are computed at once
ARRIVAL_MESSAGE: Final = "spendcast_arrival"
_INSTALLED: Final = "_spendcast_first_slot"
# On a user's greenlet: how late its current iteration started (s), None between iterations.
_LATENESS: Final = "spendcast_lateness"

__all__ = ["TIMETABLE", "Timetable", "announce", "attach", "install"]


class Timetable:
    """This process's slots, handed out one at a time to whichever user is free first."""

    def __init__(self) -> None:
        self.schedule: ArrivalSchedule | None = None  # None: not told yet, users wait
        self.origin = 0.0
        self.index, self.count = 0, 1
        self.next_j = 0  # this process's next iteration: k = index + next_j * count
        # The due times (epoch s) of iterations next_j, next_j + 1... within a tick of when they
        # were computed, the next last; emptied whenever the schedule changes.
        self._ready: list[float] = []
        self.recording: Recording | None = None
        self._lock = gevent.lock.Semaphore()
        # Set, and replaced, when the schedule changes: wakes the user waiting for the next slot.
        self._changed = gevent.event.Event()
        # greenlet -> since when it waits for a slot; in that order, so the first is the oldest
        self._free: dict[Any, float] = {}
        self.sent = self.late = self.dropped = 0
        self.in_flight = self.max_in_flight = 0
        self.unqueued = 0  # slots taken straight from ``_ready``, without the lock

    def configure(
        self, schedule: ArrivalSchedule, origin: float, index: int = 0, count: int = 1
    ) -> None:
        self.schedule, self.origin, self.index, self.count = schedule, origin, index, count
        self.next_j = 0
        self._schedule_changed()

    def set_rate(self, rate: float, now: float | None = None) -> None:
        """From now on, ``rate`` iterations/s (the capacity search's steps; 0 pauses)."""
        now = time.time() if now is None else now
        if self.schedule is None:
            self.configure(ArrivalSchedule.open_ended(rate), now)
        else:
            self.schedule.switch(max(now - self.origin, self.schedule.segments[-1].start_s), rate)
            self._schedule_changed()

    def _schedule_changed(self) -> None:
        """Forget the slots computed from the old schedule and wake the user waiting for the
        next one: it reads the timetable again (no polling while nothing changes)."""
        self._ready.clear()
        changed, self._changed = self._changed, gevent.event.Event()
        changed.set()

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

    def lateness_ms(self) -> float:
        """How late the current user's iteration started (0 outside the open model)."""
        return getattr(gevent.getcurrent(), _LATENESS, 0.0) * 1000.0

    def has_slot(self) -> bool:
        """The current user runs an iteration of the timetable."""
        return getattr(gevent.getcurrent(), _LATENESS, None) is not None

    def take(self) -> float:
        """Wait for this user's next slot; returns its due time (epoch s)."""
        me = gevent.getcurrent()
        if getattr(me, _LATENESS, None) is not None:
            setattr(me, _LATENESS, None)
            self.in_flight -= 1  # its previous iteration is over
        ready, now = self._ready, time.time()
        if ready and ready[-1] + LATE_S >= now:
            # The tick's next slot, too recent to be dropped: take it without queueing (a user
            # arriving mid-tick would find the lock free, since its holder only sleeps once
            # every slot of the tick is taken).
            due = ready.pop()
            self.next_j += 1
            self.unqueued += 1
        else:
            self._free[me] = now
            try:
                with self._lock:
                    due, now = self._next_slot()
            finally:
                del self._free[me]
        lateness = now - due if now > due else 0.0
        setattr(me, _LATENESS, lateness)
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

    def _next_slot(self) -> tuple[float, float]:
        """The next slot this process runs (its due time, and now): the first of ``_ready``, or
        of a tick's slots computed when it is empty; dropped ones are counted and skipped."""
        ready = self._ready
        while True:
            now = time.time()
            if not ready and not self._fill(now):
                continue
            due = ready.pop()
            self.next_j += 1
            # Nobody was free when it came due (the oldest free user is the dict's first).
            if due + LATE_S < now and due + LATE_S < next(iter(self._free.values())):
                self._drop(due)
                continue
            return due, now

    def _fill(self, now: float) -> bool:
        """Put the slots due within ``TICK_S`` of ``now`` in ``_ready``, the next last; if none
        is, wait until the next is due or the schedule changes, and say so."""
        schedule, origin = self.schedule, self.origin
        if schedule is not None:
            offsets = schedule.slots_by(
                self.index, self.count, self.next_j, now + TICK_S - origin, FILL_SLOTS
            )
            if offsets:
                self._ready[:] = [origin + offset for offset in reversed(offsets)]
                return True
            offset = schedule.slot(self.index, self.count, self.next_j)
            if offset is not None:
                self._changed.wait(origin + offset - now)
                return False
        self._changed.wait()  # not told yet, paused, or the plan is over: until that changes
        return False

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

    def _drop(self, due: float) -> None:
        self.dropped += 1
        if self.recording is not None:
            self.recording.record_arrival(due, dropped=True)


TIMETABLE = Timetable()


def _wait_for_slot(user: User) -> float:
    TIMETABLE.take()
    return 0.0


def _then_first_slot(on_start: Callable[[User], None]) -> Callable[[User], None]:
    @functools.wraps(on_start)
    def on_start_then_wait(user: User) -> None:
        on_start(user)
        if not TIMETABLE.has_slot():  # a parent's on_start, through super(), may have waited
            user.wait()  # type: ignore[no-untyped-call]

    setattr(on_start_then_wait, _INSTALLED, True)
    return on_start_then_wait


def install(user_classes: Iterable[type[User]]) -> None:
    """Put every iteration of these user classes on ``TIMETABLE`` (idempotent)."""
    for user_class in user_classes:
        user_class.wait_time = _wait_for_slot
        if not getattr(user_class.on_start, _INSTALLED, False):
            user_class.on_start = _then_first_slot(user_class.on_start)  # type: ignore[assignment,method-assign]


def attach(runner: Runner, recording: Recording) -> None:
    """A process that runs users: count its slots in ``recording``, obey ``announce``."""
    TIMETABLE.recording = recording
    runner.register_message(ARRIVAL_MESSAGE, _on_arrival)
    runner.environment.events.test_stop.add_listener(lambda **_: TIMETABLE.settle())  # type: ignore[no-untyped-call]


def _on_arrival(environment: Environment, msg: Message, **_: Any) -> None:
    data = msg.data
    install(environment.user_classes)
    plan = LoadPlan.from_json(data["plan"])
    TIMETABLE.configure(plan.schedule(), float(data["origin"]), data["index"], data["count"])


def announce(runner: Runner, plan: LoadPlan, origin: float) -> int:
    """Give each load-generating process its share of ``plan``; returns how many share it."""
    data = {"plan": plan.to_json(), "origin": origin}
    if not isinstance(runner, MasterRunner):
        runner.send_message(ARRIVAL_MESSAGE, {**data, "index": 0, "count": 1})
        return 1
    workers = sorted(node.id for node in runner.clients.all if node.state != STATE_MISSING)
    for index, client_id in enumerate(workers):
        share = {**data, "index": index, "count": len(workers)}
        runner.send_message(ARRIVAL_MESSAGE, share, client_id=client_id)
    return len(workers)
