"""What one load test runs (``RunConfig``): a target, users, a load, generators, gates, a
window and an output, each a value object that refuses what makes no sense on its own; the
run configuration refuses what makes no sense between them (``config_rules.Rule``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from spendcast.loadtest.run.config_rules import Rule, refuse
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.generators import Generators, LocalProcesses, generator_count
from spendcast.loadtest.run.load import (
    DEFAULT_USERS,
    ClosedLoad,
    FileShapeLoad,
    Load,
    ReplayLoad,
    SteppedLoad,
)
from spendcast.loadtest.run.output import Output, Window
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.contract import (
    PLAN_LOCUSTFILE,
    RECORDING_LOCUSTFILE,
    REPLAY_LOCUSTFILE,
    REPLAY_USER,
    SCENARIO_USERS,
    SCENARIOS_LOCUSTFILE,
)
from spendcast.loadtest.shared.credentials import public_host
from spendcast.loadtest.shared.load_plan import LoadPlan
from spendcast.loadtest.shared.run_settings import RunSettings

# What summary.json has said of the spawn rate under a load plan (the closed model's default
# users): kept, so that the history's comparability keys of earlier runs still match.
PLAN_SPAWN_RATE = float(DEFAULT_USERS)


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. ``extra_env``: added to the environment Locust runs with."""

    target: Target
    users: Users = field(default_factory=Users)
    load: Load = field(default_factory=ClosedLoad)
    generators: Generators = field(default_factory=LocalProcesses)
    gates: Gates = field(default_factory=Gates)
    window: Window = field(default_factory=Window)
    output: Output = field(default_factory=Output)
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        load, think_time = self.load, self.users.think_time
        if isinstance(load, ReplayLoad):
            self._check_replay(load)
        shapes = self.users.shapes
        if isinstance(load, FileShapeLoad) and not shapes:
            refuse(Rule.SHAPE_WITHOUT_FILE_SHAPE)
        if shapes and isinstance(load, ClosedLoad | SteppedLoad):
            closed = isinstance(load, ClosedLoad)
            rule = Rule.CLOSED_LOAD_UNDER_FILE_SHAPE if closed else Rule.TWO_SHAPES
            assert self.users.file is not None
            refuse(rule, given=self.users.file.given, shapes=", ".join(shapes))
        plan = self.plan
        if plan is not None and plan.model == "rate":
            if think_time is not None:
                refuse(Rule.THINK_TIME_ON_TIMETABLE)
            generators = generator_count(self.generators)
            if plan.max_users < generators:
                refuse(Rule.POOL_BELOW_GENERATORS, max_users=plan.max_users, generators=generators)
        warmup_s, limit_s = self.window.warmup_s, self.time_limit_s
        if warmup_s and limit_s is not None and warmup_s >= limit_s:
            refuse(Rule.WARMUP_COVERS_RUN, warmup_s=warmup_s, limit_s=limit_s)

    def _check_replay(self, replay: ReplayLoad) -> None:
        if self.users.file is not None:
            refuse(Rule.REPLAY_OF_OTHER_LOAD)
        if isinstance(self.generators, MasterOptions):
            refuse(Rule.REPLAY_ON_MASTER)
        if replay.speed is None and self.generators.count is not None:
            refuse(Rule.REPLAY_AS_ANSWERED_IN_PROCESSES)
        if replay.speed is not None and self.users.think_time is not None:
            refuse(Rule.THINK_TIME_IN_TIMED_REPLAY)

    @property
    def plan(self) -> LoadPlan | None:
        """The run's load plan; ``None``: Locust's own users for a time, or a shape's."""
        return self.load.plan

    @property
    def time_limit_s(self) -> int | None:
        """When the run is ended from outside (``None``: only the user's shape ends it)."""
        return self.load.time_limit_s

    @property
    def closed_load(self) -> ClosedLoad | None:
        """Locust's users for a time, where the run has them (a plan or a shape sets its own)."""
        load = self.load
        if isinstance(load, SteppedLoad):
            return ClosedLoad(load.users, None, load.duration_s)
        if isinstance(load, ReplayLoad):
            return load.closed
        return load if isinstance(load, ClosedLoad) else None

    def public(self) -> RunSettings:
        """The configuration as written in ``summary.json``: no token, no cookie."""
        plan, closed, generators = self.plan, self.closed_load, self.generators
        user_shape = isinstance(self.load, FileShapeLoad)
        spawn_rate = PLAN_SPAWN_RATE if closed is None else closed.effective_spawn_rate
        replay = self.load if isinstance(self.load, ReplayLoad) else None
        return RunSettings(
            host=public_host(self.target.host),
            scenario=self.label,
            users=None if closed is None else closed.users,
            spawn_rate=None if user_shape else spawn_rate,
            duration_s=self.time_limit_s,
            processes=generators.count if isinstance(generators, LocalProcesses) else None,
            workers=generators.expect_workers if isinstance(generators, MasterOptions) else None,
            think_time=self.users.think_time,
            slos=tuple(slo.expression for slo in self.gates.slos),
            abort_on_fail=self.gates.abort_on_fail,
            abort_grace_s=self.gates.abort_grace_s if self.gates.abort_on_fail else None,
            load_plan=plan,
            locustfile=None if self.users.file is None else self.users.file.public(),
            user_classes=tuple(self.user_classes),
            tags=self.users.tags,
            exclude_tags=self.users.exclude_tags,
            warmup_s=self.window.warmup_s,
            slice_s=self.window.slice_s,
            replay=None if replay is None else replay.trace.public(replay.speed),
        )

    @property
    def label(self) -> str:
        """The scenario's name, or ``my_test.py: ApiUser`` for a user's locustfile."""
        if isinstance(self.load, ReplayLoad):
            return "replay"
        return self.users.scenario if self.users.file is None else self.users.file.label

    @property
    def user_classes(self) -> tuple[str, ...]:
        if self.users.file is not None:
            return self.users.file.classes
        if isinstance(self.load, ReplayLoad):
            return (REPLAY_USER,)
        return (SCENARIO_USERS[self.users.scenario],)

    def locustfiles(self) -> list[Path]:
        """What ``-f`` gets: the load plan's shape first (``--rate``/``--stages``: Locust runs
        the first shape it finds, so it wins over any shape of the users' files), the users'
        files, capacity's load shape if any, and always last the recording hooks."""
        plan = [PLAN_LOCUSTFILE] if self.plan is not None else []
        users = list(self.users.file.files) if self.users.file else [SCENARIOS_LOCUSTFILE]
        if isinstance(self.load, ReplayLoad):
            users = [REPLAY_LOCUSTFILE]
        shape = [self.load.shape_file] if isinstance(self.load, SteppedLoad) else []
        return [*plan, *users, *shape, RECORDING_LOCUSTFILE]

    @property
    def environment(self) -> dict[str, str]:
        """What Locust's environment gets besides credentials: ``extra_env``, a shape's."""
        shape_env = self.load.env if isinstance(self.load, SteppedLoad) else {}
        return {**self.extra_env, **shape_env}


def closed_or_file_shape(users: Users, closed: ClosedLoad, *, bounded: bool = True) -> Load:
    """``closed``, unless the user's locustfile has a load shape: it drives the users then, as
    under plain locust, ended by ``closed.duration_s`` if ``bounded`` (a duration was given)."""
    if not users.shapes:
        return closed
    return FileShapeLoad(closed.duration_s if bounded else None)
