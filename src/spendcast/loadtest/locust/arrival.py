"""The open model: requests start on a fixed timetable, whether or not earlier ones answered.

Locust's users are a closed model: a user sends its next request only once the previous one
answered, so a server that slows down also slows the load, and the requests that *should* have
been sent meanwhile are never measured (coordinated omission). Here a shared ``Timetable`` hands
out start times ``1/rate`` apart; a free user takes the next one, waits for it and sends. When
every user is busy the slots pile up, and the next free user sends at once, late. Each request
carries its intended start in its context and the recording hook (``hooks``) counts its
latency from there: the time it waited for a free user is part of what a client would see.

The users are plenty (``SearchPlan.users_for``); the timetable counts what was sent, the slots
dropped when the rate changed with a backlog, and the most users busy at once, so a step can
tell when the load generator, not the server, could not keep the rate.

This module imports Locust (and so gevent): only Locust processes import it.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import gevent.lock

from spendcast.loadtest.locust.hooks import INTENDED_START_KEY
from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser

LATE_S = 0.010
POLL_S = 0.05

__all__ = ["TIMETABLE", "OpenBatchPredictUser", "OpenHealthUser", "OpenMixedUser",
           "OpenPredictUser", "Timetable"]  # fmt: skip


class Timetable:
    """Start times ``1/rate`` apart, handed out one at a time to whichever user is free."""

    def __init__(self) -> None:
        self.interval = 1.0
        self.next_at = 0.0
        self.paused = False
        self._lock = gevent.lock.Semaphore()
        self.sent = 0
        self.late = 0  # started more than 10 ms after their slot
        self.dropped = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def pause(self) -> None:
        """Hand out no slot until the next ``set_rate`` (the server's queue can drain)."""
        self.paused = True
        self.next_at = 0.0

    def set_rate(self, rate: float, now: float | None = None) -> None:
        """Change the rate; a backlog of overdue slots is dropped (and counted)."""
        now = time.time() if now is None else now
        self.paused = False
        if self.next_at < now:
            self.dropped += int((now - self.next_at) / self.interval) if self.next_at else 0
            self.next_at = now
        self.interval = 1.0 / rate
        self.next_at = min(self.next_at, now + self.interval)

    def reset_counters(self) -> None:
        self.sent = self.late = self.dropped = 0
        self.max_in_flight = self.in_flight

    def take(self) -> float:
        """Wait for the next slot (only one user waits on it at a time) and return it."""
        with self._lock:
            while self.paused or (wait := self.next_at - time.time()) > 0:
                gevent.sleep(POLL_S if self.paused else min(wait, POLL_S))  # sees rate changes
            slot = self.next_at
            self.next_at = slot + self.interval
            self.sent += 1
            self.late += int(time.time() - slot > LATE_S)
        return slot

    def counters(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "late": self.late,
            "dropped": self.dropped,
            "max_in_flight": self.max_in_flight,
        }


TIMETABLE = Timetable()


class OpenModel:
    """Mixed into a scenario's user: each task starts at a timetable slot, not after a pause."""

    intended_at = 0.0
    _busy = False

    def on_start(self) -> None:
        self._next_slot()

    def wait_time(self) -> float:
        self._next_slot()
        return 0.0

    def context(self) -> dict[str, Any]:
        return {INTENDED_START_KEY: self.intended_at}

    def _next_slot(self) -> None:
        if self._busy:
            TIMETABLE.in_flight -= 1
            self._busy = False
        self.intended_at = TIMETABLE.take()
        self._busy = True
        TIMETABLE.in_flight += 1
        TIMETABLE.max_in_flight = max(TIMETABLE.max_in_flight, TIMETABLE.in_flight)


class OpenHealthUser(OpenModel, HealthUser):
    """``GET /health`` at the timetable's rate."""


class OpenPredictUser(OpenModel, PredictUser):
    """``GET /predict`` at the timetable's rate."""


class OpenBatchPredictUser(OpenModel, BatchPredictUser):
    """``POST /predict`` batches at the timetable's rate."""


class OpenMixedUser(OpenModel, MixedUser):
    """The mixed scenario at the timetable's rate."""
