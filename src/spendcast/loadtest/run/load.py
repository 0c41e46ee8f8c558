"""How much load a run offers, and for how long: one of five kinds (``Load``).

- ``ClosedLoad``: Locust's own way, ``users`` for ``duration_s``.
- ``PlannedLoad``: the load plan (``shared/load_plan.py``): ``rate`` alone is a constant
  arrival rate for ``duration_s``; with ``stages`` it is the starting rate, and without
  ``rate`` the stages are users (closed). The stages set the duration: no other is given.
- ``ReplayLoad``: a recorded trace sent again, ``speed`` times as fast on the open model's
  timetable, or as fast as ``closed``'s users get answers (``speed`` ``None``).
- ``FileShapeLoad``: the user's locustfile's own load shape drives the users; ``duration_s``
  ends it as ``-t`` would, ``None``: the shape alone ends the run, as under plain locust.
- ``SteppedLoad``: a kit's load shape with no user (capacity's search), appended after the
  users' files, steps the load from ``users``; ``env`` is what the shape reads.

Each refuses what makes no sense on its own (``config_rules.Rule``); ``RunConfig`` refuses
what makes no sense beside the users, the generators and the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from spendcast.loadtest.run.config_rules import Rule, refuse
from spendcast.loadtest.shared.arrival_pattern import CONSTANT, ArrivalPattern
from spendcast.loadtest.shared.load_plan import DEFAULT_MAX_USERS, LoadPlan, Stage
from spendcast.loadtest.shared.trace import Trace

DEFAULT_USERS = 10


class _UsersForATime:
    """Users for a time, no plan: what ``ClosedLoad`` and ``SteppedLoad`` share."""

    users: int
    duration_s: int

    def __post_init__(self) -> None:
        if self.users < 1 or self.duration_s < 1:
            refuse(Rule.CLOSED_LOAD_BELOW_ONE)

    @property
    def plan(self) -> None:
        return None

    @property
    def time_limit_s(self) -> int:
        return self.duration_s


@dataclass(frozen=True)
class ClosedLoad(_UsersForATime):
    """``spawn_rate`` ``None`` starts every user within the first second."""

    users: int = DEFAULT_USERS
    spawn_rate: float | None = None
    duration_s: int = 30

    @property
    def effective_spawn_rate(self) -> float:
        return float(self.users) if self.spawn_rate is None else self.spawn_rate


@dataclass(frozen=True)
class PlannedLoad:
    """``max_users`` bounds the open model's pool; ``arrival`` spaces its iterations."""

    rate: float | None = None
    stages: tuple[Stage, ...] = ()
    max_users: int = DEFAULT_MAX_USERS
    arrival: ArrivalPattern = CONSTANT
    duration_s: int | None = None

    def __post_init__(self) -> None:
        if not self.arrival.is_constant and self.rate is None:
            refuse(Rule.ARRIVAL_WITHOUT_RATE)
        if self.rate is None and not self.stages:
            refuse(Rule.PLAN_WITHOUT_RATE_OR_STAGES)
        if self.stages and self.duration_s is not None:
            refuse(Rule.STAGES_AND_DURATION)
        if not self.stages and self.duration_s is None:
            refuse(Rule.CONSTANT_RATE_WITHOUT_DURATION)
        _ = self.plan  # the plan's own checks (load_plan.py), now rather than at the run

    @property
    def plan(self) -> LoadPlan:
        if self.rate is None:
            return LoadPlan("users", self.stages)
        if not self.stages:
            assert self.duration_s is not None
            return LoadPlan.constant_rate(self.rate, self.duration_s, self.max_users, self.arrival)
        return LoadPlan("rate", self.stages, self.rate, self.max_users, self.arrival)

    @property
    def time_limit_s(self) -> int:
        return self.plan.duration_s


@dataclass(frozen=True)
class ReplayLoad:
    trace: Trace
    speed: float | None = 1.0
    closed: ClosedLoad | None = None

    def __post_init__(self) -> None:
        if self.speed is None and self.closed is None:
            refuse(Rule.REPLAY_AS_ANSWERED_WITHOUT_USERS)
        if self.speed is not None and self.closed is not None:
            refuse(Rule.TIMED_REPLAY_WITH_USERS)

    @property
    def plan(self) -> LoadPlan | None:
        return None if self.speed is None else self.trace.plan(self.speed, DEFAULT_MAX_USERS)

    @property
    def time_limit_s(self) -> int:
        if self.closed is not None:
            return self.closed.duration_s
        plan = self.plan
        assert plan is not None
        return plan.duration_s


@dataclass(frozen=True)
class FileShapeLoad:
    duration_s: int | None = None

    def __post_init__(self) -> None:
        if self.duration_s is not None and self.duration_s < 1:
            refuse(Rule.CLOSED_LOAD_BELOW_ONE)

    @property
    def plan(self) -> None:
        return None

    @property
    def time_limit_s(self) -> int | None:
        return self.duration_s


@dataclass(frozen=True)
class SteppedLoad(_UsersForATime):
    shape_file: Path
    users: int
    duration_s: int
    env: Mapping[str, str] = field(default_factory=dict)


Load = ClosedLoad | PlannedLoad | ReplayLoad | FileShapeLoad | SteppedLoad
