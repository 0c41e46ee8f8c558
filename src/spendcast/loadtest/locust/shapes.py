"""The kit's Locust load shapes: ``PlanShape`` runs a load plan, ``CapacityShape`` a search.

``PlanShape`` (``--rate``, ``--stages``; the plan from ``--spendcast-load-plan``): closed, the
users of each second's target; open, it sets time 0 a second ahead (``LEAD_S``: the pool
spawns meanwhile), gives each process its share of the timetable (``arrival.announce``), then
each second sizes the pool from the rate ahead, the longest answer of the last
``LATENCY_WINDOW_S`` seconds and the iterations dropped (``LoadPlan.pool_size``). It stops the
test at the plan's end, to the moment, so the stages' windows are the ones asked.

Locust calls ``tick()`` once a second. The shape hands the search the seconds this process
recorded so far (``hooks.current_recording``; on a master, what its workers reported, a second
counted as complete only once every report that may hold it has come), applies the load it
answers (users, or an arrival rate on the ``arrival`` timetable with enough users to keep it;
users only on a master, which spreads them over its workers), and appends each step's
start and end to ``capacity_steps.jsonl`` in the run directory, where ``capacity`` and the
live display read them. The plan comes from ``SPENDCAST_CAPACITY_PLAN`` (JSON).

This module imports Locust: only Locust processes import it (``locustfiles/spendcast_capacity``);
the names it shares with ``capacity`` (plan env, steps file) are in ``contract``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Final

import gevent
from locust import LoadTestShape
from locust.runners import MasterRunner, Runner

from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.arrival import TIMETABLE
from spendcast.loadtest.locust.hooks import current_recording
from spendcast.loadtest.locust.progress_writer import complete_after_s
from spendcast.loadtest.shared.capacity_step import (
    GeneratorFigures,
    KneeHeld,
    SearchEnded,
    StepEvent,
    StepStarted,
    TimetableCounts,
)
from spendcast.loadtest.shared.contract import (
    LOAD_PLAN_OPTION,
    OUT_OPTION,
    PLAN_ENV,
    STEPS_FILE,
    option_dest,
)
from spendcast.loadtest.shared.load_plan import ArrivalSchedule, LoadPlan
from spendcast.loadtest.shared.search import CapacitySearch, SearchPlan, Step
from spendcast.loadtest.shared.tally import Tally

CPU_BUSY_PERCENT: Final = 90.0
LEAD_S: Final = 1.0
LATENCY_WINDOW_S: Final = 10


class PlanShape(LoadTestShape):
    """Users by stages, or an arrival rate with a pool of users that grows as it must."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.plan: LoadPlan | None = None
        self.origin = 0.0
        self.users = 0
        self.processes = 1
        # second -> (its closed encoding, the longest answer in it): decoded once, not per tick
        self._closed_longest: dict[int, tuple[dict[str, Any], float]] = {}
        self.dropped_seen = 0

    def tick(self) -> tuple[int, float] | None:
        now = time.time()
        plan = self.plan or self._start(now)
        left = self.origin + plan.duration_s - now
        if left <= 0:
            return None
        if left < 1:  # the next tick would come too late
            gevent.sleep(left)
            return None
        if plan.model == "users":
            users = round(plan.target_at(now - self.origin))
            spawn_rate = float(max(users, self.users, 1))
            self.users = users
            return users, spawn_rate
        # Dropped, and due but untaken: every user may be busy in a long iteration.
        dropped = sum(a.dropped for a in current_recording().arrivals.values())
        dropped += TIMETABLE.overdue(now)
        longest = max(self._longest_answer_s(now),
                      TIMETABLE.longest_iteration_s(int(now) - LATENCY_WINDOW_S))  # fmt: skip
        self.users = plan.pool_size(
            now - self.origin, self.users, longest,
            dropped - self.dropped_seen, self.processes,
        )  # fmt: skip
        self.dropped_seen = dropped
        return self.users, float(self.users)

    def _start(self, now: float) -> LoadPlan:
        assert self.runner is not None
        options = self.runner.environment.parsed_options
        plan = self.plan = LoadPlan.from_json(
            json.loads(getattr(options, option_dest(LOAD_PLAN_OPTION)))
        )
        self.origin = now + LEAD_S if plan.model == "rate" else now
        if plan.model == "rate":
            self.processes = arrival.announce(self.runner, plan, self.origin)
        recording = current_recording()
        recording.started_at = recording.plan_started_at = self.origin
        return plan

    def _longest_answer_s(self, now: float) -> float:
        """The longest answer (s) of the last ``LATENCY_WINDOW_S`` seconds and this one."""
        recording = current_recording()
        open_seconds, closed_seconds = recording.open_seconds, recording.closed_seconds
        first = int(now) - LATENCY_WINDOW_S
        longest = 0.0
        for second in range(first, int(now) + 1):
            tally = open_seconds.get(second)
            if tally is not None:
                if tally.requests:
                    longest = max(longest, tally.histogram.max_ms() or 0.0)
            elif (encoded := closed_seconds.get(second)) is not None:
                longest = max(longest, self._longest_closed(second, encoded))
        for second in [s for s in self._closed_longest if s < first]:
            del self._closed_longest[second]
        return longest / 1000.0

    def _longest_closed(self, second: int, encoded: dict[str, Any]) -> float:
        """The longest answer (ms) of a closed second, decoded again only if it changed (a
        late request merged into it gives it a new encoding)."""
        cached = self._closed_longest.get(second)
        if cached is not None and cached[0] is encoded:
            return cached[1]
        tally = Tally.from_json(encoded)
        longest = (tally.histogram.max_ms() or 0.0) if tally.requests else 0.0
        self._closed_longest[second] = (encoded, longest)
        return longest


class CapacityShape(LoadTestShape):
    """Steps the load as the capacity search decides; stops the test when it is over."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.plan = SearchPlan.from_json(json.loads(os.environ.get(PLAN_ENV, "{}")))
        self.search = CapacitySearch(self.plan)
        self.users = 0
        self.max_cpu = 0.0
        self._seconds: dict[int, Tally] = {}
        self._log_path: Path | None = None
        self.draining_since: float | None = None
        self.knee_until: float | None = None
        self.knee_load = 0.0

    def tick(self) -> tuple[int, float] | None:
        now = time.time()
        if self.runner is not None:
            self.max_cpu = max(self.max_cpu, generator_cpu(self.runner))
        if self.knee_until is not None:  # holding the knee while the server is sampled
            if now < self.knee_until:
                return self._apply(self.knee_load)
            self._done(now)
            return None
        if self.draining_since is not None:
            if TIMETABLE.in_flight and now - self.draining_since < self.plan.max_step_s:
                return self.users, float(self.users)
            self.draining_since = None
            self.search.current.started_at = now
            self._started(self.search.current)
            load: float | None = self.search.current.load
        elif not self.search.steps:
            load = self.search.start(now)
            self._started(self.search.current)
        else:
            step = self.search.current
            settled = complete_after_s(self.runner) if self.runner is not None else 1
            load = self.search.update(now, self._second, settled)
            if step.verdict is not None:
                self._ended(step)
                if load is not None and self.plan.mode == "rate" and step.verdict == "breaks":
                    # Requests of the broken step still queue in the server: let them finish
                    # before the lower step starts, or its latencies would include them.
                    TIMETABLE.pause()
                    self.draining_since = now
                    return self.users, float(self.users)
                if load is not None:
                    self._started(self.search.current)
        if load is None:
            knee = self.search.knee_load() if self.plan.knee_s else None
            if knee is None:
                self._done(now)
                return None
            # The search is over: hold the knee's load while the diagnosis samples the server.
            self.knee_load, self.knee_until = knee, now + self.plan.knee_s
            self._write(KneeHeld(knee, now, self.plan.knee_s))
            load = knee
        return self._apply(load)

    def _done(self, now: float) -> None:
        self._write(SearchEnded(self.search.stop_reason, now))

    def _apply(self, load: float) -> tuple[int, float]:
        if self.plan.mode == "users":
            self.users = int(load)
        else:
            if TIMETABLE.schedule is None and self.runner is not None:
                arrival.install(self.runner.environment.user_classes)
                # Time 0 a second ahead: the users spawn first (none free: all dropped).
                TIMETABLE.configure(ArrivalSchedule.open_ended(load), time.time() + LEAD_S)
            else:
                TIMETABLE.set_rate(load)
            self.users = max(self.users, self.plan.users_for(load))  # never stop busy users
        return self.users, float(max(self.users, 1))

    def _second(self, second: int) -> Tally | None:
        cached = self._seconds.get(second)
        if cached is None:
            recording = current_recording()
            encoded = recording.closed_seconds.get(second)
            if encoded is not None:
                cached = self._seconds[second] = Tally.from_json(encoded)
            else:
                return recording.open_seconds.get(second)
        return cached

    def _started(self, step: Step) -> None:
        TIMETABLE.reset_counters()
        self.max_cpu = 0.0
        self._write(StepStarted(step.index, step.load, step.phase, step.started_at))

    def _ended(self, step: Step) -> None:
        users = self.users if self.plan.mode == "rate" else int(step.load)
        counts = None
        if self.plan.mode == "rate":
            counts = TimetableCounts(TIMETABLE.sent, TIMETABLE.late, TIMETABLE.dropped,
                                     TIMETABLE.max_in_flight)  # fmt: skip
        notes = []
        limited = self.max_cpu >= CPU_BUSY_PERCENT
        if limited:
            notes.append(f"load generator CPU at {self.max_cpu:.0f} %: it may be the limit")
        if counts is not None and counts.max_in_flight >= users:
            # Latency still counts from each intended start: the measure stays honest.
            notes.append(f"all {users} users busy: requests queued in the generator")
        generator = GeneratorFigures(users, round(self.max_cpu, 1), limited, tuple(notes), counts)
        self._write(step.ended(time.time(), generator))

    def _write(self, event: StepEvent) -> None:
        if self._log_path is None:
            options = self.runner.environment.parsed_options if self.runner else None
            out = getattr(options, option_dest(OUT_OPTION), "") or "."
            self._log_path = Path(out) / STEPS_FILE
        with self._log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(event.to_json()) + "\n")


def generator_cpu(runner: Runner) -> float:
    """The CPU (%) of the process sending requests: on a master, its busiest worker's."""
    if isinstance(runner, MasterRunner):
        return max((float(worker.cpu_usage) for worker in runner.clients.all), default=0.0)
    return float(runner.current_cpu_usage)
